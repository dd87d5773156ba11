import type { AuditEvent, AuditLog } from '../../src/storage/types.js';
import type { TestContext } from '../helpers/backends.js';

const T0 = 1_700_000_000_000;

function event(i: number, over: Partial<AuditEvent> = {}): AuditEvent {
  return {
    at: T0 + i,
    actor: i % 2 ? 'admin-token' : 'client:c1',
    action: `clients.action${i}`,
    target: i % 3 ? `client:c${i}` : null,
    outcome: i % 2 ? 'success' : 'failure',
    requestId: i % 3 ? `req-${i}` : null,
    detail: i % 2 ? { n: i, tags: ['a', 'b'], nested: { ok: true } } : null,
    ...over,
  };
}

/** The AuditLog contract. `open` returns an empty log. */
export function auditLogContract(t: TestContext, open: (t: TestContext) => Promise<AuditLog>): void {
  t.test('list returns events newest first, with ids, exactly as recorded', async (t) => {
    const log = await open(t);
    t.strictSame(await log.list(10, null), { items: [], nextCursor: null });
    for (let i = 0; i < 3; i++) await log.record(event(i));
    await log.record(event(3, { detail: undefined }));
    const page = await log.list(10, null);
    t.equal(page.nextCursor, null);
    const ids = page.items.map((e) => e.id);
    t.ok(
      ids.every((id) => typeof id === 'string' && id.length > 0),
      'every event has a string id',
    );
    t.equal(new Set(ids).size, 4, 'ids are distinct');
    t.strictSame(
      page.items.map(({ id: _id, ...rest }) => rest),
      [event(3, { detail: null }), event(2), event(1), event(0)],
    );
  });

  t.test('list pages with the cursor until it is null', async (t) => {
    const log = await open(t);
    for (let i = 0; i < 5; i++) await log.record(event(i));
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<AuditLog['list']>> = await log.list(2, cursor);
      pages.push(page.items.map((e) => e.action));
      cursor = page.nextCursor;
    } while (cursor !== null && pages.length < 10);
    t.strictSame(pages, [['clients.action4', 'clients.action3'], ['clients.action2', 'clients.action1'], ['clients.action0']]);
    const exact = await log.list(5, null);
    t.equal(exact.nextCursor, null, 'no next cursor when the page ends exactly at the last event');
  });

  t.test('prune deletes the events recorded before the given time, and only those', async (t) => {
    const log = await open(t);
    for (let i = 0; i < 5; i++) await log.record(event(i));
    await log.prune(T0);
    t.equal((await log.list(10, null)).items.length, 5, 'nothing is older than T0');
    await log.prune(T0 + 3);
    t.strictSame(
      (await log.list(10, null)).items.map((e) => e.action),
      ['clients.action4', 'clients.action3'],
    );
    await log.prune(T0 + 10);
    t.strictSame(await log.list(10, null), { items: [], nextCursor: null });
  });
}
