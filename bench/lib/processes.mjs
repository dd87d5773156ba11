// Child processes, temporary directories and clean-up (also on a signal), ports and readiness. (Part of bench/run.mjs.)
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { ROOT } from './constants.mjs';

export const live = new Set(); // {name, child}
export const tempDirs = [];
export const asyncCleanups = []; // async functions run (in reverse) after the processes are stopped
export let cleaning = null;

export function log(...args) {
  process.stderr.write(`[bench] ${args.join(' ')}\n`);
}

export function track(name, child) {
  const entry = { name, child, exited: false };
  entry.done = new Promise((res) =>
    child.once('exit', (code, signal) => {
      entry.exited = true;
      entry.code = code;
      entry.signal = signal;
      live.delete(entry);
      res();
    }),
  );
  child.once('error', (err) => {
    entry.error = err;
  });
  live.add(entry);
  return entry;
}

export async function stopProcess(entry, graceMs = 8000) {
  if (entry.exited) return;
  try {
    entry.child.kill('SIGTERM');
  } catch {
    /* gone */
  }
  const t = setTimeout(() => {
    try {
      entry.child.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }, graceMs);
  await entry.done;
  clearTimeout(t);
}

export async function cleanup() {
  cleaning ??= (async () => {
    await Promise.all([...live].map((e) => stopProcess(e)));
    for (const fn of asyncCleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        log(`clean-up step failed: ${err.message}`);
      }
    }
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  })();
  return cleaning;
}

process.on('exit', () => {
  for (const e of live) {
    try {
      e.child.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const d of tempDirs) {
    try {
      rmSync(d, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }
});
export let interrupted = 0;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (interrupted++) process.exit(130);
    log(`${sig}: stopping everything this run started and removing its temporary files…`);
    cleanup().finally(() => process.exit(130));
  });
}

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function tail(file, n = 15) {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .slice(-n - 1)
      .join('\n');
  } catch {
    return '';
  }
}

/** Spawns a long-running server whose stdout and stderr go to logFile (appended, so it can be truncated). */
export function startServer(name, args, { env, cwd = ROOT, logFile }) {
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const entry = track(name, child);
  entry.logFile = logFile;
  return entry;
}

export async function waitReady(entry, url, timeoutMs = 90_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (entry.exited) throw new Error(`${entry.name} exited (code ${entry.code}, signal ${entry.signal}) before it was ready:\n${tail(entry.logFile)}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (r.status < 500) {
        await r.arrayBuffer();
        return;
      }
    } catch {
      /* not yet */
    }
    await sleep(200);
  }
  throw new Error(`${entry.name} not ready after ${timeoutMs / 1000} s:\n${tail(entry.logFile)}`);
}
