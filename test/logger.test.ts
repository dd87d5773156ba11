// The log line's `time` field (src/logger.ts): formatted once per millisecond, and always what
// pino's own isoTime would write for that millisecond, also when the clock steps back.
import { Writable } from 'node:stream';
import t from 'tap';
import { createLogger, isoTimeField } from '../src/logger.js';

const expected = (ms: number) => `,"time":"${new Date(ms).toISOString()}"`;

t.test('every millisecond gets its own ISO 8601 time, in any order', async (t) => {
  const base = Date.parse('2026-12-03T10:00:00.998Z');
  for (const ms of [base, base, base + 1, base + 2, base + 2, base - 5000, base + 86_400_000, 0, base]) {
    t.equal(isoTimeField(ms), expected(ms), `time for ${ms}`);
  }
});

t.test('a logger line carries the current time as an ISO string pino can parse back', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger('info', sink);
  const before = Date.now();
  logger.info({ a: 1 }, 'first');
  logger.info('second');
  const after = Date.now();
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(lines.length, 2);
  for (const line of lines) {
    const parsed = JSON.parse(line) as { time: string; level: number };
    t.match(parsed.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const ms = Date.parse(parsed.time);
    t.ok(ms >= before && ms <= after, `time ${parsed.time} is within the call`);
    t.equal(parsed.level, 30);
  }
});
