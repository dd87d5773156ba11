// The rows the harness can measure and the command-line options. (Part of bench/run.mjs.)
import { spawnSync } from 'node:child_process';

export const ALL_ROWS = [
  { id: 'es256-basic', alg: 'ES256', auth: 'basic', deploy: 'embedded', desc: 'ES256 tokens, client_secret_basic, embedded (PGlite, in-process stores)' },
  {
    id: 'quota-es256-basic',
    alg: 'ES256',
    auth: 'basic',
    deploy: 'embedded',
    compareWith: 'es256-basic',
    clientQuota: { per_second: 1_000_000_000, per_day: 1_000_000_000, enforce: true },
    // Each round also measures the es256-basic client on the same process, in slices alternating
    // with this row's (measure.mjs measurePair), and the quota's cost is read from that pair.
    pairWithout: true,
    desc: 'ES256, client_secret_basic, embedded, on the es256-basic process: a client with a token quota that is never reached (per_second and per_day = 1e9, enforced)',
  },
  { id: 'es256-post', alg: 'ES256', auth: 'post', deploy: 'embedded', desc: 'ES256 tokens, client_secret_post, embedded' },
  { id: 'es256-pkjwt', alg: 'ES256', auth: 'pkjwt', deploy: 'embedded', desc: 'ES256 tokens, private_key_jwt (ES256 assertion, unique per request), embedded' },
  { id: 'eddsa-basic', alg: 'EdDSA', auth: 'basic', deploy: 'embedded', desc: 'EdDSA (Ed25519) tokens, client_secret_basic, embedded' },
  { id: 'rs256-basic', alg: 'RS256', auth: 'basic', deploy: 'embedded-rsa', desc: 'RS256 (RSA-2048) tokens, client_secret_basic, embedded with SIGNING_ALG=RS256' },
  { id: 'pg-es256-basic', alg: 'ES256', auth: 'basic', deploy: 'pg', compareWith: 'es256-basic', desc: 'ES256, client_secret_basic, PostgreSQL + Redis, WORKERS=1' },
  { id: 'pg-es256-pkjwt', alg: 'ES256', auth: 'pkjwt', deploy: 'pg', compareWith: 'es256-pkjwt', desc: 'ES256, private_key_jwt, PostgreSQL + Redis (replay markers in Redis), WORKERS=1' },
  { id: 'pg2-es256-basic', alg: 'ES256', auth: 'basic', deploy: 'pg2', compareWith: 'es256-basic', desc: 'ES256, client_secret_basic, PostgreSQL + Redis, WORKERS=2' },
  { id: 'pg2-es256-pkjwt', alg: 'ES256', auth: 'pkjwt', deploy: 'pg2', compareWith: 'es256-pkjwt', desc: 'ES256, private_key_jwt, PostgreSQL + Redis, WORKERS=2' },
  // No compareWith: each measures its own peer and ceiling in the same round, so `--only` these two is a complete run.
  { id: 'emb2-es256-basic', alg: 'ES256', auth: 'basic', deploy: 'embedded2', desc: 'ES256, client_secret_basic, embedded with WORKERS=2 (stores in the primary, over IPC)' },
  { id: 'emb2-es256-pkjwt', alg: 'ES256', auth: 'pkjwt', deploy: 'embedded2', desc: 'ES256, private_key_jwt, embedded with WORKERS=2 (replay claims over IPC to the primary)' },
];
export const QUICK_ROWS = ['es256-basic', 'es256-post', 'es256-pkjwt', 'rs256-basic', 'pg-es256-basic', 'pg2-es256-basic'];

export const HELP = `usage: node bench/run.mjs [options]     (npm run bench -- [options])
  --duration S      seconds per measurement (default 10; env BENCH_DURATION; at most 200)
  --warmup S        warm-up seconds per target before each measurement (default 3; quick 2)
  --rounds N        rounds, 1..3; medians are reported (default 3; quick 1; env BENCH_ROUNDS)
  --conns N         connections (default 50; env BENCH_CONNS)
  --threads N       load-generator threads (wrk -t; default 1)
  --quick           fewer rows (${QUICK_ROWS.join(',')}), 5 s, 1 round
  --only a,b        only these rows (env BENCH_ONLY): ${ALL_ROWS.map((r) => r.id).join(', ')}
  --loadgen X       wrk or autocannon (default: wrk when on PATH; env BENCH_LOADGEN)
  --log-level L     tokenmill's LOG_LEVEL (default info, its default; logs go to a file, scanned for warnings)
  --no-pg           skip the PostgreSQL + Redis rows even when the URLs are set
  --report F.json   measure nothing: print the report of an earlier run's JSON (e.g. bench/results/latest.json)
PostgreSQL + Redis rows run when DATABASE_URL and REDIS_URL (or TEST_DATABASE_URL and TEST_REDIS_URL)
are set: a unique database and key prefix are created and dropped afterwards.`;

export function parseOptions(argv) {
  const o = {
    duration: Number(process.env.BENCH_DURATION ?? 10),
    warmup: null,
    rounds: process.env.BENCH_ROUNDS ? Number(process.env.BENCH_ROUNDS) : null,
    conns: Number(process.env.BENCH_CONNS ?? 50),
    threads: 1,
    quick: process.env.BENCH_QUICK === '1',
    only: process.env.BENCH_ONLY ?? null,
    loadgen: process.env.BENCH_LOADGEN ?? null,
    logLevel: 'info',
    pg: true,
  };
  let durationSet = Boolean(process.env.BENCH_DURATION);
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i],
      v = null;
    if (a.includes('=')) [a, v] = [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)];
    const val = () => {
      if (v === null) v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--duration':
        o.duration = Number(val().replace(/s$/, ''));
        durationSet = true;
        break;
      case '--warmup':
        o.warmup = Number(val().replace(/s$/, ''));
        break;
      case '--rounds':
        o.rounds = Number(val());
        break;
      case '--conns':
      case '--connections':
        o.conns = Number(val());
        break;
      case '--threads':
        o.threads = Number(val());
        break;
      case '--quick':
        o.quick = true;
        break;
      case '--only':
        o.only = val();
        break;
      case '--loadgen':
        o.loadgen = val();
        break;
      case '--log-level':
        o.logLevel = val();
        break;
      case '--no-pg':
        o.pg = false;
        break;
      case '--report':
        o.report = val();
        break;
      case '-h':
      case '--help':
        console.log(HELP);
        process.exit(0);
      // falls through (process.exit does not return)
      default:
        throw new Error(`unknown option ${a}\n${HELP}`);
    }
  }
  if (o.quick && !durationSet) o.duration = 5;
  o.warmup ??= o.quick ? 2 : 3;
  o.rounds ??= o.quick ? 1 : 3;
  if (!Number.isInteger(o.duration) || o.duration < 1 || o.duration > 200) throw new Error('--duration: whole seconds, 1..200 (assertions live 240 s)');
  if (!Number.isInteger(o.warmup) || o.warmup < 0 || o.warmup > 30) throw new Error('--warmup: whole seconds, 0..30');
  if (!Number.isInteger(o.rounds) || o.rounds < 1 || o.rounds > 3) throw new Error('--rounds: 1..3');
  if (!Number.isInteger(o.conns) || o.conns < 1 || o.conns > 1000) throw new Error('--conns: 1..1000');
  if (!Number.isInteger(o.threads) || o.threads < 1 || o.threads > o.conns) throw new Error('--threads: 1..conns');
  const ids = new Set(ALL_ROWS.map((r) => r.id));
  if (o.only) {
    o.rowIds = o.only
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const id of o.rowIds) if (!ids.has(id)) throw new Error(`--only: unknown row ${id}; rows: ${[...ids].join(', ')}`);
  } else {
    o.rowIds = o.quick ? QUICK_ROWS : ALL_ROWS.map((r) => r.id);
  }
  const hasWrk = spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).status === 0;
  o.loadgen ??= hasWrk ? 'wrk' : 'autocannon';
  if (o.loadgen !== 'wrk' && o.loadgen !== 'autocannon') throw new Error('--loadgen: wrk or autocannon');
  if (o.loadgen === 'wrk' && !hasWrk) throw new Error('--loadgen wrk: wrk is not on PATH');
  return o;
}
