// Issue 10 (trust boundaries): unauthenticated refusals are audited as one row per source, action
// and minute, with a count, and the aggregator's memory is bounded whatever the callers send.
import t from 'tap';
import { heapUsedAfterGc } from '../helpers/heap.js';
import { OTHER_SOURCE, RefusalAudit } from '../../src/lib/refusal-audit.js';
import type { AuditEvent, AuditLog } from '../../src/storage/types.js';
import { TestClock } from '../helper.js';

function fakeLog(): { log: AuditLog; rows: AuditEvent[] } {
  const rows: AuditEvent[] = [];
  const log = {
    async record(e: AuditEvent) {
      rows.push(e);
    },
  } as unknown as AuditLog;
  return { log, rows };
}
const refusal = (source: string, i = 0) => ({ actor: 'unauthenticated', action: 'client.list', source, status: 401, requestId: `req-${i}` });
const MINUTE = 60_000;

t.test('200 refusals from one source in one minute: one row with count 200, written when the minute ends', async (t) => {
  const { log, rows } = fakeLog();
  const clock = new TestClock(Date.UTC(2026, 10, 23, 12, 0, 10));
  const agg = new RefusalAudit(log, clock);
  t.teardown(() => agg.close());
  for (let i = 0; i < 200; i++) agg.record(refusal('203.0.113.7', i));
  await new Promise((r) => setImmediate(r));
  t.equal(rows.length, 0, 'nothing written while the minute lasts');
  await agg.flush();
  t.strictSame(rows, [
    {
      at: Date.UTC(2026, 10, 23, 12, 0, 0),
      actor: 'unauthenticated',
      action: 'client.list',
      target: null,
      outcome: 'failure',
      requestId: 'req-0',
      detail: { status: 401, source: '203.0.113.7', count: 200 },
    },
  ]);
  rows.length = 0;
  clock.advance(30_000);
  agg.record(refusal('203.0.113.7', 1));
  agg.record(refusal('198.51.100.1', 2));
  clock.advance(MINUTE);
  agg.record(refusal('203.0.113.7', 3));
  await new Promise((r) => setImmediate(r));
  t.strictSame(
    rows.map((r) => [r.at, r.detail]),
    [
      [Date.UTC(2026, 10, 23, 12, 0, 0), { status: 401, source: '203.0.113.7', count: 1 }],
      [Date.UTC(2026, 10, 23, 12, 0, 0), { status: 401, source: '198.51.100.1', count: 1 }],
    ],
    'the next refusal after the minute ended wrote the finished window, one row per source',
  );
  await agg.close();
  t.equal(rows.length, 3, 'close writes the open window');
});

t.test('100,000 distinct sources: at most 1,000 rows plus one "other" row; heap growth < 2 MB', async (t) => {
  const { log, rows } = fakeLog();
  const clock = new TestClock();
  const agg = new RefusalAudit(log, clock);
  t.teardown(() => agg.close());
  const before = await heapUsedAfterGc();
  for (let i = 0; i < 100_000; i++) agg.record(refusal(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, i));
  const grown = (await heapUsedAfterGc()) - before;
  t.comment(`aggregator heap growth for 100,000 sources: ${(grown / 1024 / 1024).toFixed(2)} MB`);
  t.ok(grown < 2 * 1024 * 1024, `heap grew ${(grown / 1024 / 1024).toFixed(2)} MB, bound 2 MB`);
  t.equal(agg.size(), 1_001);
  await agg.flush();
  t.equal(rows.length, 1_001, 'one row per source up to 1,000, then one for the rest');
  const other = rows.find((r) => r.detail?.source === OTHER_SOURCE);
  t.equal(other?.detail?.count, 99_000);
  t.equal(
    rows.reduce((n, r) => n + Number(r.detail?.count), 0),
    100_000,
    'every refusal counted once',
  );
});

t.test('a failing audit write is logged and dropped: nothing accumulates', async (t) => {
  const warnings: string[] = [];
  const log = { record: async () => Promise.reject(new Error('database down')) } as unknown as AuditLog;
  const agg = new RefusalAudit(log, new TestClock(), { logger: { warn: (_o, msg) => void warnings.push(msg) } });
  agg.record(refusal('203.0.113.7'));
  await agg.close();
  t.equal(agg.size(), 0);
  t.strictSame(warnings, ['audit write failed']);
});
