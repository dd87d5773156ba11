// The listeners of a production process (contract "Running it"): HTTPS served by tokenmill itself when
// TLS_CERT_FILE / TLS_KEY_FILE are set, on both listeners; no plain HTTP otherwise unless behind a
// trusted proxy; and the admin listener on ADMIN_HOST (127.0.0.1 by default), so a public HOST does
// not expose the admin API or /metrics. Loopback only: 127.0.0.2 stands in for a public address.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import t from 'tap';
import { serverEnv, serverPorts, spawnServer, type ServerProcess } from '../helpers/server-process.js';
import { sleep } from '../helpers/time.js';
import { selfSignedCertificate } from '../helpers/tls.js';

t.setTimeout(180_000);

const ADMIN_TOKEN = randomBytes(48).toString('base64');
const KEK = randomBytes(32).toString('base64url');
const cert = selfSignedCertificate();
t.teardown(cert.remove);

interface Answer {
  status: number;
  body: string;
  tls: boolean;
}

/** GET over HTTPS trusting only the test certificate. */
function httpsGet(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: cert.cert, headers, timeout: 5000 }, (res) => {
      const tls = (res.socket as TLSSocket).encrypted === true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, tls }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

async function waitHttpsReady(url: string, proc: ServerProcess): Promise<void> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (proc.exitInfo()) throw new Error(`the server exited: ${proc.lines().slice(-20).join('\n')}`);
    try {
      if ((await httpsGet(`${url}/readyz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`not ready: ${proc.lines().slice(-20).join('\n')}`);
    await sleep(250);
  }
}

t.test('production with TLS files: HTTPS on both listeners, the admin listener on 127.0.0.1 only', async (t) => {
  const { port, adminPort } = await serverPorts({});
  const dataDir = mkdtempSync(join(tmpdir(), 'tokenmill-tls-e2e-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const issuer = `https://127.0.0.2:${port}`;
  const proc = spawnServer(
    serverEnv({
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.2',
      PORT: String(port),
      ADMIN_PORT: String(adminPort),
      ISSUER: issuer,
      ADMIN_TOKEN,
      KEY_ENCRYPTION_KEY: KEK,
      DATA_DIR: dataDir,
      TLS_CERT_FILE: cert.certFile,
      TLS_KEY_FILE: cert.keyFile,
    }),
    { reapOnExit: true, onStopTimeout: 'throw' },
  );
  t.teardown(async () => {
    const { code } = await proc.stop('SIGTERM');
    if (code !== 0) throw new Error(`server exited ${code}:\n${proc.lines().slice(-40).join('\n')}`);
  });
  await waitHttpsReady(issuer, proc);

  const meta = await httpsGet(`${issuer}/.well-known/oauth-authorization-server`);
  t.equal(meta.status, 200, 'the public listener serves HTTPS');
  t.equal(meta.tls, true);
  t.equal((JSON.parse(meta.body) as { issuer: string }).issuer, issuer);

  const admin = await httpsGet(`https://127.0.0.1:${adminPort}/admin/v1/clients`, { authorization: `Bearer ${ADMIN_TOKEN}` });
  t.equal(admin.status, 200, 'the admin listener serves HTTPS on ADMIN_HOST 127.0.0.1');
  t.equal((await httpsGet(`https://127.0.0.1:${adminPort}/metrics`)).status, 200, '/metrics on the admin listener');

  await t.rejects(httpsGet(`https://127.0.0.2:${adminPort}/healthz`), { code: 'ECONNREFUSED' }, 'nothing listens on HOST at ADMIN_PORT');
  await t.rejects(httpsGet(`https://127.0.0.1:${port}/healthz`), { code: 'ECONNREFUSED' }, 'the public listener is on HOST only');
  await t.rejects(fetch(`http://127.0.0.2:${port}/healthz`, { signal: AbortSignal.timeout(5000) }), 'no plain HTTP on the public port');
  await t.rejects(fetch(`http://127.0.0.1:${adminPort}/healthz`, { signal: AbortSignal.timeout(5000) }), 'no plain HTTP on the admin port');
});

t.test('production without TLS files or TRUST_PROXY does not start, and says what to set', async (t) => {
  const { port, adminPort } = await serverPorts({});
  const proc = spawnServer(
    serverEnv({
      NODE_ENV: 'production',
      PORT: String(port),
      ADMIN_PORT: String(adminPort),
      ISSUER: 'https://auth.example.com',
      ADMIN_TOKEN,
      KEY_ENCRYPTION_KEY: KEK,
      DATA_DIR: join(tmpdir(), 'tokenmill-never-created'),
    }),
    { reapOnExit: true, onStopTimeout: 'throw' },
  );
  const { code } = await proc.exited;
  t.equal(code, 2, 'exit 2, a configuration error');
  t.match(proc.stderrLines().join('\n'), /^tokenmill: no TLS: .*TLS_CERT_FILE and TLS_KEY_FILE.*TRUST_PROXY=true/m);
});
