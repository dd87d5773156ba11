#!/usr/bin/env node
// Where a token's CPU goes, against the ceiling's: `npm run bench:profile` (= npm run build &&
// node bench/profile.mjs). Needs wrk and Linux `perf` (Debian: linux-perf) with the right to
// sample another process (root, or kernel.perf_event_paranoid ≤ 1).
//
// Starts one embedded tokenmill and the bare-Fastify ceiling (bench/ceiling.mjs), both with
// `--perf-basic-prof-only-functions` so that JIT frames carry their script's path, warms each up,
// then drives the same wrk load at each while `perf record -g` samples every thread of that
// process. bench/lib/perf-profile.mjs attributes each sample to a category (the request log line,
// the response write, GC, ...) and the report gives µs of CPU a token per category, for the event
// loop and for the other threads (libuv's pool, where tokenmill signs). Prints Markdown and writes
// bench/results/profile-<time>.md. On Node 24 the JIT's names are less trustworthy (a map file
// keeps the names of code V8 has freed); the categories that come from native frames (kernel,
// OpenSSL, GC, libuv) are not affected.
//
// Options: --auth basic|pkjwt (default basic), --duration S (default 8), --warmup S (default 3),
// --conns N (default 50).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HERE, SERVER_NODE_ARGS } from './lib/constants.mjs';
import { generateKeys } from './lib/keys.mjs';
import { generateAssertions } from './lib/assertions.mjs';
import { load } from './lib/load.mjs';
import { attribute, microsecondsTable, parsePerfScript } from './lib/perf-profile.mjs';
import { asyncCleanups, cleanup, log, sleep, tempDirs } from './lib/processes.mjs';
import { configKeys, probe, registerClient, startCeiling, startTokenmill } from './lib/targets.mjs';

const PERF_FLAG = '--perf-basic-prof-only-functions';
const HZ = 999;
/** More than tokenmill signs a second on one process here (~8,000 with private_key_jwt): a load that ran out would resend used ones. */
const ASSERTIONS_PER_SECOND = 20_000;

const { values } = parseArgs({
  options: {
    auth: { type: 'string', default: 'basic' },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '3' },
    conns: { type: 'string', default: '50' },
  },
});
const auth = values.auth;
const duration = Number(values.duration);
const warmup = Number(values.warmup);
const conns = Number(values.conns);
if (auth !== 'basic' && auth !== 'pkjwt') throw new Error('--auth: basic or pkjwt');
if (!Number.isInteger(duration) || duration < 4 || duration > 60) throw new Error('--duration: whole seconds, 4..60');
if (!Number.isInteger(warmup) || warmup < 0 || warmup > 30) throw new Error('--warmup: whole seconds, 0..30');
if (!Number.isInteger(conns) || conns < 1 || conns > 1000) throw new Error('--conns: 1..1000');
for (const tool of ['wrk', 'perf']) {
  if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).error) throw new Error(`${tool} is not on PATH (Debian: apt-get install -y ${tool === 'perf' ? 'linux-perf' : 'wrk'})`);
}

const opts = { loadgen: 'wrk', threads: 1, conns };
const tmp = mkdtempSync(join(tmpdir(), 'tokenmill-profile-'));
tempDirs.push(tmp);
const keys = generateKeys(join(tmp, 'keys'));

/**
 * Fresh client assertions for one load of `seconds` (private_key_jwt): tokenmill refuses a used
 * one, so no two loads share a file. Undefined for client_secret_basic.
 */
async function assertionsFor(issuer, client, seconds) {
  if (auth !== 'pkjwt') return undefined;
  const file = join(tmp, `assertions-${randomBytes(4).toString('hex')}.jwt`);
  await generateAssertions(file, ASSERTIONS_PER_SECOND * seconds, { clientId: client.id, aud: issuer, keyPem: readFileSync(join(keys, 'client_ec.key.pem')) });
  return file;
}

/** Loads `target` for `duration` s while perf samples its process for all but the first and last ~0.5 s. */
async function profile(target, client, audience) {
  const pid = target.entry.child.pid;
  // V8 appends the JIT's names to /tmp/perf-<pid>.map; remove it with the run.
  asyncCleanups.push(async () => rmSync(`/tmp/perf-${pid}.map`, { force: true }));
  if (warmup > 0) await load(opts, { url: target.url, auth, client, assertions: await assertionsFor(audience, client, warmup), duration: warmup });
  const assertions = await assertionsFor(audience, client, duration);
  const data = join(tmp, `${target.name}.perf.data`);
  const window = duration - 1;
  const running = load(opts, { url: target.url, auth, client, assertions, duration });
  await sleep(500);
  const perf = spawn('perf', ['record', '-F', String(HZ), '-g', '-p', String(pid), '-o', data, '--', 'sleep', String(window)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let perfErr = '';
  perf.stderr.on('data', (d) => (perfErr += d));
  const [result, code] = await Promise.all([running, new Promise((r) => perf.once('exit', r))]);
  if (code !== 0) throw new Error(`perf record failed (${code}): ${perfErr.trim().slice(0, 400)}`);
  if (result.non2xx > 0) throw new Error(`${target.name}: ${result.non2xx} non-2xx responses under load`);
  const script = spawnSync('perf', ['script', '-i', data, '-F', 'tid,ip,sym'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (script.status !== 0) throw new Error(`perf script failed: ${script.stderr.slice(0, 400)}`);
  const counts = attribute(parsePerfScript(script.stdout), pid);
  const tokensPerSecond = result.ok / result.secs;
  log(`${target.name}: ${Math.round(tokensPerSecond)} tokens/s, ${counts.samples} samples in ${window} s`);
  return { tokensPerSecond, tokens: tokensPerSecond * window, ...counts };
}

async function main() {
  // Node 24's V8 writes an isolate-*-v8.log into the working directory when a --perf-basic-prof
  // flag is on: both servers run in the temporary directory, which the run removes.
  const ceiling = await startCeiling({ tmp, keys, nodeArgs: [PERF_FLAG], cwd: tmp });

  const ours = await startTokenmill('tokenmill', {
    tmp,
    cwd: tmp,
    logLevel: 'info',
    keys,
    cfgKeys: await configKeys(),
    nodeArgs: [PERF_FLAG], // the server's own process only: its PGlite set-up child needs no map
  });
  ours.tmp = tmp;
  const client = await registerClient(ours, { auth, alg: 'ES256', keys });
  await probe(ours, auth, client);

  const measured = await profile(ours, client, ours.issuer);
  // The ceiling checks no credentials: the same client's secret or assertions make the same request.
  const bare = await profile(ceiling, client, ours.issuer);

  const column = (label, p, counts) => ({ label, counts, hz: HZ, tokens: p.tokens });
  const report = [
    `# Where a token's CPU goes: tokenmill (embedded, one process) and the ceiling`,
    '',
    `ES256, ${auth === 'basic' ? 'client_secret_basic' : 'private_key_jwt'}; wrk 1 thread × ${conns} connections on the same machine, ${duration} s after ${warmup} s of warm-up; \`perf record -F ${HZ} -g\` over the middle ${duration - 1} s; Node ${process.version}, Node options ${[...SERVER_NODE_ARGS, PERF_FLAG].join(' ')}.`,
    `tokenmill ${Math.round(measured.tokensPerSecond)} tokens/s, the ceiling ${Math.round(bare.tokensPerSecond)} responses/s. A sample counts for the first frame from its leaf that names a category (bench/lib/perf-profile.mjs).`,
    '',
    '## Event loop',
    '',
    microsecondsTable([column('tokenmill', measured, measured.eventLoop), column('ceiling', bare, bare.eventLoop)]),
    '',
    "Of it, in JavaScript compiled by V8 (the sample's leaf in JIT code or the interpreter; builtins, runtime and native code are not counted here):",
    '',
    microsecondsTable([column('tokenmill', measured, measured.eventLoopTiers), column('ceiling', bare, bare.eventLoopTiers)]),
    '',
    '## Other threads (libuv pool, V8 helpers)',
    '',
    microsecondsTable([column('tokenmill', measured, measured.otherThreads), column('ceiling', bare, bare.otherThreads)]),
    '',
  ].join('\n');
  process.stdout.write(report);
  const outDir = join(HERE, 'results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `profile-${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}.md`);
  writeFileSync(file, report);
  log(`written ${file}`);
}

try {
  await main();
} finally {
  await cleanup();
}
