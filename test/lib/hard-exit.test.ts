import t from 'tap';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HARD_EXIT = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '../../src/lib/hard-exit.js')).href;

/** Runs an ES module snippet in a fresh node; resolves with how it ended and how long it took. */
function run(code: string, limitMs = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  const began = Date.now();
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: 'ignore' });
  const guard = setTimeout(() => child.kill('SIGKILL'), limitMs);
  return new Promise((resolve) =>
    child.on('exit', (c, s) => {
      clearTimeout(guard);
      resolve({ code: c, signal: s, ms: Date.now() - began });
    }),
  );
}

t.test('armHardExit kills a process whose main thread never yields', async (t) => {
  const r = await run(`import { armHardExit } from ${JSON.stringify(HARD_EXIT)}; armHardExit(300); for (;;) {}`);
  t.equal(r.signal, 'SIGKILL', 'killed by the watchdog');
  t.ok(r.ms < 10_000, `well before the test's own 20 s limit (${r.ms} ms)`);
});

t.test('armHardExit does not keep a process alive', async (t) => {
  const r = await run(`import { armHardExit } from ${JSON.stringify(HARD_EXIT)}; armHardExit(15_000);`);
  t.same({ code: r.code, signal: r.signal }, { code: 0, signal: null });
  t.ok(r.ms < 10_000, `exits without waiting for the watchdog (${r.ms} ms)`);
});
