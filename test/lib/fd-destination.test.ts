import t from 'tap';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FdDestination } from '../../src/lib/fd-destination.js';

t.test('writes every line, in order, and flush calls back once they are written', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenmill-fd-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'log');
  const fd = openSync(file, 'w');
  const dest = new FdDestination(fd);
  const lines = Array.from({ length: 500 }, (_, i) => `{"n":${i},"s":"é✓"}\n`);
  for (const l of lines) dest.write(l);
  await new Promise<void>((r) => dest.flush(() => r()));
  closeSync(fd);
  t.equal(readFileSync(file, 'utf8'), lines.join(''));
  t.equal(dest.failure, null);
});

t.test('lines reach the descriptor on their own, in one batch, without a flush', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenmill-fd-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'log');
  const fd = openSync(file, 'w');
  t.teardown(() => closeSync(fd));
  const dest = new FdDestination(fd);
  dest.write('{"a":1}\n');
  dest.write('{"b":2}\n');
  let text = '';
  for (let i = 0; i < 100 && text.length < 16; i++) {
    await new Promise((r) => setTimeout(r, 10));
    text = readFileSync(file, 'utf8');
  }
  t.equal(text, '{"a":1}\n{"b":2}\n');
  dest.write('{"c":3}\n');
  await new Promise<void>((r) => dest.flush(() => r()));
  t.equal(readFileSync(file, 'utf8'), '{"a":1}\n{"b":2}\n{"c":3}\n', 'a flush does not wait for the batch interval');
});

t.test('a broken pipe (EPIPE): flushSync gives up at once, logging stops for good, flush calls back', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenmill-fd-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const readEnd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writeEnd = openSync(fifo, constants.O_WRONLY);
  t.teardown(() => closeSync(writeEnd));
  closeSync(readEnd); // the reader is gone: every write fails with EPIPE

  const failures: string[] = [];
  const dest = new FdDestination(writeEnd, (err) => failures.push(err.code ?? err.message));
  dest.write('{"first":true}\n'); // goes out asynchronously …
  dest.write('{"second":true}\n'); // … and this one waits for it
  const began = Date.now();
  dest.flushSync(); // what runs at process exit: sonic-boom's retried EPIPE forever here
  t.ok(Date.now() - began < 500, `flushSync returned (${Date.now() - began} ms)`);
  t.equal(dest.failure?.code, 'EPIPE');
  await new Promise<void>((r) => dest.flush(() => r()));
  for (let i = 0; i < 100; i++) dest.write('{"more":true}\n');
  await new Promise<void>((r) => dest.flush(() => r()));
  dest.flushSync();
  t.same(failures, ['EPIPE'], 'reported once');
});

t.test('a reader that stopped reading: what is held stays under 16 MB, the rest is dropped and counted', async (t) => {
  // What a flood of requests can make the server keep while its stdout is stalled (REQ-O1's log line
  // per request): at most MAX_PENDING_BYTES of text, whatever the batching.
  const dir = mkdtempSync(join(tmpdir(), 'tokenmill-fd-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const readEnd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK); // open, never read
  const writeEnd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  const dest = new FdDestination(writeEnd);
  const line = `${JSON.stringify({ msg: 'request', pad: 'x'.repeat(1000) })}\n`;
  const lines = Math.ceil((20 * 1024 * 1024) / line.length); // 20 MB of log text
  for (let i = 0; i < lines; i++) dest.write(line);
  t.ok(dest.dropped > 0, `lines past the bound are dropped (${dest.dropped} of ${lines})`);
  t.ok(dest.dropped <= lines - Math.floor((16 * 1024 * 1024) / line.length) + 1, 'only those past 16 MB (plus what the pipe took)');
  t.equal(dest.failure, null, 'a full pipe is not a failure');
  // The reader goes away: the pending retry fails with EPIPE and logging stops, releasing what it held.
  closeSync(readEnd);
  for (let i = 0; i < 100 && dest.failure === null; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(dest.failure?.code, 'EPIPE');
  closeSync(writeEnd);
});
