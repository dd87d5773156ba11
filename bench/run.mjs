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
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { generateKeys } from './lib/keys.mjs';
import { HERE, ROOT, DIST_SERVER, AUDIENCE, TOKEN_TTL, PEER_SECRET } from './lib/constants.mjs';
import { ALL_ROWS, parseOptions } from './lib/options.mjs';
import { tempDirs, log, cleanup, interrupted, freePort, sleep, startServer, waitReady } from './lib/processes.mjs';
import { systemTicks } from './lib/system.mjs';
import { runChild } from './lib/load.mjs';
import { configKeys, startCeiling, startTokenmill, registerClient, clientKey, probe, setUpPostgres, setUpRedisPrefix } from './lib/targets.mjs';
import { drainLog, measure, measurePair } from './lib/measure.mjs';
import { fmtInt, fmt, summarise, renderMarkdown } from './lib/report.mjs';

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
  const hw = {
    nproc: availableParallelism(),
    cpu: cpuModel.trim(),
    memGiB: (totalmem() / 2 ** 30).toFixed(1),
    kernel: release(),
    loadStart: loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
  };
  {
    // how busy is the machine right now (the load average still remembers `npm run build`)?
    const a = systemTicks();
    await sleep(1000);
    const b = systemTicks();
    hw.busyAtStart = ((b.busy - a.busy) / (b.total - a.total)) * availableParallelism();
    if (hw.busyAtStart > 0.25) log(`warning: ${hw.busyAtStart.toFixed(2)} of ${availableParallelism()} cores busy before the run: the machine is not idle; figures will be low and noisy`);
  }
  const loadgenVersion =
    opts.loadgen === 'wrk'
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
      try {
        ctx.signingLimits.push(JSON.parse(r.out.trim()));
      } catch {
        log(`signing limit ${alg} failed: ${r.err.slice(0, 300)}`);
      }
    }
  }
  {
    const r = await runChild(
      'revocation-memory',
      process.execPath,
      ['--expose-gc', join(HERE, 'lib/revocation-memory.mjs'), join(ROOT, 'dist/src/storage/kv/memory-store.js'), '100000'],
      process.env,
      120_000,
    );
    try {
      ctx.revocation = JSON.parse(r.out.trim());
    } catch {
      log(`revocation memory measurement failed: ${r.err.slice(0, 500)}`);
    }
  }

  // 2. servers
  const cfgKeys = await configKeys();
  const targets = {};
  targets.ceiling = await startCeiling({ tmp, keys });
  for (const alg of [...new Set(ctx.rows.filter((r) => !r.compareWith).map((r) => r.alg))]) {
    const port = await freePort();
    const env = {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      ALG: alg,
      KEYS_DIR: keys,
      CLIENT_ID: 'bench-client',
      CLIENT_SECRET: PEER_SECRET,
      NODE_ENV: 'production',
      TTL: String(TOKEN_TTL),
      AUDIENCE,
    };
    const entry = startServer(`peer-${alg}`, [join(HERE, 'peer.mjs')], { env, logFile: join(tmp, `peer-${alg}.log`) });
    const issuer = `http://127.0.0.1:${port}`;
    try {
      await waitReady(entry, `${issuer}/.well-known/openid-configuration`);
      targets[`peer-${alg}`] = {
        name: `oidc-provider ${alg}`,
        kind: 'peer',
        entry,
        issuer,
        url: `${issuer}/oauth2/token`,
        tmp,
        keys,
        clients: { basic: { id: 'bench-client', secret: PEER_SECRET }, post: { id: 'bench-client', secret: PEER_SECRET }, pkjwt: { id: 'bench-client-pkjwt' } },
      };
    } catch (err) {
      log(`peer ${alg} did not start: ${err.message}`);
    }
  }
  const deploys = [...new Set(ctx.rows.map((r) => r.deploy))];
  for (const deploy of deploys) {
    try {
      let extraEnv = {};
      if (deploy === 'embedded-rsa') extraEnv = { SIGNING_ALG: 'RS256' };
      else if (deploy === 'embedded2') extraEnv = { WORKERS: '2' };
      else if (deploy !== 'embedded') {
        const db = await setUpPostgres(dbUrl, deploy);
        const prefix = await setUpRedisPrefix(redisUrl, deploy);
        extraEnv = { DATABASE_URL: db.url, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix, KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url'), WORKERS: deploy === 'pg2' ? '2' : '1' };
      }
      log(`starting tokenmill (${deploy})…`);
      const t = await startTokenmill(`tokenmill-${deploy}`, { tmp, logLevel: opts.logLevel, keys, extraEnv, cfgKeys });
      t.name = {
        embedded: 'tokenmill embedded',
        'embedded-rsa': 'tokenmill embedded (SIGNING_ALG=RS256)',
        embedded2: 'tokenmill embedded ×2',
        pg: 'tokenmill pg+redis',
        pg2: 'tokenmill pg+redis ×2',
      }[deploy];
      t.tmp = tmp;
      for (const row of ctx.rows.filter((r) => r.deploy === deploy)) {
        t.clients[clientKey(row)] ??= await registerClient(t, { auth: row.auth, alg: row.alg, keys, tokenQuota: row.clientQuota });
        const without = pairedRow(row);
        if (without) t.clients[clientKey(without)] ??= await registerClient(t, { auth: without.auth, alg: without.alg, keys });
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
    roles.push(['ours', ours, ours?.clients[clientKey(row)]]);
    const without = pairedRow(row);
    if (without) roles.push(['without', ours, ours?.clients[clientKey(without)]]);
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
          const alg = await probe(t, row.auth, client, role === 'ours' ? !!row.clientQuota : role === 'without' ? false : undefined);
          if (alg && alg !== row.alg) item.error = `${t.name} signed with ${alg}, expected ${row.alg}`;
        } catch (err) {
          item.error = err.message;
        }
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
      // A paired row alternates by round, so each of its two clients goes first in every other round.
      if (row.pairWithout ? round % 2 === 0 : (round + ri) % 2 === 0) items = items.reverse();
      const labelOf = (it) => `round ${round}/${opts.rounds} ${row.id} ${it.role}`;
      if (interrupted) throw new Error('interrupted');
      if (row.pairWithout && items.length === 2 && items.every((it) => !it.error)) {
        try {
          for (const [k, m] of (await measurePair(opts, ctx, row, items)).entries()) {
            m.round = round;
            results.push(m);
            logMeasurement(labelOf(items[k]), m);
          }
        } catch (err) {
          log(`${labelOf(items[0])} and ${items[1].role}: FAILED: ${err.message}`);
          for (const it of items) results.push({ round, row: row.id, role: it.role, target: it.t.name, error: err.message });
        }
        continue;
      }
      for (const it of items) {
        if (interrupted) throw new Error('interrupted');
        const label = labelOf(it);
        if (it.error) {
          results.push({ round, row: row.id, role: it.role, target: it.t?.name ?? it.role, error: it.error });
          continue;
        }
        try {
          const m = await measure(opts, ctx, row, it.role, it.t, it.client);
          m.round = round;
          results.push(m);
          logMeasurement(label, m);
        } catch (err) {
          log(`${label}: FAILED: ${err.message}`);
          results.push({ round, row: row.id, role: it.role, target: it.t.name, error: err.message });
        }
      }
    }
  }

  // 4. report
  ctx.hw.loadEnd = loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
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

/** One measurement's log line: rate, latency, memory, CPU, and anything that went wrong. */
function logMeasurement(label, m) {
  const flags = [
    m.non2xx ? `NON-2XX ${m.non2xx}` : '',
    m.sockErr ? `socket errors ${m.sockErr}` : '',
    m.wraps ? `assertion wraps ${m.wraps}` : '',
    m.warmup?.non2xx || m.warmup?.wraps ? `warm-up: ${m.warmup.non2xx} non-2xx, ${m.warmup.wraps} assertion wraps` : '',
    m.logErrors || m.logWarnings ? `log: ${m.logErrors} errors ${m.logWarnings} warnings` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const slices = m.slices ? ` (${m.slices} alternating slices)` : '';
  log(
    `${label}: ${fmtInt(m.tps)} tokens/s${slices} p50 ${fmt(m.p50)} ms p99 ${fmt(m.p99)} ms RSS ${fmt(m.rssMaxMB, 0)} MB cpu ${fmt(m.cpuCores)} of ${fmt(m.machineBusyCores)} busy cores${flags ? ` — ${flags}` : ''}`,
  );
}

/** The row whose client a `pairWithout` row is measured against, on the same process, in every round. */
function pairedRow(row) {
  return row.pairWithout ? ALL_ROWS.find((r) => r.id === row.compareWith) : undefined;
}

main()
  .catch((err) => {
    if (!interrupted) log(`error: ${err.stack ?? err.message}`);
    process.exitCode = interrupted ? 130 : 2;
  })
  .finally(() => cleanup());
