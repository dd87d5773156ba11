import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { VerifyError, type Verifier } from '@tokenmill/verify';
import { ADMIN_TOKEN, basic, form } from '../helper.js';
import { fetchJson, serverEnv, serverPorts, spawnServer, waitReady, type ExitInfo, type ServerProcess } from '../helpers/server-process.js';

export { basicAuth, fetchJson, freePort } from '../helpers/server-process.js';

export interface StartOptions {
  /** do not fail the test when the process does not exit 0 at teardown (e.g. after SIGKILL) */
  skipExitCheck?: boolean;
  /** how long to wait for GET /readyz → 200 (ms) */
  readyTimeoutMs?: number;
  /** how long teardown waits for the process to exit after SIGTERM before SIGKILL (ms) */
  stopTimeoutMs?: number;
  /** Node options before the entry (e.g. those of `npm start`) */
  nodeArgs?: readonly string[];
}

export interface ServerHandle extends ServerProcess {
  /** public listener base URL, equal to the issuer */
  url: string;
  adminUrl: string;
  issuer: string;
  port: number;
  adminPort: number;
  dataDir: string;
}

/**
 * Spawns `node dist/src/server.cjs` as a real child process on free ports with a fresh DATA_DIR
 * (unless `env.DATA_DIR` is given), ISSUER=http://127.0.0.1:<port>, and waits for GET /readyz 200.
 * At teardown: SIGTERM, wait for exit, and fail unless the exit code is 0 (unless skipExitCheck).
 * `stop()` throws when the process outlives its timeout (it is SIGKILLed first).
 * Keys of `env` set to '' are removed from the child's environment.
 */
export async function startServer(t: Test, env: Record<string, string> = {}, options: StartOptions = {}): Promise<ServerHandle> {
  const { port, adminPort } = await serverPorts(env);
  const ownDataDir = env.DATA_DIR === undefined;
  const dataDir = env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'tokenmill-e2e-'));
  const issuer = env.ISSUER ?? `http://127.0.0.1:${port}`;
  const childEnv = serverEnv(env, {
    inherit: ['SYSTEMROOT', 'NODE_OPTIONS'],
    forced: { PORT: String(port), ADMIN_PORT: String(adminPort), ISSUER: issuer, DATA_DIR: dataDir },
  });
  const proc = spawnServer(childEnv, { reapOnExit: true, onStopTimeout: 'throw', stopTimeoutMs: options.stopTimeoutMs, nodeArgs: options.nodeArgs });
  const handle: ServerHandle = {
    ...proc,
    url: `http://127.0.0.1:${port}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    issuer,
    port,
    adminPort,
    dataDir,
  };

  t.teardown(async () => {
    let info: ExitInfo;
    try {
      info = await proc.stop('SIGTERM');
    } finally {
      if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
    }
    if (!options.skipExitCheck && info.code !== 0) {
      // Thrown (not asserted): tap turns an error in teardown into a failure of the test.
      throw new Error(`tokenmill exited with code ${info.code} signal ${info.signal}, expected 0; last output:\n${proc.lines().slice(-15).join('\n')}`);
    }
  });

  await waitReady(handle, options.readyTimeoutMs ?? 180_000);
  return handle;
}

/** Registers a client through POST /oauth2/register with the given initial access token. */
export async function registerClient(baseUrl: string, adminToken: string, metadata: Record<string, unknown>): Promise<any> {
  const res = await fetchJson(`${baseUrl}/oauth2/register`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(metadata),
  });
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${res.text}`);
  return res.body;
}

/** A client registered over HTTP at `base` with the test admin token (201, or throws). */
export async function registerOverHttp(base: string, metadata: Record<string, unknown>): Promise<{ client_id: string; client_secret: string }> {
  const res = await fetch(`${base}/oauth2/register`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(metadata) });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
  return (await res.json()) as { client_id: string; client_secret: string };
}

/** A client_credentials access token (scope api:read) over HTTP at `base` (200, or throws). */
export async function tokenOverHttp(base: string, c: { client_id: string; client_secret: string }): Promise<string> {
  const res = await fetch(`${base}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: basic(c.client_id, c.client_secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: form({ grant_type: 'client_credentials', scope: 'api:read' }),
  });
  if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** Milliseconds until `verify` refuses the token with 401 invalid_token (polling every 5 ms, up to 3 s). */
export async function msUntilRefused(verifier: Verifier, tok: string, since: number): Promise<number> {
  while (Date.now() - since < 3000) {
    try {
      await verifier.verify(tok);
    } catch (err) {
      if (err instanceof VerifyError && err.status === 401 && err.code === 'invalid_token') return Date.now() - since;
      throw err;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return Infinity;
}
