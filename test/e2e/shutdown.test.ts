// SIGTERM of a real tokenmill process: it never hangs on a broken stdout, and with SHUTDOWN_DELAY
// it first reports not-ready while still serving, so a load balancer stops routing before the
// listeners close.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { basicAuth, fetchJson, serverEnv, serverPorts, spawnServer, waitReady, type ServerProcess } from '../helpers/server-process.js';
import { pollUntil, sleep } from '../helpers/time.js';
import { registerClient } from './support.js';

// Real processes start slowly on a loaded machine (PGlite); the runner's default per-file limit is 30 s when run directly.
t.setTimeout(240_000);

const ADMIN_TOKEN = `shutdown-admin-${'z'.repeat(32)}`;
const API = 'https://api.example.com';

interface Started {
  proc: ServerProcess;
  url: string;
  adminUrl: string;
}

/** A server process this file stops itself (the exit code and the time it takes are what is tested); not waited for. */
async function spawn(env: Record<string, string>): Promise<Started> {
  const { port, adminPort } = await serverPorts({});
  const dataDir = mkdtempSync(join(tmpdir(), 'tokenmill-shutdown-'));
  const url = `http://127.0.0.1:${port}`;
  const childEnv = serverEnv({ ADMIN_TOKEN, ...env }, { inherit: ['SYSTEMROOT', 'NODE_OPTIONS'], forced: { PORT: String(port), ADMIN_PORT: String(adminPort), ISSUER: url, DATA_DIR: dataDir } });
  const proc = spawnServer(childEnv, { reapOnExit: true, onStopTimeout: 'report' });
  t.teardown(async () => {
    if (!proc.exitInfo()) await proc.stop('SIGKILL', 10_000);
    rmSync(dataDir, { recursive: true, force: true });
  });
  return { proc, url, adminUrl: `http://127.0.0.1:${adminPort}` };
}

/** As `spawn`, once it answers /readyz. */
async function start(env: Record<string, string>): Promise<Started> {
  const s = await spawn(env);
  await waitReady({ url: s.url, exitInfo: s.proc.exitInfo, lines: s.proc.lines }, 120_000);
  return s;
}

/** Resolves once the process logged `msg` (or exited); whether it did. */
async function logged(proc: ServerProcess, msg: string): Promise<boolean> {
  const seen = await pollUntil(() => proc.jsonLines().some((l) => l.msg === msg) || proc.exitInfo() !== null, { timeoutMs: 120_000, intervalMs: 2 });
  return seen.ok && proc.exitInfo() === null;
}

function tokenRequest(url: string, id: string, secret: string) {
  return fetchJson(
    `${url}/oauth2/token`,
    { method: 'POST', headers: { authorization: basicAuth(id, secret), 'content-type': 'application/x-www-form-urlencoded', connection: 'close' }, body: 'grant_type=client_credentials' },
    10_000,
  );
}

t.test('SIGTERM with stdout a broken pipe: the process still exits within SHUTDOWN_TIMEOUT', async (t) => {
  const s = await start({ SHUTDOWN_TIMEOUT: '2' });
  const reg = await registerClient(s.url, ADMIN_TOKEN, { client_name: 'epipe', scope: 'api:read', audience: [API] });
  // Requests that are logged while stdout is still read …
  for (let i = 0; i < 10; i++) t.equal((await tokenRequest(s.url, reg.client_id, reg.client_secret)).status, 200, `request ${i}`);
  // The log lines come through a pipe: wait for them, however loaded the machine is.
  const logged = await pollUntil(() => s.proc.jsonLines().filter((l) => l.msg === 'request' && l.path === '/oauth2/token').length === 10, { timeoutMs: 10_000, intervalMs: 50 });
  t.ok(logged.ok, 'the requests were logged');
  // … then the reader goes away (`| head`, a log shipper that died) while the server is idle: the
  // next log line, written at shutdown, fails with EPIPE. (pino's synchronous flush at exit used to
  // retry EPIPE forever here, so SIGTERM never finished.)
  s.proc.child.stdout!.destroy();
  await sleep(500);
  const began = Date.now();
  const exit = await s.proc.stop('SIGTERM', 15_000);
  const took = Date.now() - began;
  t.comment(`exit ${JSON.stringify(exit)} after ${took} ms`);
  t.not(exit.code, -1, 'it exited by itself (not killed by the test after 15 s)');
  t.same(exit, { code: 0, signal: null }, 'a clean exit 0: losing the log output is not a failed drain');
  t.ok(took < 2_000 + 8_000, `within SHUTDOWN_TIMEOUT (2 s) plus a margin (${took} ms)`);
});

t.test('SHUTDOWN_DELAY: after SIGTERM /readyz is 503 while requests are still served; then the process drains and exits 0', async (t) => {
  // Long enough for the checks below to fit inside it on a loaded CI machine (two suites, a browser).
  const DELAY_MS = 8_000;
  const s = await start({ SHUTDOWN_DELAY: String(DELAY_MS / 1000), SHUTDOWN_TIMEOUT: '5' });
  const reg = await registerClient(s.url, ADMIN_TOKEN, { client_name: 'drain', scope: 'api:read', audience: [API] });
  t.equal((await fetchJson(`${s.url}/readyz`)).status, 200, 'ready before SIGTERM');

  const began = Date.now();
  const exited = s.proc.stop('SIGTERM', 30_000);
  // Readiness turns false at once …
  let readyz = await fetchJson(`${s.url}/readyz`, { headers: { connection: 'close' } }, 5_000);
  for (let i = 0; i < 20 && readyz.status === 200; i++) {
    await sleep(50);
    readyz = await fetchJson(`${s.url}/readyz`, { headers: { connection: 'close' } }, 5_000);
  }
  t.equal(readyz.status, 503, 'public /readyz is 503 during the delay');
  t.equal(readyz.body?.status, 'shutting_down');
  t.equal(readyz.headers.get('cache-control'), 'no-store');
  const adminReadyz = await fetchJson(`${s.adminUrl}/readyz`, { headers: { connection: 'close' } }, 5_000);
  t.equal(adminReadyz.status, 503, 'admin /readyz is 503 too');
  t.equal(adminReadyz.body?.status, 'shutting_down');
  // … while everything else is served normally, on new connections.
  const token = await tokenRequest(s.url, reg.client_id, reg.client_secret);
  t.equal(token.status, 200, `a token request during the delay is 200 (${token.text.slice(0, 80)})`);
  t.match(token.body?.access_token, /^eyJ/);
  const healthz = await fetchJson(`${s.url}/healthz`, { headers: { connection: 'close' } }, 5_000);
  t.equal(healthz.status, 200, '/healthz is 200: the process is alive');
  t.ok(Date.now() - began < DELAY_MS, `all of the above happened within the delay (${Date.now() - began} ms)`);
  t.equal(s.proc.exitInfo(), null, 'still running');

  const exit = await exited;
  const took = Date.now() - began;
  t.same(exit, { code: 0, signal: null }, 'exit 0 after the delay and the drain');
  t.ok(took >= DELAY_MS - 100, `the listeners closed only after SHUTDOWN_DELAY (${took} ms)`);
  const after = await fetch(`${s.url}/healthz`).then(
    (r) => `status ${r.status}`,
    (e: Error & { cause?: { code?: string } }) => e.cause?.code ?? e.message,
  );
  t.equal(after, 'ECONNREFUSED', 'nothing listens any more');
  const logs = s.proc.jsonLines();
  t.ok(
    logs.some((l) => l.msg === 'shutting down: not ready; serving until the delay ends' && l.delay === DELAY_MS / 1000),
    'the delay is logged',
  );
  t.ok(
    logs.some((l) => l.msg === 'stopped'),
    'a clean stop is logged',
  );
});

t.test('SIGTERM while the apps are being built: a clean exit 0 without listening (a worker stopped then is not "unclean")', async (t) => {
  const { proc } = await spawn({});
  // The stores are open and the apps (routes, schemas, console) are being built: ~0.3 s idle, ~1 s on a loaded machine.
  t.ok(await logged(proc, 'stores in use'), 'the stores opened');
  const exit = await proc.stop('SIGTERM', 30_000);
  t.same(exit, { code: 0, signal: null }, 'exit 0, not killed by the signal');
  const logs = proc.jsonLines();
  const early = logs.some((l) => l.msg === 'stop asked for while starting: stopping without listening');
  const listened = logs.some((l) => l.msg === 'listening');
  t.comment(early ? 'the signal came while the apps were being built' : listened ? 'the signal came after the listeners opened (this machine was quick)' : 'no stop was logged');
  t.ok(early !== listened, 'either stopped before listening or after: never both, never neither');
  t.ok(
    logs.some((l) => l.msg === 'stopped'),
    'a clean stop is logged',
  );
});

t.test('WORKERS=2, SIGTERM while the workers are still starting: the primary exits 0', async (t) => {
  const { proc } = await spawn({ WORKERS: '2' });
  // The primary has opened the stores and forked its workers, which are loading (about a second).
  t.ok(await logged(proc, 'stores in use (primary process; workers reach them over IPC)'), 'the primary is up');
  const exit = await proc.stop('SIGTERM', 40_000);
  t.same(exit, { code: 0, signal: null }, 'exit 0: a worker stopped before it could serve is not an unclean stop');
  t.notOk(
    proc.jsonLines().some((l) => l.msg === 'workers did not stop in time'),
    'no timeout',
  );
});

// docs/contract.md "Operations": SIGHUP, SIGQUIT and SIGUSR2 stop a node as SIGTERM does (src/lib/stop-signals.ts).
t.test('SIGHUP stops one process as SIGTERM does: the graceful stop, exit 0', async (t) => {
  const s = await start({});
  const exit = await s.proc.stop('SIGHUP', 30_000);
  t.same(exit, { code: 0, signal: null }, 'exit 0, not killed by the signal');
  const logs = s.proc.jsonLines();
  t.ok(
    logs.some((l) => l.msg === 'shutting down: draining in-flight requests' && l.signal === 'SIGHUP'),
    'the drain ran for SIGHUP',
  );
  t.ok(
    logs.some((l) => l.msg === 'stopped'),
    'a clean stop is logged',
  );
});

for (const signal of ['SIGHUP', 'SIGQUIT', 'SIGUSR2'] as const) {
  t.test(`WORKERS=2, ${signal}: the primary passes it on, the workers drain, exit 0`, async (t) => {
    const s = await start({ WORKERS: '2' });
    const exit = await s.proc.stop(signal, 40_000);
    t.same(exit, { code: 0, signal: null }, 'exit 0, not killed by the signal');
    const logs = s.proc.jsonLines();
    const passedOn = logs.find((l) => l.msg === 'stopping workers' && l.signal === signal);
    t.ok(passedOn, 'the primary passed the signal on');
    t.notOk(
      logs.some((l) => l.msg === 'worker died; starting another'),
      'no worker was replaced',
    );
    // Workers log 'stopped' too: the primary's own line is the one with its pid.
    t.ok(
      logs.some((l) => l.msg === 'stopped' && l.pid === passedOn?.pid),
      'the primary closed its stores and logged a clean stop',
    );
  });
}
