import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';

/** The repository root: this file runs as dist/test/e2e/support.js. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const SERVER_ENTRY = join(ROOT, 'dist/src/server.cjs');

/** A free TCP port on 127.0.0.1 (bind to port 0, read it, release it). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartOptions {
  /** do not fail the test when the process does not exit 0 at teardown (e.g. after SIGKILL) */
  skipExitCheck?: boolean;
  /** how long to wait for GET /readyz → 200 (ms) */
  readyTimeoutMs?: number;
  /** how long teardown waits for the process to exit after SIGTERM before SIGKILL (ms) */
  stopTimeoutMs?: number;
}

export interface ServerHandle {
  /** public listener base URL, equal to the issuer */
  url: string;
  adminUrl: string;
  issuer: string;
  port: number;
  adminPort: number;
  dataDir: string;
  pid: number;
  child: ChildProcess;
  /** every line written so far: stdout and stderr, in arrival order */
  lines(): string[];
  stdoutLines(): string[];
  stderrLines(): string[];
  /** the raw stdout text (the admin-token banner is multi-line) */
  stdout(): string;
  /** stdout lines that parse as JSON objects (pino) */
  jsonLines(): Record<string, unknown>[];
  /** resolves when the process has exited */
  exited: Promise<ExitInfo>;
  exitInfo(): ExitInfo | null;
  /** sends `signal` (SIGTERM by default) and resolves with the exit code and signal */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ExitInfo>;
}

/** The minimal environment for a child (no inherited ADMIN_TOKEN, DATABASE_URL, REDIS_URL, NODE_ENV…). */
function baseEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'SYSTEMROOT', 'NODE_OPTIONS']) {
    const v = process.env[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * Spawns `node dist/src/server.cjs` as a real child process on free ports with a fresh DATA_DIR
 * (unless `env.DATA_DIR` is given), ISSUER=http://127.0.0.1:<port>, and waits for GET /readyz 200.
 * At teardown: SIGTERM, wait for exit, and fail unless the exit code is 0 (unless skipExitCheck).
 * Keys of `env` set to '' are removed from the child's environment.
 */
export async function startServer(t: Test, env: Record<string, string> = {}, options: StartOptions = {}): Promise<ServerHandle> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  let adminPort = env.ADMIN_PORT ? Number(env.ADMIN_PORT) : await freePort();
  while (adminPort === port && !env.ADMIN_PORT) adminPort = await freePort();
  const ownDataDir = env.DATA_DIR === undefined;
  const dataDir = env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'tokenmill-e2e-'));
  const issuer = env.ISSUER ?? `http://127.0.0.1:${port}`;
  const childEnv: Record<string, string> = {
    ...baseEnv(),
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    ...env,
    PORT: String(port),
    ADMIN_PORT: String(adminPort),
    ISSUER: issuer,
    DATA_DIR: dataDir,
  };
  for (const [k, v] of Object.entries(childEnv)) if (v === '') delete childEnv[k];

  const child = spawn(process.execPath, [SERVER_ENTRY], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  // If this test process ends abruptly (runner timeout), do not leave the server running.
  const reap = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', reap);
  child.once('close', () => process.removeListener('exit', reap));
  const all: string[] = [];
  const out: string[] = [];
  const err: string[] = [];
  let stdoutText = '';
  const collect = (stream: NodeJS.ReadableStream, into: string[], raw: boolean) => {
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      if (raw) stdoutText += chunk;
      pending += chunk;
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const line of parts) {
        into.push(line);
        all.push(line);
      }
    });
    stream.on('end', () => {
      if (pending) {
        into.push(pending);
        all.push(pending);
        pending = '';
      }
    });
  };
  collect(child.stdout!, out, true);
  collect(child.stderr!, err, false);

  let exit: ExitInfo | null = null;
  const exited = new Promise<ExitInfo>((resolveExit) => {
    child.on('exit', (code, signal) => {
      exit = { code, signal };
    });
    // 'close' fires after the stdio streams ended, so every line has been collected.
    child.on('close', (code, signal) => {
      exit = { code, signal };
      resolveExit(exit);
    });
  });

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = options.stopTimeoutMs ?? 30_000): Promise<ExitInfo> => {
    if (exit === null && child.exitCode === null && child.signalCode === null) child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
    const result = await Promise.race([exited, timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`tokenmill (pid ${child.pid}) did not exit within ${timeoutMs} ms of ${signal}; killed`);
    }
    return result;
  };

  const handle: ServerHandle = {
    url: `http://127.0.0.1:${port}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    issuer,
    port,
    adminPort,
    dataDir,
    pid: child.pid ?? -1,
    child,
    lines: () => [...all],
    stdoutLines: () => [...out],
    stderrLines: () => [...err],
    stdout: () => stdoutText,
    jsonLines: () => {
      const objs: Record<string, unknown>[] = [];
      for (const l of out) {
        if (!l.startsWith('{')) continue;
        try {
          const v: unknown = JSON.parse(l);
          if (v && typeof v === 'object' && !Array.isArray(v)) objs.push(v as Record<string, unknown>);
        } catch {
          /* not JSON */
        }
      }
      return objs;
    },
    exited,
    exitInfo: () => exit,
    stop,
  };

  t.teardown(async () => {
    let info: ExitInfo;
    try {
      info = await stop('SIGTERM');
    } finally {
      if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
    }
    if (!options.skipExitCheck && info.code !== 0) {
      // Thrown (not asserted): tap turns an error in teardown into a failure of the test.
      throw new Error(`tokenmill exited with code ${info.code} signal ${info.signal}, expected 0; last output:\n${all.slice(-15).join('\n')}`);
    }
  });

  await waitReady(handle, options.readyTimeoutMs ?? 60_000);
  return handle;
}

/** Polls GET /readyz until 200; fails fast if the process exits. */
export async function waitReady(h: ServerHandle, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (h.exitInfo()) throw new Error(`tokenmill exited before it was ready (${JSON.stringify(h.exitInfo())}):\n${h.lines().slice(-20).join('\n')}`);
    try {
      const res = await fetch(`${h.url}/readyz`, { signal: AbortSignal.timeout(2000) });
      last = `${res.status} ${await res.text()}`;
      if (res.status === 200) return;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`tokenmill was not ready within ${timeoutMs} ms (last: ${last}):\n${h.lines().slice(-20).join('\n')}`);
}

/** The public JSON metadata of a running server. */
export async function fetchJson(url: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: any; text: string }> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: any = undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body, text };
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

/** RFC 6749 §2.3.1 Basic credentials (form-urlencoded halves). */
export const basicAuth = (id: string, secret: string): string =>
  'Basic ' + Buffer.from(`${encodeURIComponent(id).replace(/%20/g, '+')}:${encodeURIComponent(secret).replace(/%20/g, '+')}`).toString('base64');
