import type { RevocationEvent, RevocationStore } from '../../src/storage/types.js';
import type { TestContext } from '../helpers/backends.js';
import { sleepPast } from '../helpers/time.js';

/** Real time: Redis enforces TTLs on its own clock, so expiry tests wait for real seconds. */
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Margin past an expiry for Redis' own expiry (ms). */
const EXPIRY_MARGIN_MS = 150;

/**
 * The RevocationStore contract (memory and Redis). `open` returns an empty, seeded store whose
 * clock is the wall clock.
 */
export function revocationStoreContract(t: TestContext, open: (t: TestContext) => Promise<RevocationStore>): void {
  t.test('a revoked jti is revoked whatever the client and iat', async (t) => {
    const s = await open(t);
    const now = nowSeconds();
    await s.revokeToken('j1', now + 600, 'c1');
    await s.revokeToken('j2', now + 600, null);
    t.equal(await s.isRevoked('j1', 'c1', now - 10), true);
    t.equal(await s.isRevoked('j1', 'other', now + 10), true);
    t.equal(await s.isRevoked('j2', 'c9', now), true);
    t.equal(await s.isRevoked('j3', 'c1', now), false);
    await s.revokeToken('j1', now + 600, 'c1');
    t.equal(await s.isRevoked('j1', 'c1', now), true, 'revoking twice is harmless');
  });

  t.test('a client-wide revocation covers tokens issued strictly before revokedBefore', async (t) => {
    const s = await open(t);
    const now = nowSeconds();
    await s.revokeClient('c1', now, now + 600);
    t.equal(await s.isRevoked('j', 'c1', now - 1), true);
    t.equal(await s.isRevoked('j', 'c1', now), false, 'iat == revokedBefore is not covered');
    t.equal(await s.isRevoked('j', 'c1', now + 1), false);
    t.equal(await s.isRevoked('j', 'c2', now - 1), false, 'other clients are not affected');
    await s.revokeClient('c1', now - 100, now + 600);
    t.equal(await s.isRevoked('j', 'c1', now - 1), true, 'an earlier revokedBefore never lowers the later one');
    await s.revokeClient('c1', now + 50, now + 600);
    t.equal(await s.isRevoked('j', 'c1', now + 49), true, 'a later revokedBefore raises it');
    t.equal(await s.isRevoked('j', 'c1', now + 50), false);
  });

  t.test('revocations lapse at exp / until and leave the feed', async (t) => {
    const s = await open(t);
    const now = nowSeconds();
    const lasting: RevocationEvent = { type: 'token', jti: 'long', exp: now + 3600, clientId: 'c1' };
    await s.revokeToken('short', now + 1, 'c1');
    await s.revokeClient('c2', now + 100, now + 1);
    await s.revokeToken(lasting.jti, lasting.exp, lasting.clientId);
    t.equal(await s.isRevoked('short', 'c1', now), true);
    t.equal(await s.isRevoked('x', 'c2', now), true);
    await sleepPast(now + 1, EXPIRY_MARGIN_MS);
    t.equal(await s.isRevoked('short', 'c1', now), false, 'a token revocation ends at exp');
    t.equal(await s.isRevoked('x', 'c2', now), false, 'a client revocation ends at until');
    t.equal(await s.isRevoked('long', 'c1', now), true);
    const page = await s.feed(null, 100);
    t.strictSame(page.events, [lasting], 'lapsed events are not in the feed');
  });

  t.test('feed: a snapshot first, then exact pages after the cursor', async (t) => {
    const s = await open(t);
    const now = nowSeconds();
    const first = await s.feed(null, 10);
    t.strictSame(first.events, []);
    t.equal(first.snapshot, true);
    t.type(first.cursor, 'string');
    const events: RevocationEvent[] = [
      { type: 'token', jti: 'j1', exp: now + 600, clientId: 'c1' },
      { type: 'token', jti: 'j2', exp: now + 601, clientId: null },
      { type: 'client', clientId: 'c3', revokedBefore: now, until: now + 700 },
      { type: 'token', jti: 'j4', exp: now + 602, clientId: 'c3' },
      { type: 'token', jti: 'j5', exp: now + 603, clientId: 'c1' },
    ];
    for (const e of events) {
      if (e.type === 'token') await s.revokeToken(e.jti, e.exp, e.clientId);
      else await s.revokeClient(e.clientId, e.revokedBefore, e.until);
    }
    const pages: RevocationEvent[][] = [];
    let cursor = first.cursor;
    for (let i = 0; i < 4; i++) {
      const page = await s.feed(cursor, 2);
      t.equal(page.snapshot, false, `page ${i} is incremental`);
      pages.push(page.events);
      cursor = page.cursor;
    }
    t.strictSame(pages, [events.slice(0, 2), events.slice(2, 4), events.slice(4), []]);
    const caughtUp = await s.feed(cursor, 2);
    t.strictSame(caughtUp, { events: [], cursor, snapshot: false, hasMore: false }, 'a caught-up cursor stays where it is');
    const snapshot = await s.feed(null, 10);
    t.strictSame(snapshot, { events, cursor, snapshot: true, hasMore: false }, 'a snapshot holds every live event within the limit');
    await s.revokeToken('j6', now + 604, null);
    t.strictSame(await s.feed(cursor, 10), {
      events: [{ type: 'token', jti: 'j6', exp: now + 604, clientId: null }],
      cursor: (await s.feed(null, 10)).cursor,
      snapshot: false,
      hasMore: false,
    });
  });

  t.test('feed: a snapshot honours limit; following its cursor yields every event exactly once', async (t) => {
    const s = await open(t);
    const now = nowSeconds();
    const events: RevocationEvent[] = [];
    for (let i = 0; i < 5; i++) events.push({ type: 'token', jti: `j${i}`, exp: now + 600 + i, clientId: null });
    for (const e of events) if (e.type === 'token') await s.revokeToken(e.jti, e.exp, e.clientId);
    let page = await s.feed(null, 2);
    t.equal(page.snapshot, true, 'the first page is a snapshot');
    t.equal(page.events.length, 2, 'of at most limit events');
    t.equal(page.hasMore, true);
    const seen = [...page.events];
    for (let i = 0; page.hasMore && i < 10; i++) {
      page = await s.feed(page.cursor, 2);
      t.equal(page.snapshot, false, 'the snapshot continues with incremental pages');
      t.ok(page.events.length <= 2);
      seen.push(...page.events);
    }
    t.strictSame(seen, events, 'every event once, in order');
    t.equal(page.hasMore, false);
    await s.revokeToken('late', now + 700, null);
    t.strictSame((await s.feed(page.cursor, 2)).events, [{ type: 'token', jti: 'late', exp: now + 700, clientId: null }], 'the final cursor continues with later events');
  });

  t.test('feed: has_more counts lapsed entries, so following it reaches the live events behind them', async (t) => {
    const s = await open(t);
    const now = nowSeconds();
    const start = (await s.feed(null, 10)).cursor;
    await s.revokeToken('short1', now + 1, null);
    await s.revokeToken('short2', now + 1, null);
    await s.revokeToken('long', now + 600, null);
    await sleepPast(now + 1, EXPIRY_MARGIN_MS);
    const seen: RevocationEvent[] = [];
    let cursor = start;
    for (let i = 0; i < 5; i++) {
      const page = await s.feed(cursor, 2);
      seen.push(...page.events);
      cursor = page.cursor;
      if (!page.hasMore) break;
    }
    t.strictSame(seen, [{ type: 'token', jti: 'long', exp: now + 600, clientId: null }]);
  });

  t.test('feed: an unknown or foreign cursor gets a snapshot', async (t) => {
    const s = await open(t);
    const now = nowSeconds();
    await s.revokeToken('j1', now + 600, 'c1');
    const expected = await s.feed(null, 10);
    t.strictSame(expected.events, [{ type: 'token', jti: 'j1', exp: now + 600, clientId: 'c1' }]);
    for (const cursor of ['', 'garbage', 'abc.1', '99999999999999-0', '18446744073709551615-18446744073709551615', '1-2-3']) {
      t.strictSame(await s.feed(cursor, 10), { ...expected, snapshot: true }, `cursor ${JSON.stringify(cursor)}`);
    }
  });

  t.test('seed is idempotent and never weakens what is there', async (t) => {
    const s = await open(t);
    const now = nowSeconds();
    const events: RevocationEvent[] = [
      { type: 'token', jti: 'j1', exp: now + 600, clientId: 'c1' },
      { type: 'client', clientId: 'c2', revokedBefore: now, until: now + 600 },
    ];
    await s.seed(events);
    await s.seed(events);
    await s.seed([{ type: 'client', clientId: 'c2', revokedBefore: now - 100, until: now + 600 }]);
    await s.seed([]);
    t.equal(await s.isRevoked('j1', 'x', now), true);
    t.equal(await s.isRevoked('j', 'c2', now - 1), true);
    t.equal(await s.isRevoked('j', 'c2', now), false);
    t.strictSame((await s.feed(null, 10)).events, events, 'each seeded event is in the feed once');
  });
}
