// What the real-process suites (test/e2e, test/fleet) share: `node dist/src/server.cjs` as a child
// process on free ports, its output collected line by line, stopping it with a signal, polling
// GET /readyz, and small HTTP helpers. Each suite's support.ts adds its own handle shape, temp
// directories and teardown policy on top.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from './time.js';

/** The repository root: this file runs as dist/test/helpers/server-process.js. */
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

/** PORT and ADMIN_PORT from `env` when given, otherwise two distinct free ports. */
export async function serverPorts(env: Record<string, string>): Promise<{ port: number; adminPort: number }> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  let adminPort = env.ADMIN_PORT ? Number(env.ADMIN_PORT) : await freePort();
  while (adminPort === port && !env.ADMIN_PORT) adminPort = await freePort();
  return { port, adminPort };
}

/** PATH, HOME, TMPDIR, LANG and `extra` from this process, where set: all a child needs to run. */
export function inheritedEnv(extra: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG', ...extra]) {
    const v = process.env[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

export interface ServerEnvLayers {
  /** variables inherited from this process besides PATH, HOME, TMPDIR and LANG */
  inherit?: readonly string[];
  /** defaults that `env` may override */
  defaults?: Record<string, string>;
  /** values that override `env` */
  forced?: Record<string, string>;
}

/**
 * A child's environment: only PATH, HOME, TMPDIR, LANG (and `inherit`) from this process (no
 * ADMIN_TOKEN, DATABASE_URL, REDIS_URL, NODE_ENV… leak in), then NODE_ENV=development,
 * HOST=127.0.0.1, LOG_LEVEL=info, AUTH_FAILURE_MAX=1000000 and `defaults`, then `env`, then `forced`. Keys set to '' are removed.
 */
export function serverEnv(env: Record<string, string>, layers: ServerEnvLayers = {}): Record<string, string> {
  const out: Record<string, string> = {
    ...inheritedEnv(layers.inherit),
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    // The failed-authentication limit counts but is out of reach: suites send many failures from 127.0.0.1.
    AUTH_FAILURE_MAX: '1000000',
    ...layers.defaults,
    ...env,
    ...layers.forced,
  };
  for (const [k, v] of Object.entries(out)) if (v === '') delete out[k];
  return out;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnServerOptions {
  /** SIGKILL the child if this test process exits while it still runs (e.g. a runner timeout) */
  reapOnExit?: boolean;
  /** the default of `stop()`'s timeoutMs (30 s) */
  stopTimeoutMs?: number;
  /**
   * What `stop()` does when the process outlives its timeout: it always sends SIGKILL and waits,
   * then 'throw' rejects with an error, 'report' resolves with the exit and `code: -1`.
   */
  onStopTimeout: 'throw' | 'report';
  /** Node options before the entry (default none: `node dist/src/server.cjs`, as a user may run it) */
  nodeArgs?: readonly string[];
}

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  /** every line written so far: stdout and stderr, in arrival order */
  lines(): string[];
  stdoutLines(): string[];
  stderrLines(): string[];
  /** the raw stdout text (the admin-token banner is multi-line) */
  stdout(): string;
  /** stdout lines that parse as JSON objects (pino) */
  jsonLines(): Record<string, unknown>[];
  /** resolves when the process has exited and its output has been collected */
  exited: Promise<ExitInfo>;
  exitInfo(): ExitInfo | null;
  /** sends `signal` (SIGTERM by default) and resolves with the exit code and signal (SIGKILL after `timeoutMs`) */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ExitInfo>;
}

/** Spawns `node dist/src/server.cjs` with exactly `env` and collects its output. Does not wait. */
export function spawnServer(env: Record<string, string>, options: SpawnServerOptions): ServerProcess {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), SERVER_ENTRY], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (options.reapOnExit) {
    const reap = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    process.once('exit', reap);
    child.once('close', () => process.removeListener('exit', reap));
  }
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
    if (result !== 'timeout') return result;
    child.kill('SIGKILL');
    const killed = await exited;
    if (options.onStopTimeout === 'report') return { ...killed, code: -1 };
    throw new Error(`tokenmill (pid ${child.pid}) did not exit within ${timeoutMs} ms of ${signal}; killed`);
  };

  return {
    child,
    pid: child.pid ?? -1,
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
}

/** What `waitReady` polls: a base URL and the process behind it. */
export interface ReadyTarget {
  url: string;
  /** named in errors ('tokenmill' when absent) */
  name?: string;
  exitInfo(): ExitInfo | null;
  lines(): string[];
}

/** Polls GET /readyz until 200; throws with the last output if the process exits or time runs out. */
export async function waitReady(target: ReadyTarget, timeoutMs = 180_000): Promise<void> {
  const name = target.name ?? 'tokenmill';
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (target.exitInfo()) throw new Error(`${name} exited before it was ready (${JSON.stringify(target.exitInfo())}):\n${target.lines().slice(-20).join('\n')}`);
    try {
      const res = await fetch(`${target.url}/readyz`, { signal: AbortSignal.timeout(2000) });
      last = `${res.status} ${await res.text()}`;
      if (res.status === 200) return;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`${name} was not ready within ${timeoutMs} ms (last: ${last}):\n${target.lines().slice(-20).join('\n')}`);
}

// ---- HTTP ----------------------------------------------------------------------------------------

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

/** fetch, reading the body as text and as JSON when it parses; `timeoutMs` applies unless `init.signal` is given. */
export async function fetchJson(url: string, init?: RequestInit, timeoutMs?: number): Promise<JsonResponse> {
  const res = await fetch(url, timeoutMs === undefined ? init : { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let body: any;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** RFC 6749 §2.3.1 Basic credentials (form-urlencoded halves). */
export { basicCredentials as basicAuth } from '@tokenmill/verify/protocol';

/** Linux only: the command line of process `pid`, one argument per element (`/proc/PID/cmdline`). */
export function commandLine(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    .split('\0')
    .filter((a) => a !== '');
}

/** Linux only: the pids whose parent is `pid` (`/proc/PID/stat`; a process that exits meanwhile is skipped). */
export function childPids(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}
