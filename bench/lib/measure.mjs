// One measurement: warm-up, load, RSS and CPU samples, and the rate it found. (Part of bench/run.mjs.)
import { randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync, rmSync, ftruncateSync, statSync, createReadStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { descendants, memoryParts, sampleRss } from './system.mjs';
import { generateAssertions } from './assertions.mjs';
import { load } from './load.mjs';

export const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Scans a server log (tokenmill: pino JSON lines) for warnings and errors, then empties it. */
export async function drainLog(file) {
  const found = { warn: 0, error: 0, samples: [] };
  if (!existsSync(file) || statSync(file).size === 0) return found;
  const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line) continue;
    let level,
      msg = line;
    if (line.startsWith('{')) {
      try {
        const j = JSON.parse(line);
        level = j.level ?? 30;
        msg = `${j.msg ?? ''}${j.err ? ` ${JSON.stringify(j.err).slice(0, 200)}` : ''}${j.status ? ` status=${j.status}` : ''}`;
      } catch {
        level = 50;
      }
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

export const GUESS = { ours: 12000, without: 12000, peer: 4000, ceiling: 20000 };
export const lastRate = new Map();
export const bestRate = new Map();

export async function measure(opts, ctx, row, role, t, client) {
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
  // expected rate, for sizing the assertions: this row's last measurement, the best this target did
  // on any row so far (a private_key_jwt row cannot beat the same server's client_secret_basic), a
  // generous guess (a short warm-up of a cold server underestimates), or the warm-up's own rate.
  // Running out is not harmless: wrk then re-sends used assertions, each refused as a replay
  // (401), and tokenmill's failed-authentication limit blocks this source (429) for what follows.
  const expectedRate = (warmRate = 0) => Math.max(warmRate, lastRate.get(key) ?? 0, bestRate.get(t.name) ?? 0, GUESS[role]);
  try {
    let warmRate = 0;
    let warmup = null;
    if (opts.warmup > 0) {
      const a = await assertionsFor(opts.warmup, expectedRate());
      const w = await load(opts, { url: t.url, auth, client, assertions: a?.file, duration: opts.warmup });
      warmRate = w.ok / w.secs;
      warmup = { non2xx: w.non2xx, wraps: role === 'ceiling' ? 0 : (w.wraps ?? 0) };
    }
    if (t.entry) await drainLog(t.entry.logFile);
    const a = await assertionsFor(opts.duration, expectedRate(warmRate));
    const root = t.entry.child.pid;
    const stopSampling = sampleRss(root);
    const r = await load(opts, { url: t.url, auth, client, assertions: a?.file, duration: opts.duration, onSpawn: stopSampling.watch });
    const s = stopSampling();
    // where each of tokenmill's processes holds its memory at the end of the load (the peaks are
    // RSS samples; this says what the RSS is made of)
    const memory =
      t.kind === 'ours'
        ? descendants(root).flatMap((pid) => {
            const parts = memoryParts(pid);
            return parts ? [{ pid, primary: pid === root, ...parts }] : [];
          })
        : null;
    const logs = t.entry && t.kind === 'ours' ? await drainLog(t.entry.logFile) : null;
    if (t.entry.exited) throw new Error(`${t.name} exited during the load (code ${t.entry.code}, signal ${t.entry.signal})`);
    const tps = r.ok / r.secs;
    // µs of CPU per successful token, by kind of thread, and the load generator's
    const perToken = (secs) => (r.ok > 0 ? (secs * 1e6) / r.ok : NaN);
    const cpuPerToken = { ...Object.fromEntries(Object.entries(s.threadSecs).map(([k, v]) => [k, perToken(v)])), loadgen: perToken(s.loadgenSecs) };
    lastRate.set(key, tps);
    bestRate.set(t.name, Math.max(bestRate.get(t.name) ?? 0, tps));
    return {
      row: row.id,
      role,
      target: t.name,
      tps,
      ok: r.ok,
      secs: r.secs,
      p50: r.p50,
      p90: r.p90,
      p99: r.p99,
      max: r.max,
      requests: r.requests,
      non2xx: r.non2xx,
      sockErr: r.sockErr,
      timeouts: r.timeouts,
      wraps: role === 'ceiling' ? 0 : r.wraps,
      assertions: a?.count ?? null,
      ...s,
      cpuPerToken,
      memory,
      warmup,
      logWarnings: logs?.warn ?? 0,
      logErrors: logs?.error ?? 0,
      logSamples: logs?.samples ?? [],
    };
  } finally {
    for (const f of files) rmSync(f, { force: true });
  }
}

/** Slices per client and round of a `pairWithout` row (see `measurePair`). */
export const PAIR_SLICES = 4;

/**
 * A `pairWithout` row: its two clients, on the same process, in PAIR_SLICES alternating slices
 * each (A B B A A B B A …), each slice a load of duration / PAIR_SLICES seconds (rounded up), the
 * first slice of each client after the usual warm-up. Each client runs first and second in a pair
 * equally often, so a drift of the machine's speed through the round weighs on both alike; one
 * load of each, back to back, let a drift of 10–20% decide a 5% comparison. `items` are the
 * (role, target, client) of the two clients, the first to go first; returns one merged
 * measurement per client, in that order.
 */
export async function measurePair(opts, ctx, row, items) {
  const duration = Math.max(1, Math.ceil(opts.duration / PAIR_SLICES));
  const slices = items.map(() => []);
  for (let i = 0; i < PAIR_SLICES * 2; i++) {
    const k = i % 4 === 0 || i % 4 === 3 ? 0 : 1;
    const it = items[k];
    const o = { ...opts, duration, warmup: slices[k].length === 0 ? opts.warmup : 0 };
    slices[k].push(await measure(o, ctx, row, it.role, it.t, it.client));
  }
  return slices.map(mergeSlices);
}

/**
 * One measurement from a client's slices: rates and CPU per token from the summed tokens, seconds
 * and CPU time; counts summed; peaks as the largest; latency percentiles as the median slice's
 * (wrk reports no histogram to merge); the memory breakdown of the last slice.
 */
function mergeSlices(ms) {
  const total = (f) => ms.reduce((a, m) => a + (m[f] ?? 0), 0);
  const ok = total('ok');
  const secs = total('secs');
  const threadSecs = {};
  for (const m of ms) for (const [k, v] of Object.entries(m.threadSecs ?? {})) threadSecs[k] = (threadSecs[k] ?? 0) + v;
  const loadgenSecs = total('loadgenSecs');
  const perToken = (cpuSecs) => (ok > 0 ? (cpuSecs * 1e6) / ok : NaN);
  const weighted = (f) => ms.reduce((a, m) => a + (m[f] ?? 0) * (m.secs ?? 0), 0) / secs;
  const last = ms[ms.length - 1];
  return {
    ...last,
    tps: ok / secs,
    ok,
    secs,
    slices: ms.length,
    p50: median(ms.map((m) => m.p50)),
    p90: median(ms.map((m) => m.p90)),
    p99: median(ms.map((m) => m.p99)),
    max: Math.max(...ms.map((m) => m.max ?? 0)),
    requests: total('requests'),
    non2xx: total('non2xx'),
    sockErr: total('sockErr'),
    timeouts: total('timeouts'),
    wraps: total('wraps'),
    assertions: total('assertions') || null,
    rssMaxMB: Math.max(...ms.map((m) => m.rssMaxMB)),
    rssMaxOneMB: Math.max(...ms.map((m) => m.rssMaxOneMB)),
    cpuCores: weighted('cpuCores'),
    machineBusyCores: weighted('machineBusyCores'),
    loadgenCores: weighted('loadgenCores'),
    otherCores: weighted('otherCores'),
    disturbed: ms.some((m) => m.disturbed),
    threadSecs,
    loadgenSecs,
    cpuPerToken: { ...Object.fromEntries(Object.entries(threadSecs).map(([k, v]) => [k, perToken(v)])), loadgen: perToken(loadgenSecs) },
    warmup: ms[0].warmup,
    logWarnings: total('logWarnings'),
    logErrors: total('logErrors'),
    logSamples: [...new Set(ms.flatMap((m) => m.logSamples ?? []))].slice(0, 5),
  };
}
