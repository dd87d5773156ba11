// Issue 10 (trust boundaries): an unknown client_id must not stay in memory forever. The client
// cache holds at most MAX_NEGATIVE_ENTRIES "no such client" answers and MAX_ENTRIES records, and
// drops entries once they can no longer be served.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { heapUsedAfterGc } from '../helpers/heap.js';
import { ClientCache } from '../../src/clients/client-cache.js';
import type { Client } from '../../src/clients/client.js';
import type { ClientStore } from '../../src/storage/types.js';
import { StoreUnavailableError } from '../../src/storage/types.js';
import { TestClock } from '../helper.js';

const fakeClient = (clientId: string) => ({ clientId, status: 'active' }) as unknown as Client;

/** A store that knows the ids in `known`, counts reads, and fails while `down` is set. */
function fakeStore(known: Set<string> = new Set()) {
  const state = { reads: 0, down: false };
  const store = {
    async get(id: string) {
      state.reads++;
      if (state.down) throw new StoreUnavailableError('database');
      return known.has(id) ? fakeClient(id) : null;
    },
  } as unknown as ClientStore;
  return { store, state };
}

/** How many store reads `cache.get(id)` makes (0: served from memory). */
async function readsFor(cache: ClientCache, state: { reads: number }, id: string): Promise<number> {
  const before = state.reads;
  await cache.get(id);
  return state.reads - before;
}

const options = { ttlMs: 30_000, negativeTtlMs: 2_000, staleIfErrorMs: 300_000 };

t.test('200,000 unknown client_ids: at most 10,000 negative entries and < 10 MB of heap growth', async (t) => {
  const { store } = fakeStore();
  const clock = new TestClock();
  const cache = new ClientCache(store, clock, options);
  const before = await heapUsedAfterGc();
  for (let i = 0; i < 200_000; i++) {
    if ((await cache.get(randomUUID())) !== null) throw new Error('an unknown id resolved');
  }
  const grown = (await heapUsedAfterGc()) - before;
  t.comment(`heap growth after 200,000 unknown ids: ${(grown / 1024 / 1024).toFixed(2)} MB`);
  t.ok(grown < 10 * 1024 * 1024, `heap grew ${(grown / 1024 / 1024).toFixed(2)} MB, bound 10 MB`);
  const { positive, negative } = cache.size();
  t.equal(positive, 0);
  t.ok(negative <= 10_000 && negative >= 9_000, `the negative side is capped at 10,000 (holds ${negative})`);
});

t.test('negative entries: served for negativeTtlMs, then forgotten even when never read again', async (t) => {
  const { store, state } = fakeStore();
  const clock = new TestClock();
  const cache = new ClientCache(store, clock, options);
  await cache.get('nobody');
  clock.advance(1_000);
  await cache.get('nobody');
  t.equal(state.reads, 1, 'a repeated unknown id within the negative TTL is not read again');
  clock.advance(1_000);
  await cache.get('someone-else');
  t.same(cache.size(), { positive: 0, negative: 1 }, 'the lapsed negative entry was dropped by the next load');
  await cache.get('nobody');
  t.equal(state.reads, 3, 'and is read again');
});

t.test('negative cap evicts the oldest first (insertion order)', async (t) => {
  const { store, state } = fakeStore();
  const cache = new ClientCache(store, new TestClock(), { ...options, maxNegativeEntries: 3 });
  for (const id of ['a', 'b', 'c', 'd']) await cache.get(id);
  t.same(cache.size(), { positive: 0, negative: 2 }, 'past the cap of 3: down to 90% of it (2)');
  t.equal(await readsFor(cache, state, 'd'), 0, 'the newest is still cached');
  t.equal(await readsFor(cache, state, 'a'), 1, 'the oldest was evicted');
});

t.test('positive side: capped, and records past ttl and stale-if-error are dropped', async (t) => {
  const known = new Set(['c1', 'c2', 'c3', 'c4']);
  const { store, state } = fakeStore(known);
  const clock = new TestClock();
  const cache = new ClientCache(store, clock, { ...options, maxEntries: 3 });
  for (const id of ['c1', 'c2', 'c3', 'c4']) t.equal((await cache.get(id))?.clientId, id);
  t.same(cache.size(), { positive: 2, negative: 0 }, 'past the cap of 3: down to 90% of it (2)');
  t.equal(await readsFor(cache, state, 'c4'), 0, 'the newest record is served from memory');
  t.equal(await readsFor(cache, state, 'c1'), 1, 'the oldest-loaded was evicted');

  // Past ttl but within stale-if-error: kept (a database outage may still need them).
  clock.advance(60_000);
  await cache.get('unknown-1');
  t.same(cache.size(), { positive: 3, negative: 1 }, 'records within stale-if-error are kept');
  // Past stale-if-error: useless, dropped at the next load even though nobody reads them.
  clock.advance(300_000);
  await cache.get('unknown-2');
  t.same(cache.size(), { positive: 0, negative: 1 }, 'records past stale-if-error are gone');
});

t.test('invalidate drops positive and negative entries', async (t) => {
  const known = new Set<string>();
  const { store } = fakeStore(known);
  const cache = new ClientCache(store, new TestClock(), options);
  t.equal(await cache.get('late'), null);
  known.add('late');
  cache.invalidate('late');
  t.equal((await cache.get('late'))?.clientId, 'late', 'a client created after a miss is seen at once after invalidation');
  cache.invalidate('*');
  t.same(cache.size(), { positive: 0, negative: 0 });
});
