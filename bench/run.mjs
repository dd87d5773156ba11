#!/usr/bin/env node
// tokenmill benchmark harness: `npm run bench` (= npm run build && node bench/run.mjs).
//
// Starts tokenmill (embedded; and on PostgreSQL + Redis with one and two worker processes when
// DATABASE_URL/REDIS_URL or TEST_DATABASE_URL/TEST_REDIS_URL are set), the oidc-provider peer
// (bench/peer.mjs, one per signing algorithm) and a bare-Fastify ceiling (bench/ceiling.mjs),
// drives the same load at each (wrk + bench/token.lua when wrk is on PATH, else autocannon), and
// prints a Markdown table of tokens/s, p50, p99, non-2xx and RSS, the ratios ours/peer and
// ours/ceiling measured side by side, and PASS/FAIL per target. Writes bench/results/latest.md
// and latest.json. See bench/README.md.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID, createPrivateKey, sign as cryptoSign } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, writeFileSync, rmSync, ftruncateSync, readdirSync, statSync, createReadStream } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateKeys } from './lib/keys.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const DIST_SERVER = join(ROOT, 'dist/src/server.cjs');
const AUDIENCE = 'https://api.example.com';
const SCOPES = 'api:read api:write';
const TOKEN_TTL = 300;
const PEER_SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';
const ASSERTION_LIFETIME = 240; // tokenmill refuses exp more than 300 s ahead
const RSS_LIMIT_MB = 150;

// ---------------------------------------------------------------------------------------------
// options

const ALL_ROWS = [
  { id: 'es256-basic', alg: 'ES256', auth: 'basic', deploy: 'embedded', desc: 'ES256 tokens, client_secret_basic, embedded (PGlite, in-process stores)' },
  { id: 'es256-post', alg: 'ES256', auth: 'post', deploy: 'embedded', desc: 'ES256 tokens, client_secret_post, embedded' },
  { id: 'es256-pkjwt', alg: 'ES256', auth: 'pkjwt', deploy: 'embedded', desc: 'ES256 tokens, private_key_jwt (ES256 assertion, unique per request), embedded' },
  { id: 'eddsa-basic', alg: 'EdDSA', auth: 'basic', deploy: 'embedded', desc: 'EdDSA (Ed25519) tokens, client_secret_basic, embedded' },
  { id: 'rs256-basic', alg: 'RS256', auth: 'basic', deploy: 'embedded-rsa', desc: 'RS256 (RSA-2048) tokens, client_secret_basic, embedded with SIGNING_ALG=RS256' },
  { id: 'pg-es256-basic', alg: 'ES256', auth: 'basic', deploy: 'pg', compareWith: 'es256-basic', desc: 'ES256, client_secret_basic, PostgreSQL + Redis, WORKERS=1' },
  { id: 'pg-es256-pkjwt', alg: 'ES256', auth: 'pkjwt', deploy: 'pg', compareWith: 'es256-pkjwt', desc: 'ES256, private_key_jwt, PostgreSQL + Redis (replay markers in Redis), WORKERS=1' },
  { id: 'pg2-es256-basic', alg: 'ES256', auth: 'basic', deploy: 'pg2', compareWith: 'es256-basic', desc: 'ES256, client_secret_basic, PostgreSQL + Redis, WORKERS=2' },
  { id: 'pg2-es256-pkjwt', alg: 'ES256', auth: 'pkjwt', deploy: 'pg2', compareWith: 'es256-pkjwt', desc: 'ES256, private_key_jwt, PostgreSQL + Redis, WORKERS=2' },
];
const QUICK_ROWS = ['es256-basic', 'es256-post', 'es256-pkjwt', 'rs256-basic', 'pg-es256-basic', 'pg2-es256-basic'];

const HELP = `usage: node bench/run.mjs [options]     (npm run bench -- [options])
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

function parseOptions(argv) {
  const o = {
    duration: Number(process.env.BENCH_DURATION ?? 10), warmup: null, rounds: process.env.BENCH_ROUNDS ? Number(process.env.BENCH_ROUNDS) : null,
    conns: Number(process.env.BENCH_CONNS ?? 50), threads: 1, quick: process.env.BENCH_QUICK === '1', only: process.env.BENCH_ONLY ?? null,
    loadgen: process.env.BENCH_LOADGEN ?? null, logLevel: 'info', pg: true,
  };
  let durationSet = Boolean(process.env.BENCH_DURATION);
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i], v = null;
    if (a.includes('=')) [a, v] = [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)];
    const val = () => { if (v === null) v = argv[++i]; if (v === undefined) throw new Error(`${a} needs a value`); return v; };
    switch (a) {
      case '--duration': o.duration = Number(val().replace(/s$/, '')); durationSet = true; break;
      case '--warmup': o.warmup = Number(val().replace(/s$/, '')); break;
      case '--rounds': o.rounds = Number(val()); break;
      case '--conns': case '--connections': o.conns = Number(val()); break;
      case '--threads': o.threads = Number(val()); break;
      case '--quick': o.quick = true; break;
      case '--only': o.only = val(); break;
      case '--loadgen': o.loadgen = val(); break;
      case '--log-level': o.logLevel = val(); break;
      case '--no-pg': o.pg = false; break;
      case '--report': o.report = val(); break;
      case '-h': case '--help': console.log(HELP); process.exit(0); break;
      default: throw new Error(`unknown option ${a}\n${HELP}`);
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
    o.rowIds = o.only.split(',').map((s) => s.trim()).filter(Boolean);
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

// ---------------------------------------------------------------------------------------------
// processes, temp dirs, clean-up

const live = new Set(); // {name, child}
const tempDirs = [];
const asyncCleanups = []; // async functions run (in reverse) after the processes are stopped
let cleaning = null;

function log(...args) { process.stderr.write(`[bench] ${args.join(' ')}\n`); }

function track(name, child) {
  const entry = { name, child, exited: false };
  entry.done = new Promise((res) => child.once('exit', (code, signal) => { entry.exited = true; entry.code = code; entry.signal = signal; live.delete(entry); res(); }));
  child.once('error', (err) => { entry.error = err; });
  live.add(entry);
  return entry;
}

async function stopProcess(entry, graceMs = 8000) {
  if (entry.exited) return;
  try { entry.child.kill('SIGTERM'); } catch { /* gone */ }
  const t = setTimeout(() => { try { entry.child.kill('SIGKILL'); } catch { /* gone */ } }, graceMs);
  await entry.done;
  clearTimeout(t);
}

async function cleanup() {
  cleaning ??= (async () => {
    await Promise.all([...live].map((e) => stopProcess(e)));
    for (const fn of asyncCleanups.reverse()) {
      try { await fn(); } catch (err) { log(`clean-up step failed: ${err.message}`); }
    }
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  })();
  return cleaning;
}

process.on('exit', () => {
  for (const e of live) { try { e.child.kill('SIGKILL'); } catch { /* gone */ } }
  for (const d of tempDirs) { try { rmSync(d, { recursive: true, force: true }); } catch { /* best effort */ } }
});
let interrupted = 0;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (interrupted++) process.exit(130);
    log(`${sig}: stopping everything this run started and removing its temporary files…`);
    cleanup().finally(() => process.exit(130));
  });
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function tail(file, n = 15) {
  try { return readFileSync(file, 'utf8').split('\n').slice(-n - 1).join('\n'); } catch { return ''; }
}

/** Spawns a long-running server whose stdout and stderr go to logFile (appended, so it can be truncated). */
function startServer(name, args, { env, cwd = ROOT, logFile }) {
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const entry = track(name, child);
  entry.logFile = logFile;
  return entry;
}

async function waitReady(entry, url, timeoutMs = 90_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (entry.exited) throw new Error(`${entry.name} exited (code ${entry.code}, signal ${entry.signal}) before it was ready:\n${tail(entry.logFile)}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (r.status < 500) { await r.arrayBuffer(); return; }
    } catch { /* not yet */ }
    await sleep(200);
  }
  throw new Error(`${entry.name} not ready after ${timeoutMs / 1000} s:\n${tail(entry.logFile)}`);
}

// ---------------------------------------------------------------------------------------------
// /proc sampling

function descendants(pid) {
  const byParent = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!byParent.has(ppid)) byParent.set(ppid, []);
      byParent.get(ppid).push(Number(d));
    } catch { /* raced */ }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(byParent.get(out[i]) ?? []));
  return out;
}

function rssKb(pid) {
  try { return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0); } catch { return 0; }
}

function cpuTicks(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime
  } catch { return 0; }
}
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** Busy and total jiffies of the whole machine (/proc/stat), to see how busy it was during a run. */
function systemTicks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + (f[4] ?? 0);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Samples the max RSS (sum over the process tree, and the largest single process) until stopped. */
function sampleRss(rootPid) {
  const pids = descendants(rootPid);
  const loadgen = new Map(); // pid of the load generator -> [first, last] CPU ticks seen
  const self0 = process.cpuUsage();
  const cpu0 = pids.reduce((a, p) => a + cpuTicks(p), 0);
  const t0 = process.hrtime.bigint();
  const sys0 = systemTicks();
  let maxTotal = 0, maxOne = 0;
  const tick = () => {
    let total = 0;
    for (const p of pids) { const k = rssKb(p); total += k; if (k > maxOne) maxOne = k; }
    if (total > maxTotal) maxTotal = total;
    for (const [p, v] of loadgen) { const c = cpuTicks(p); if (c) v[1] = c; }
  };
  tick();
  const timer = setInterval(tick, 200);
  const stop = () => {
    clearInterval(timer);
    tick();
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = (pids.reduce((a, p) => a + cpuTicks(p), 0) - cpu0) / CLK_TCK / secs;
    const sys1 = systemTicks();
    const machineBusy = ((sys1.busy - sys0.busy) / (sys1.total - sys0.total)) * availableParallelism();
    const loadgenCores = [...loadgen.values()].reduce((a, [f, l]) => a + (l - f), 0) / CLK_TCK / secs;
    const self = process.cpuUsage(self0);
    const harnessCores = (self.user + self.system) / 1e6 / secs;
    // CPU used by anything else on the machine during the measurement: another job disturbs it
    const otherCores = Math.max(0, machineBusy - cpu - loadgenCores - harnessCores);
    return { rssMaxMB: maxTotal / 1024, rssMaxOneMB: maxOne / 1024, processes: pids.length, cpuCores: cpu, machineBusyCores: machineBusy,
      loadgenCores, otherCores, disturbed: otherCores > DISTURBED_CORES };
  };
  stop.watch = (pid) => { const c = cpuTicks(pid); loadgen.set(pid, [c, c]); };
  return stop;
}
/** A measurement during which other processes used more than this many cores is "disturbed". */
const DISTURBED_CORES = 0.3;

// ---------------------------------------------------------------------------------------------
// client assertions (private_key_jwt)

/** Writes COUNT unique ES256 client assertions (one per line), iat now, exp now + 240 s. */
async function generateAssertions(file, count, { clientId, aud, keyPem, kid = 'client_ec' }) {
  const key = createPrivateKey(keyPem);
  const hdr = Buffer.from(JSON.stringify({ alg: 'ES256', kid })).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const lines = new Array(count);
  let next = 0;
  await new Promise((res, rej) => {
    let active = 0;
    const one = () => {
      if (next >= count) { if (active === 0) res(); return; }
      const i = next++;
      active++;
      const input = `${hdr}.${Buffer.from(JSON.stringify({ iss: clientId, sub: clientId, aud, jti: randomUUID(), iat: now, exp: now + ASSERTION_LIFETIME })).toString('base64url')}`;
      cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }, (err, sig) => {
        active--;
        if (err) return rej(err);
        lines[i] = `${input}.${sig.toString('base64url')}`;
        one();
      });
    };
    for (let k = 0; k < 64; k++) one();
  });
  writeFileSync(file, lines.join('\n') + '\n');
}

// ---------------------------------------------------------------------------------------------
// load generators

const urlenc = (s) => new URLSearchParams({ x: s }).toString().slice(2);
const ASSERTION_PREFIX = 'grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=';

function runChild(name, cmd, args, env, timeoutMs, onSpawn) {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid) onSpawn?.(child.pid);
    const entry = track(name, child);
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const t = setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } }, timeoutMs);
    child.once('error', (e) => { clearTimeout(t); rej(e); });
    entry.done.then(() => { clearTimeout(t); res({ code: entry.code, signal: entry.signal, out, err }); });
  });
}

/** One load run; returns {secs, requests, ok, non2xx, sockErr, timeouts, p50, p90, p99, max, wraps}. */
async function load(opts, { url, auth, client, assertions, duration, onSpawn }) {
  if (opts.loadgen === 'wrk') {
    const env = {
      ...process.env, AUTH: auth, THREADS: String(opts.threads), SCOPE_ENC: '', ASSERTIONS: assertions ?? '',
      CLIENT_ID_ENC: urlenc(client.id ?? ''), CLIENT_SECRET_ENC: urlenc(client.secret ?? ''),
      BASIC: Buffer.from(`${urlenc(client.id ?? '')}:${urlenc(client.secret ?? '')}`).toString('base64'),
    };
    const r = await runChild('wrk', 'wrk', [`-t${opts.threads}`, `-c${opts.conns}`, `-d${duration}s`, '--timeout', '5s', '-s', join(HERE, 'token.lua'), url], env, (duration + 60) * 1000, onSpawn);
    const line = r.out.split('\n').find((l) => l.startsWith('RESULT '));
    if (!line) throw new Error(`wrk failed (code ${r.code}): ${(r.err || r.out).trim().slice(0, 500)}`);
    const f = Object.fromEntries(line.slice(7).trim().split(' ').map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)]));
    return { secs: f.secs, requests: f.requests, ok: f.requests - f.non2xx, non2xx: f.non2xx, sockErr: f.sock_err, timeouts: f.timeouts,
      p50: f.p50_ms, p90: f.p90_ms, p99: f.p99_ms, max: f.max_ms, wraps: f.assertion_wraps };
  }
  const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  let body = 'grant_type=client_credentials';
  if (auth === 'basic') headers.authorization = `Basic ${Buffer.from(`${urlenc(client.id)}:${urlenc(client.secret)}`).toString('base64')}`;
  if (auth === 'post') body += `&client_id=${urlenc(client.id)}&client_secret=${urlenc(client.secret)}`;
  const cfg = { url, conns: opts.conns, duration, headers, body, assertions: auth === 'pkjwt' ? assertions : null, prefix: ASSERTION_PREFIX };
  const r = await runChild('autocannon', process.execPath, [join(HERE, 'lib/autocannon-child.mjs'), JSON.stringify(cfg)], process.env, (duration + 60) * 1000, onSpawn);
  const line = r.out.trim().split('\n').pop();
  if (r.code !== 0 || !line?.startsWith('{')) throw new Error(`autocannon failed (code ${r.code}): ${r.err.trim().slice(0, 500)}`);
  return JSON.parse(line);
}

// ---------------------------------------------------------------------------------------------
// tokenmill, PostgreSQL, Redis

async function configKeys() {
  const { ConfigSchema } = await import(pathToFileURL(join(ROOT, 'dist/src/config/schema.js')).href);
  return Object.keys(ConfigSchema.properties);
}

async function startTokenmill(name, { tmp, logLevel, keys, extraEnv = {}, cfgKeys }) {
  const dir = join(tmp, name);
  mkdirSync(join(dir, 'data'), { recursive: true });
  mkdirSync(join(dir, 'keys'), { recursive: true }); // empty KEYS_DIR: no operator keys imported
  const [port, adminPort] = [await freePort(), await freePort()];
  const adminToken = `tmbench_${randomBytes(24).toString('base64url')}`;
  const env = { ...process.env };
  for (const k of cfgKeys) delete env[k]; // nothing of the caller's tokenmill configuration leaks in
  Object.assign(env, {
    PORT: String(port), ADMIN_PORT: String(adminPort), HOST: '127.0.0.1', ADMIN_TOKEN: adminToken, DATA_DIR: join(dir, 'data'),
    KEYS_DIR: join(dir, 'keys'), LOG_LEVEL: logLevel, SHUTDOWN_TIMEOUT: '5', ...extraEnv,
  });
  const entry = startServer(name, [DIST_SERVER], { env, logFile: join(dir, 'server.log') });
  const issuer = `http://127.0.0.1:${port}`;
  await waitReady(entry, `${issuer}/readyz`);
  // /readyz answers 503 until the stores and the signing key are up: wait for a 200
  const until = Date.now() + 60_000;
  for (;;) {
    const r = await fetch(`${issuer}/readyz`).catch(() => null);
    if (r?.status === 200) break;
    if (Date.now() > until) throw new Error(`${name}: /readyz not 200 after 60 s:\n${tail(entry.logFile)}`);
    await sleep(250);
  }
  return { name, kind: 'ours', entry, issuer, url: `${issuer}/oauth2/token`, adminToken, keys, clients: {}, workers: Number(extraEnv.WORKERS ?? 1) };
}

async function registerClient(t, { auth, alg, keys }) {
  const body = {
    client_name: `bench-${alg}-${auth}`, scope: SCOPES, audience: [AUDIENCE], access_token_ttl: TOKEN_TTL, access_token_signing_alg: alg,
    token_endpoint_auth_method: { basic: 'client_secret_basic', post: 'client_secret_post', pkjwt: 'private_key_jwt' }[auth],
  };
  if (auth === 'pkjwt') body.jwks = { keys: [{ ...JSON.parse(readFileSync(join(keys, 'client_ec.pub.jwk.json'), 'utf8')), alg: 'ES256', use: 'sig' }] };
  const r = await fetch(`${t.issuer}/oauth2/register`, {
    method: 'POST', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const j = await r.json().catch(() => ({}));
  if (r.status !== 201 && r.status !== 200) throw new Error(`${t.name}: registering ${alg}/${auth} failed: ${r.status} ${JSON.stringify(j)}`);
  return { id: j.client_id, secret: j.client_secret ?? null };
}

/** One token request, to check a target and client before loading them. */
async function probe(t, auth, client) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  let body = 'grant_type=client_credentials';
  if (auth === 'basic') headers.authorization = `Basic ${Buffer.from(`${urlenc(client.id)}:${urlenc(client.secret)}`).toString('base64')}`;
  else if (auth === 'post') body += `&client_id=${urlenc(client.id)}&client_secret=${urlenc(client.secret)}`;
  else {
    const f = join(t.tmp, `probe-${randomBytes(4).toString('hex')}.jwt`);
    await generateAssertions(f, 1, { clientId: client.id, aud: t.issuer, keyPem: readFileSync(join(t.keys, 'client_ec.key.pem')) });
    body = ASSERTION_PREFIX + readFileSync(f, 'utf8').trim();
    rmSync(f);
  }
  const r = await fetch(t.url, { method: 'POST', headers, body });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${t.name} ${auth}: probe token request answered ${r.status} ${text.slice(0, 300)}`);
  const j = JSON.parse(text);
  if (t.kind !== 'ceiling') {
    const hdr = JSON.parse(Buffer.from(j.access_token.split('.')[0], 'base64url').toString());
    return hdr.alg;
  }
  return null;
}

async function setUpPostgres(baseUrl, label) {
  const pg = (await import('pg')).default;
  const name = `tokenmill_bench_${label}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try { await admin.query(`CREATE DATABASE "${name}"`); } finally { await admin.end(); }
  asyncCleanups.push(async () => {
    const c = new pg.Client({ connectionString: baseUrl });
    await c.connect();
    try {
      try { await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`); } catch { await c.query(`DROP DATABASE IF EXISTS "${name}"`); }
    } finally { await c.end(); }
  });
  const u = new URL(baseUrl);
  u.pathname = `/${name}`;
  return { url: u.toString(), name };
}

async function setUpRedisPrefix(redisUrl, label) {
  const prefix = `tmbench_${label}_${randomBytes(5).toString('hex')}:`;
  asyncCleanups.push(async () => {
    const { Redis } = await import('ioredis');
    const r = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
    await r.connect();
    try {
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await r.del(...keys);
      } while (cursor !== '0');
    } finally { r.disconnect(); }
  });
  return prefix;
}

// ---------------------------------------------------------------------------------------------
// measurements

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Scans a server log (tokenmill: pino JSON lines) for warnings and errors, then empties it. */
async function drainLog(file) {
  const found = { warn: 0, error: 0, samples: [] };
  if (!existsSync(file) || statSync(file).size === 0) return found;
  const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line) continue;
    let level, msg = line;
    if (line.startsWith('{')) {
      try { const j = JSON.parse(line); level = j.level ?? 30; msg = `${j.msg ?? ''}${j.err ? ` ${JSON.stringify(j.err).slice(0, 200)}` : ''}${j.status ? ` status=${j.status}` : ''}`; } catch { level = 50; }
    } else {
      level = 50; // plain text on a JSON-logging server: stderr
    }
    if (level >= 50) found.error++;
    else if (level >= 40) found.warn++;
    else continue;
    if (found.samples.length < 5 && !found.samples.includes(msg)) found.samples.push(msg.slice(0, 300));
  }
  const fd = openSync(file, 'r+');
  ftruncateSync(fd, 0);
  closeSync(fd);
  return found;
}

const GUESS = { ours: 12000, peer: 4000, ceiling: 20000 };
const lastRate = new Map();
const bestRate = new Map();

async function measure(opts, ctx, row, role, t, client) {
  const key = `${row.id}/${role}`;
  const auth = row.auth;
  const keyPem = ctx.clientKeyPem;
  const files = [];
  const assertionsFor = async (seconds, rate) => {
    if (auth !== 'pkjwt') return null;
    // ceiling: assertions are not checked there; a fixed set may wrap
    const count = role === 'ceiling' ? 20000 : Math.max(2000, Math.ceil(rate * seconds * 1.5));
    const f = join(ctx.tmp, `assertions-${randomBytes(4).toString('hex')}.txt`);
    files.push(f);
    const t0 = Date.now();
    await generateAssertions(f, count, { clientId: client.id, aud: t.issuer, keyPem });
    return { file: f, count, ms: Date.now() - t0 };
  };
  try {
    let warmRate = 0;
    if (opts.warmup > 0) {
      const a = await assertionsFor(opts.warmup, lastRate.get(key) ?? GUESS[role]);
      const w = await load(opts, { url: t.url, auth, client, assertions: a?.file, duration: opts.warmup });
      warmRate = w.ok / w.secs;
    }
    if (t.entry) await drainLog(t.entry.logFile);
    // expected rate: the warm-up's, this row's last measurement, the best this target did on any
    // row so far (a private_key_jwt row cannot beat the same server's client_secret_basic), or a
    // generous guess (a short warm-up of a cold server underestimates)
    const a = await assertionsFor(opts.duration, Math.max(warmRate, lastRate.get(key) ?? 0, bestRate.get(t.name) ?? 0, GUESS[role]));
    const stopSampling = sampleRss(t.entry.child.pid);
    const r = await load(opts, { url: t.url, auth, client, assertions: a?.file, duration: opts.duration, onSpawn: stopSampling.watch });
    const s = stopSampling();
    const logs = t.entry && t.kind === 'ours' ? await drainLog(t.entry.logFile) : null;
    if (t.entry.exited) throw new Error(`${t.name} exited during the load (code ${t.entry.code}, signal ${t.entry.signal})`);
    const tps = r.ok / r.secs;
    lastRate.set(key, tps);
    bestRate.set(t.name, Math.max(bestRate.get(t.name) ?? 0, tps));
    return {
      row: row.id, role, target: t.name, tps, p50: r.p50, p90: r.p90, p99: r.p99, max: r.max, requests: r.requests, non2xx: r.non2xx,
      sockErr: r.sockErr, timeouts: r.timeouts, wraps: role === 'ceiling' ? 0 : r.wraps, assertions: a?.count ?? null, ...s,
      logWarnings: logs?.warn ?? 0, logErrors: logs?.error ?? 0, logSamples: logs?.samples ?? [],
    };
  } finally {
    for (const f of files) rmSync(f, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// report

const fmtInt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—');
const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '—');
const pct = (x) => (Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : '—');

function summarise(ctx, results) {
  const byKey = new Map();
  for (const m of results) {
    const k = `${m.row}/${m.role}`;
    if (!byKey.has(k)) byKey.set(k, []);
    byKey.get(k).push(m);
  }
  // Measurements disturbed by other load on the machine are left out when undisturbed rounds exist.
  const good = (row, role) => {
    const ok = (byKey.get(`${row}/${role}`) ?? []).filter((m) => !m.error);
    const calm = ok.filter((m) => !m.disturbed);
    return calm.length ? calm : ok;
  };
  const med = (row, role, field) => median(good(row, role).map((m) => m[field]));
  const sum = (row, role, field) => (byKey.get(`${row}/${role}`) ?? []).reduce((a, m) => a + (m[field] ?? 0), 0);
  const maxOf = (row, role, field) => Math.max(-Infinity, ...(byKey.get(`${row}/${role}`) ?? []).filter((m) => !m.error).map((m) => m[field]));
  const perRound = (row, role, round) => results.find((m) => m.row === row && m.role === role && m.round === round && !m.error);
  /** median over rounds of (a in round r) / (b in round r) */
  const ratio = (rowA, roleA, rowB, roleB) => {
    const pairs = Array.from({ length: ctx.opts.rounds }, (_, i) => [perRound(rowA, roleA, i + 1), perRound(rowB, roleB, i + 1)]).filter(([a, b]) => a && b);
    const calm = pairs.filter(([a, b]) => !a.disturbed && !b.disturbed);
    return median((calm.length ? calm : pairs).map(([a, b]) => a.tps / b.tps));
  };
  const lines = [];
  const ratios = [];
  for (const row of ctx.rows) {
    for (const role of ['ours', 'peer', 'ceiling']) {
      const ms = byKey.get(`${row.id}/${role}`);
      if (!ms) continue;
      const errors = ms.filter((m) => m.error).map((m) => m.error);
      lines.push({
        row: row.id, role, target: ms[0].target, tps: med(row.id, role, 'tps'), p50: med(row.id, role, 'p50'), p99: med(row.id, role, 'p99'),
        non2xx: sum(row.id, role, 'non2xx'), sockErr: sum(row.id, role, 'sockErr'), wraps: sum(row.id, role, 'wraps'),
        rssMaxMB: maxOf(row.id, role, 'rssMaxMB'), rssMaxOneMB: maxOf(row.id, role, 'rssMaxOneMB'), cpuCores: med(row.id, role, 'cpuCores'),
        processes: ms[0].processes, logWarnings: sum(row.id, role, 'logWarnings'), logErrors: sum(row.id, role, 'logErrors'),
        logSamples: [...new Set(ms.flatMap((m) => m.logSamples ?? []))].slice(0, 5), errors, rounds: ms.filter((m) => !m.error).length,
        disturbed: ms.filter((m) => !m.error && m.disturbed).length, used: good(row.id, role).length,
      });
    }
    const peerRow = row.compareWith ?? row.id;
    if (byKey.has(`${row.id}/ours`)) {
      ratios.push({ row: row.id, oursPeer: ratio(row.id, 'ours', peerRow, 'peer'), oursCeiling: ratio(row.id, 'ours', peerRow, 'ceiling'), against: peerRow });
    }
  }
  const get = (row, role) => lines.find((l) => l.row === row && l.role === role);
  const R = (row) => ratios.find((r) => r.row === row);
  const targets = [];
  const add = (name, measured, pass, note = '') => targets.push({ name, measured, result: pass === null ? 'n/a' : pass ? 'PASS' : 'FAIL', note });
  const b = get('es256-basic', 'ours');
  add('ES256 client_secret_basic ≥ 10,000 tokens/s', b ? `${fmtInt(b.tps)} tokens/s at ${ctx.opts.conns} connections` : 'not measured', b ? b.tps >= 10000 : null,
    ctx.opts.conns !== 50 ? 'target is for 50 connections' : '');
  add('ES256 client_secret_basic p99 ≤ 15 ms', b ? `p99 ${fmt(b.p99)} ms` : 'not measured', b ? b.p99 <= 15 : null);
  add('ES256 basic ≥ 4× oidc-provider (same run)', R('es256-basic') && get('es256-basic', 'peer') ? `${fmt(R('es256-basic').oursPeer)}×` : 'not measured',
    R('es256-basic') && get('es256-basic', 'peer') ? R('es256-basic').oursPeer >= 4 : null);
  add('ES256 basic ≥ 60% of the bare-Fastify ceiling (same run)', R('es256-basic') && get('es256-basic', 'ceiling') ? pct(R('es256-basic').oursCeiling) : 'not measured',
    R('es256-basic') && get('es256-basic', 'ceiling') ? R('es256-basic').oursCeiling >= 0.6 : null);
  const postBasic = ratio('es256-post', 'ours', 'es256-basic', 'ours');
  add('client_secret_post within 5% of client_secret_basic', Number.isFinite(postBasic) ? `post = ${pct(postBasic)} of basic` : 'not measured',
    Number.isFinite(postBasic) ? postBasic >= 0.95 && postBasic <= 1.05 : null);
  add('private_key_jwt ≥ 4× the peer’s private_key_jwt', R('es256-pkjwt') && get('es256-pkjwt', 'peer') ? `${fmt(R('es256-pkjwt').oursPeer)}×` : 'not measured',
    R('es256-pkjwt') && get('es256-pkjwt', 'peer') ? R('es256-pkjwt').oursPeer >= 4 : null);
  const rs = get('rs256-basic', 'ours');
  const rsaLimit = ctx.signingLimits?.find((s) => s.alg === 'RS256' && s.threads === ctx.rsaThreads)?.perSec;
  const rsVsLimit = rs && rsaLimit ? rs.tps / rsaLimit : NaN;
  add(`RS256 within 10% of the RSA signing limit (${fmtInt(rsaLimit)}/s on ${ctx.rsaThreads} pool thread${ctx.rsaThreads > 1 ? 's' : ''})`,
    Number.isFinite(rsVsLimit) ? `RS256 = ${pct(rsVsLimit)} of the limit` : 'not measured', Number.isFinite(rsVsLimit) ? rsVsLimit >= 0.9 : null);
  const rsaAll = ctx.signingLimits?.find((x) => x.alg === 'RS256' && x.threads === ctx.hw.nproc && x.threads !== ctx.rsaThreads)?.perSec;
  const rsVsAll = rs && rsaAll ? rs.tps / rsaAll : NaN;
  for (const [deploy, label] of [['embedded', 'embedded'], ['pg', 'PostgreSQL + Redis, WORKERS=1']]) {
    const ls = lines.filter((l) => l.role === 'ours' && ctx.rows.find((r) => r.id === l.row)?.deploy.replace(/-rsa$/, '') === deploy && Number.isFinite(l.rssMaxMB));
    if (!ls.length) continue;
    const mx = Math.max(...ls.map((l) => l.rssMaxMB));
    add(`RSS ≤ ${RSS_LIMIT_MB} MB under load (${label})`, `max ${fmt(mx, 0)} MB`, mx <= RSS_LIMIT_MB);
  }
  const w2 = lines.filter((l) => l.role === 'ours' && l.row.startsWith('pg2-') && Number.isFinite(l.rssMaxOneMB));
  if (w2.length) {
    const one = Math.max(...w2.map((l) => l.rssMaxOneMB)), tot = Math.max(...w2.map((l) => l.rssMaxMB));
    add(`RSS ≤ ${RSS_LIMIT_MB} MB per process under load (WORKERS=2)`, `largest process ${fmt(one, 0)} MB; primary + workers ${fmt(tot, 0)} MB`, one <= RSS_LIMIT_MB);
  }
  const bad = lines.filter((l) => l.non2xx > 0 || l.sockErr > 0 || l.wraps > 0 || l.errors.length);
  add('no non-2xx, socket errors or failed rows', bad.length ? bad.map((l) => `${l.row}/${l.role}`).join(', ') : 'none', bad.length === 0);
  const info = [];
  const w1 = get('pg-es256-basic', 'ours'), w2b = get('pg2-es256-basic', 'ours');
  if (w1 && w2b) info.push(`WORKERS=2 vs WORKERS=1 (PostgreSQL + Redis, ES256 basic): ${fmtInt(w2b.tps)} vs ${fmtInt(w1.tps)} tokens/s; per-round ratio ${fmt(ratio('pg2-es256-basic', 'ours', 'pg-es256-basic', 'ours'))}×`);
  const w1p = get('pg-es256-pkjwt', 'ours'), w2p = get('pg2-es256-pkjwt', 'ours');
  if (w1p && w2p) info.push(`WORKERS=2 vs WORKERS=1 (PostgreSQL + Redis, ES256 private_key_jwt): ${fmtInt(w2p.tps)} vs ${fmtInt(w1p.tps)} tokens/s; per-round ratio ${fmt(ratio('pg2-es256-pkjwt', 'ours', 'pg-es256-pkjwt', 'ours'))}×`);
  const dist = results.filter((m) => !m.error && m.disturbed);
  if (dist.length) {
    info.push(`Disturbed: ${dist.length} measurement(s) ran while other processes used more than ${DISTURBED_CORES} cores (${dist.map((m) => `${m.row}/${m.role} round ${m.round}: ${fmt(m.otherCores)} cores`).join('; ')}); medians and ratios leave them out wherever an undisturbed round of the same row exists (marked *)`);
  }
  // The ceiling does the same work every time: how much it moved between rounds shows how much
  // the machine itself drifted (other load, a noisy host) during the run.
  // (per row, across rounds: the same request every time).
  let drift = -1, driftRow = null;
  for (const row of ctx.rows) {
    const c = results.filter((m) => m.row === row.id && m.role === 'ceiling' && !m.error).map((m) => m.tps);
    if (c.length < 2) continue;
    const d = Math.max(...c) / Math.min(...c) - 1;
    if (d > drift) [drift, driftRow] = [d, `${row.id}: ${c.map(fmtInt).join(', ')}`];
  }
  if (drift >= 0) {
    info.push(`Machine drift: the ceiling's req/s varied by up to ${pct(drift)} between rounds (${driftRow})${drift > 0.15 ? ' — more than 15%: the machine was not steady; treat the figures with caution' : ''}`);
    if (drift > 0.15) log(`warning: the ceiling varied by ${pct(drift)} between rounds: the machine was not steady`);
  }
  if (Number.isFinite(rsVsAll)) info.push(`RS256 against the RSA limit with one pool thread per core (${fmtInt(rsaAll)}/s on ${ctx.hw.nproc} threads): ${pct(rsVsAll)}; RS256 ours/peer ${fmt(R('rs256-basic')?.oursPeer)}×`);
  if (w1 && b) info.push(`PostgreSQL + Redis vs embedded (ES256 basic, WORKERS=1): ${fmt(ratio('pg-es256-basic', 'ours', 'es256-basic', 'ours'))}×`);
  return { lines, ratios, targets, info, rsVsLimit, postBasic };
}

function renderMarkdown(ctx, sum) {
  const o = ctx.opts;
  const out = [];
  out.push(`# tokenmill benchmark — ${ctx.startedAt}`, '');
  out.push(`Machine: ${ctx.hw.nproc} CPUs (${ctx.hw.cpu}), ${ctx.hw.memGiB} GiB RAM, Linux ${ctx.hw.kernel}, Node ${process.version}; ${fmt(ctx.hw.busyAtStart)} cores busy just before the run (load average at start ${ctx.hw.loadStart}, at the end ${ctx.hw.loadEnd}).`);
  out.push(`Load: ${ctx.loadgenVersion} on the same machine, ${o.threads} thread${o.threads > 1 ? 's' : ''}, ${o.conns} connections, ${o.duration} s per measurement after a ${o.warmup} s warm-up, ${o.rounds} round${o.rounds > 1 ? 's' : ''} (medians; order alternates between rounds and rows). tokenmill LOG_LEVEL=${o.logLevel}, UV_THREADPOOL_SIZE=${ctx.uvThreads} (its own default here; ${ctx.rsaThreads} with SIGNING_ALG=RS256).`);
  out.push('Targets: ours = tokenmill, peer = oidc-provider ' + ctx.peerVersion + ' (same algorithm, same client authentication), ceiling = bare Fastify 5 + @fastify/formbody returning a fixed ~800-byte token response.', '');
  out.push('| row | target | tokens/s | p50 ms | p99 ms | non-2xx | max RSS MB |', '|---|---|---:|---:|---:|---:|---:|');
  for (const l of sum.lines) {
    const flag = l.non2xx > 0 || l.sockErr > 0 || l.wraps > 0 ? ' ⚠' : '';
    const rss = l.processes > 1 && l.role === 'ours' ? `${fmt(l.rssMaxMB, 0)} (${l.processes} proc.)` : fmt(l.rssMaxMB, 0);
    const tps = l.errors.length && !l.rounds ? `failed: ${l.errors[0].split('\n')[0].slice(0, 120)}` : `${fmtInt(l.tps)}${l.disturbed && l.used < l.rounds ? '*' : l.disturbed ? ' (disturbed)' : ''}`;
    out.push(`| ${l.row} | ${l.role === 'ours' ? l.target : l.role === 'peer' ? `peer (${l.target})` : 'ceiling'} | ${tps} | ${fmt(l.p50)} | ${fmt(l.p99)} | ${fmtInt(l.non2xx)}${flag}${l.sockErr ? ` (+${l.sockErr} socket errors)` : ''}${l.wraps ? ` (${l.wraps} assertion wraps)` : ''} | ${rss} |`);
  }
  out.push('', '| row | ours/peer | ours/ceiling | compared with |', '|---|---:|---:|---|');
  for (const r of sum.ratios) out.push(`| ${r.row} | ${Number.isFinite(r.oursPeer) ? `${fmt(r.oursPeer)}×` : "—"} | ${pct(r.oursCeiling)} | ${r.against === r.row ? 'same row' : `peer and ceiling of ${r.against}, same round`} |`);
  out.push('');
  if (ctx.signingLimits?.length) {
    out.push('Signing limits of this machine (node:crypto async sign on the libuv pool, access-token-sized input, nothing else running):');
    for (const s of ctx.signingLimits) out.push(`- ${s.alg}: ${fmtInt(s.perSec)} signatures/s with ${s.threads} pool thread${s.threads > 1 ? 's' : ''}${s.threads === ctx.uvThreads ? ' (tokenmill’s pool size here)' : ''}${s.threads === ctx.rsaThreads && s.threads !== ctx.uvThreads ? ' (tokenmill’s pool size with SIGNING_ALG=RS256)' : ''}`);
    if (Number.isFinite(sum.rsVsLimit)) out.push(`- RS256 row: ${pct(sum.rsVsLimit)} of the RSA limit at tokenmill’s pool size`);
    out.push('');
  }
  if (ctx.revocation) {
    const r = ctx.revocation;
    out.push(`In-process revocation store (MemoryRevocationStore): ${fmt(r.heapBytes / 1048576, 1)} MB of heap per ${fmtInt(r.revoked)} revoked tokens (${fmtInt(r.bytesPerToken)} bytes each, after GC; entries live until the token would have expired).`, '');
  }
  out.push('| target | measured | result |', '|---|---|---|');
  for (const t of sum.targets) out.push(`| ${t.name} | ${t.measured}${t.note ? ` (${t.note})` : ''} | ${t.result} |`);
  if (sum.info.length) out.push('', ...sum.info.map((s) => `- ${s}`));
  const warnLines = sum.lines.filter((l) => l.logWarnings || l.logErrors || l.errors.length);
  if (warnLines.length) {
    out.push('', 'Problems seen:');
    for (const l of warnLines) {
      if (l.errors.length) out.push(`- ${l.row}/${l.role}: ${l.errors.length} failed measurement(s): ${l.errors[0].split('\n')[0].slice(0, 300)}`);
      if (l.logWarnings || l.logErrors) out.push(`- ${l.row}/${l.role}: tokenmill logged ${l.logErrors} error and ${l.logWarnings} warning lines under load, e.g. ${l.logSamples.map((s) => `\`${s}\``).join('; ')}`);
    }
  }
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// main

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  if (opts.report) {
    const saved = JSON.parse(readFileSync(opts.report, 'utf8'));
    process.stdout.write(renderMarkdown(saved, summarise(saved, saved.measurements)));
    return;
  }
  if (!existsSync(DIST_SERVER)) throw new Error('dist/ is missing: run `npm run bench` (it builds first) or `npm run build`');
  const startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const cpuModel = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const hw = { nproc: availableParallelism(), cpu: cpuModel.trim(), memGiB: (totalmem() / 2 ** 30).toFixed(1), kernel: release(), loadStart: loadavg().map((x) => x.toFixed(2)).join(' ') };
  {
    // how busy is the machine right now (the load average still remembers `npm run build`)?
    const a = systemTicks();
    await sleep(1000);
    const b = systemTicks();
    hw.busyAtStart = ((b.busy - a.busy) / (b.total - a.total)) * availableParallelism();
    if (hw.busyAtStart > 0.25) log(`warning: ${hw.busyAtStart.toFixed(2)} of ${availableParallelism()} cores busy before the run: the machine is not idle; figures will be low and noisy`);
  }
  const loadgenVersion = opts.loadgen === 'wrk'
    ? (spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout || '').split('\n')[0].split(' [')[0].trim() || 'wrk'
    : `autocannon ${JSON.parse(readFileSync(join(ROOT, 'node_modules/autocannon/package.json'), 'utf8')).version}`;
  const peerVersion = JSON.parse(readFileSync(join(ROOT, 'node_modules/oidc-provider/package.json'), 'utf8')).version;
  // tokenmill's own pool sizes (src/server.cts): cores − 1 for ES256/EdDSA deployments, every core for RSA ones.
  const uvThreads = Number(process.env.UV_THREADPOOL_SIZE) || Math.max(1, availableParallelism() - 1);
  const rsaThreads = Number(process.env.UV_THREADPOOL_SIZE) || availableParallelism();
  const tmp = mkdtempSync(join(tmpdir(), 'tokenmill-bench-'));
  tempDirs.push(tmp);
  const keys = generateKeys(join(tmp, 'keys'));
  const ctx = { opts, startedAt, hw, loadgenVersion, peerVersion, uvThreads, rsaThreads, tmp, keys, clientKeyPem: readFileSync(join(keys, 'client_ec.key.pem')) };

  const dbUrl = process.env.DATABASE_URL || process.env.TEST_DATABASE_URL;
  const redisUrl = process.env.REDIS_URL || process.env.TEST_REDIS_URL;
  ctx.rows = ALL_ROWS.filter((r) => opts.rowIds.includes(r.id));
  const pgRows = ctx.rows.filter((r) => !r.deploy.startsWith('embedded'));
  if (pgRows.length && (!opts.pg || !dbUrl || !redisUrl)) {
    log(`skipping ${pgRows.map((r) => r.id).join(', ')}: ${!opts.pg ? '--no-pg' : 'set DATABASE_URL and REDIS_URL (or TEST_DATABASE_URL and TEST_REDIS_URL)'}`);
    ctx.rows = ctx.rows.filter((r) => r.deploy.startsWith('embedded'));
  }
  log(`${ctx.rows.length} rows, ${opts.rounds} round(s), ${opts.duration} s each after ${opts.warmup} s warm-up, ${opts.conns} connections, ${loadgenVersion}`);

  // 1. limits of this machine, before any server runs
  log('measuring signing limits and the revocation store’s memory…');
  const algs = [...new Set(ctx.rows.map((r) => r.alg))];
  if (!algs.includes('RS256')) algs.push('RS256');
  ctx.signingLimits = [];
  for (const alg of algs) {
    for (const threads of [...new Set([uvThreads, rsaThreads, availableParallelism()])]) {
      const r = await runChild('signing-limit', process.execPath, [join(HERE, 'lib/signing-limit.mjs'), alg, '3'], { ...process.env, UV_THREADPOOL_SIZE: String(threads) }, 60_000);
      try { ctx.signingLimits.push(JSON.parse(r.out.trim())); } catch { log(`signing limit ${alg} failed: ${r.err.slice(0, 300)}`); }
    }
  }
  {
    const r = await runChild('revocation-memory', process.execPath, ['--expose-gc', join(HERE, 'lib/revocation-memory.mjs'), join(ROOT, 'dist/src/storage/kv/memory-store.js'), '100000'], process.env, 120_000);
    try { ctx.revocation = JSON.parse(r.out.trim()); } catch { log(`revocation memory measurement failed: ${r.err.slice(0, 500)}`); }
  }

  // 2. servers
  const cfgKeys = await configKeys();
  const targets = {};
  const ceilingPort = await freePort();
  {
    const entry = startServer('ceiling', [join(HERE, 'ceiling.mjs')], { env: { ...process.env, PORT: String(ceilingPort), HOST: '127.0.0.1', NODE_ENV: 'production' }, logFile: join(tmp, 'ceiling.log') });
    const issuer = `http://127.0.0.1:${ceilingPort}`;
    await waitReady(entry, `${issuer}/`);
    targets.ceiling = { name: 'ceiling', kind: 'ceiling', entry, issuer, url: `${issuer}/oauth2/token`, tmp, keys, clients: { any: { id: 'bench-client', secret: 'x' } } };
  }
  for (const alg of [...new Set(ctx.rows.filter((r) => !r.compareWith).map((r) => r.alg))]) {
    const port = await freePort();
    const env = { ...process.env, PORT: String(port), HOST: '127.0.0.1', ALG: alg, KEYS_DIR: keys, CLIENT_ID: 'bench-client', CLIENT_SECRET: PEER_SECRET, NODE_ENV: 'production', TTL: String(TOKEN_TTL), AUDIENCE };
    const entry = startServer(`peer-${alg}`, [join(HERE, 'peer.mjs')], { env, logFile: join(tmp, `peer-${alg}.log`) });
    const issuer = `http://127.0.0.1:${port}`;
    try {
      await waitReady(entry, `${issuer}/.well-known/openid-configuration`);
      targets[`peer-${alg}`] = { name: `oidc-provider ${alg}`, kind: 'peer', entry, issuer, url: `${issuer}/oauth2/token`, tmp, keys,
        clients: { basic: { id: 'bench-client', secret: PEER_SECRET }, post: { id: 'bench-client', secret: PEER_SECRET }, pkjwt: { id: 'bench-client-pkjwt' } } };
    } catch (err) { log(`peer ${alg} did not start: ${err.message}`); }
  }
  const deploys = [...new Set(ctx.rows.map((r) => r.deploy))];
  for (const deploy of deploys) {
    try {
      let extraEnv = {};
      if (deploy === 'embedded-rsa') extraEnv = { SIGNING_ALG: 'RS256' };
      else if (deploy !== 'embedded') {
        const db = await setUpPostgres(dbUrl, deploy);
        const prefix = await setUpRedisPrefix(redisUrl, deploy);
        extraEnv = { DATABASE_URL: db.url, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix, KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url'), WORKERS: deploy === 'pg2' ? '2' : '1' };
      }
      log(`starting tokenmill (${deploy})…`);
      const t = await startTokenmill(`tokenmill-${deploy}`, { tmp, logLevel: opts.logLevel, keys, extraEnv, cfgKeys });
      t.name = { embedded: 'tokenmill embedded', 'embedded-rsa': 'tokenmill embedded (SIGNING_ALG=RS256)', pg: 'tokenmill pg+redis', pg2: 'tokenmill pg+redis ×2' }[deploy];
      t.tmp = tmp;
      for (const row of ctx.rows.filter((r) => r.deploy === deploy)) {
        const k = `${row.alg}-${row.auth}`;
        t.clients[k] ??= await registerClient(t, { auth: row.auth, alg: row.alg, keys });
      }
      targets[deploy] = t;
    } catch (err) {
      log(`tokenmill (${deploy}) could not be set up: ${err.message}`);
    }
  }

  // 3. probe every (row, target) once, then the rounds
  const results = [];
  const plan = [];
  for (const row of ctx.rows) {
    const roles = [];
    const ours = targets[row.deploy];
    roles.push(['ours', ours, ours?.clients[`${row.alg}-${row.auth}`]]);
    if (!row.compareWith) {
      const p = targets[`peer-${row.alg}`];
      roles.push(['peer', p, p?.clients[row.auth]]);
      roles.push(['ceiling', targets.ceiling, targets.ceiling.clients.any]);
    }
    for (const [role, t, client] of roles) {
      const item = { row, role, t, client, error: null };
      if (!t) item.error = `${role} target is not running`;
      else {
        try {
          const alg = await probe(t, row.auth, client);
          if (alg && alg !== row.alg) item.error = `${t.name} signed with ${alg}, expected ${row.alg}`;
        } catch (err) { item.error = err.message; }
      }
      if (item.error) log(`${row.id}/${role}: ${item.error}`);
      plan.push(item);
    }
  }
  for (const t of Object.values(targets)) if (t.kind === 'ours') await drainLog(t.entry.logFile);

  for (let round = 1; round <= opts.rounds; round++) {
    // Rows run in reverse order in even rounds, so no row is always the first after a pause.
    const rows = round % 2 === 0 ? [...ctx.rows].reverse() : ctx.rows;
    for (const [ri, row] of rows.entries()) {
      let items = plan.filter((p) => p.row === row);
      if ((round + ri) % 2 === 0) items = items.reverse();
      for (const it of items) {
        if (interrupted) throw new Error('interrupted');
        const label = `round ${round}/${opts.rounds} ${row.id} ${it.role}`;
        if (it.error) { results.push({ round, row: row.id, role: it.role, target: it.t?.name ?? it.role, error: it.error }); continue; }
        try {
          const m = await measure(opts, ctx, row, it.role, it.t, it.client);
          m.round = round;
          results.push(m);
          const flags = [m.non2xx ? `NON-2XX ${m.non2xx}` : '', m.sockErr ? `socket errors ${m.sockErr}` : '', m.wraps ? `assertion wraps ${m.wraps}` : '', m.logErrors || m.logWarnings ? `log: ${m.logErrors} errors ${m.logWarnings} warnings` : ''].filter(Boolean).join(', ');
          log(`${label}: ${fmtInt(m.tps)} tokens/s p50 ${fmt(m.p50)} ms p99 ${fmt(m.p99)} ms RSS ${fmt(m.rssMaxMB, 0)} MB cpu ${fmt(m.cpuCores)} of ${fmt(m.machineBusyCores)} busy cores${flags ? ` — ${flags}` : ''}`);
        } catch (err) {
          log(`${label}: FAILED: ${err.message}`);
          results.push({ round, row: row.id, role: it.role, target: it.t.name, error: err.message });
        }
      }
    }
  }

  // 4. report
  ctx.hw.loadEnd = loadavg().map((x) => x.toFixed(2)).join(' ');
  const sum = summarise(ctx, results);
  const md = renderMarkdown(ctx, sum);
  process.stdout.write('\n' + md);
  const outDir = join(HERE, 'results');
  mkdirSync(outDir, { recursive: true });
  const { clientKeyPem, ...ctxOut } = ctx;
  const json = JSON.stringify({ ...ctxOut, rows: ctx.rows, summary: sum, measurements: results }, null, 2) + '\n';
  const stamp = startedAt.replace(/[-:]/g, '').replace('T', '-').replace('Z', '');
  for (const name of ['latest', stamp]) {
    writeFileSync(join(outDir, `${name}.md`), md);
    writeFileSync(join(outDir, `${name}.json`), json);
  }
  log(`written bench/results/latest.md and latest.json (also ${stamp}.md/.json)`);
}

main()
  .catch((err) => { if (!interrupted) log(`error: ${err.stack ?? err.message}`); process.exitCode = interrupted ? 130 : 2; })
  .finally(() => cleanup());
