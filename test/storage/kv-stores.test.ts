import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import t from 'tap';
import { systemClock } from '../../src/lib/clock.js';
import { LocalInvalidationBus, MemoryReplayCache, MemoryRevocationStore } from '../../src/storage/kv/memory-store.js';
import { ASSERTION_MAX_FUTURE_IAT_SECONDS as F, REPLAY_UNTRUSTED_WINDOW_SECONDS } from '../../src/storage/types.js';
import { openRedis, RedisConnection, type OpenRedisOptions, type RedisLogger, type RedisStores } from '../../src/storage/kv/redis/index.js';
import { redisKeys } from '../../src/protocol/index.js';
import type { RevocationEvent, SeedVerdict } from '../../src/storage/types.js';
import { StoreUnavailableError } from '../../src/storage/types.js';
import { backendOrSkip, deleteRedisPrefix, redisTestPrefix, type TestContext } from '../helpers/backends.js';
import { eventually, sleep } from '../helpers/time.js';
import { invalidationBusContract } from './invalidation-bus.contract.js';
import { replayCacheContract } from './replay-cache.contract.js';
import { revocationStoreContract } from './revocation-store.contract.js';

// PGlite start-up and the expiry waits are slow on a loaded machine; tap's direct-run default is 30 s.
t.setTimeout(120_000);

const nowSeconds = (): number => Math.floor(Date.now() / 1000);
const FIRST_SEED: SeedVerdict = { first: true, sameRunSeededMsAgo: null };
/** The registry's verdict: a first seeding, or a loss without a seeding of this run recorded just now. */
const verdict = (first: boolean): SeedVerdict => (first ? FIRST_SEED : { first: false, sameRunSeededMsAgo: null });

t.test('in-process stores', async (t) => {
  t.test('RevocationStore', async (t) => revocationStoreContract(t, async () => new MemoryRevocationStore(systemClock)));
  t.test('ReplayCache', async (t) => replayCacheContract(t, async () => new MemoryReplayCache(systemClock)));
  t.test('a restarted process refuses assertions issued before it started, for the untrusted window', async (t) => {
    let now = 1_800_000_000_000;
    const clock = { now: () => now };
    const started = Math.floor(now / 1000);
    const c = new MemoryReplayCache(clock, started);
    t.equal(await c.claim('old', started + 200, started - 1), false, 'issued before the start: may have been used by the previous process');
    t.equal(await c.claim('no-iat', started + 200, null), false, 'no iat: cannot tell');
    t.equal(await c.claim('same-second', started + 200, started), false, 'issued in the second of the start: refused too');
    // REQ-J6: an assertion may carry an iat up to F s in the future, so one used by the previous
    // process just before it died may say started + F (e.g. iat = now + F at its last second).
    t.equal(await c.claim('future-iat', started + 200, started + F), false, 'iat within the accepted future skew of the start: refused too');
    t.equal(await c.claim('new', started + 200, started + F + 1), true, 'iat later than any the previous process can have accepted');
    t.equal(await c.claim('new', started + 200, started + F + 1), false);
    now += (REPLAY_UNTRUSTED_WINDOW_SECONDS + 1) * 1000;
    t.equal(await c.claim('old-2', started + 900, started - 1), true, 'after the window nothing issued before it can still be valid');
  });
  t.test('InvalidationBus', async (t) =>
    invalidationBusContract(t, async () => {
      const bus = new LocalInvalidationBus();
      return { publisher: bus, subscriber: bus };
    }),
  );
});

/** Opens the Redis stores under the test's own prefix and closes them when the test ends. */
async function open(t: TestContext, url: string, prefix: string, options: Partial<OpenRedisOptions> = {}): Promise<RedisStores> {
  // A fresh prefix is a new store (no replay window at open) unless the test says otherwise.
  const stores = openRedis(url, { keyPrefix: prefix, reseed: async () => [], seedVerdict: async () => FIRST_SEED, connectionName: `tmtest-${randomBytes(4).toString('hex')}`, ...options });
  t.teardown(() => stores.close());
  await stores.revocations.ready(5000);
  return stores;
}

/** CLIENT KILL of every connection with this name: the server side of a network cut. */
/** How many connections named `name` the Redis server has (CLIENT LIST). */
async function connectionCount(url: string, name: string): Promise<number> {
  const admin = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    return String(await admin.client('LIST'))
      .split('\n')
      .filter((line) => new RegExp(`\\bname=${name}(\\s|$)`).test(line)).length;
  } finally {
    admin.disconnect();
  }
}

async function killConnections(url: string, name: string): Promise<number> {
  const admin = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const list = String(await admin.client('LIST'));
    const ids = list
      .split('\n')
      .filter((line) => new RegExp(`\\bname=${name}(\\s|$)`).test(line))
      .map((line) => /\bid=(\d+)/.exec(line)?.[1]);
    for (const id of ids) if (id) await admin.client('KILL', 'ID', id);
    return ids.length;
  } finally {
    admin.disconnect();
  }
}

/** What a call settles to: its value, or the error it threw. */
const settle = <T>(p: Promise<T>): Promise<unknown> =>
  p.then(
    (v) => v,
    (e: unknown) => e,
  );

t.test('Redis stores', async (t) => {
  const url = backendOrSkip(t, 'redis');
  if (!url) return;

  t.test('RevocationStore', async (t) => revocationStoreContract(t, async (t) => (await open(t, url, redisTestPrefix(t))).revocations));
  t.test('ReplayCache', async (t) => replayCacheContract(t, async (t) => (await open(t, url, redisTestPrefix(t))).replay));
  t.test('InvalidationBus', async (t) =>
    invalidationBusContract(t, async (t) => {
      const prefix = redisTestPrefix(t);
      const [a, b] = [await open(t, url, prefix), await open(t, url, prefix)];
      await b.invalidation.ready(5000);
      return { publisher: a.invalidation, subscriber: b.invalidation };
    }),
  );

  t.test('two nodes share revocations, the feed and replay claims', async (t) => {
    const prefix = redisTestPrefix(t);
    const [a, b] = [await open(t, url, prefix), await open(t, url, prefix)];
    const now = nowSeconds();
    const start = await a.revocations.feed(null, 10);
    await a.revocations.revokeToken('j1', now + 600, 'c1');
    await b.revocations.revokeClient('c2', now, now + 600);
    t.equal(await b.revocations.isRevoked('j1', 'c1', now), true);
    t.equal(await a.revocations.isRevoked('j9', 'c2', now - 1), true);
    const page = await b.revocations.feed(start.cursor, 10);
    t.strictSame(page.events, [
      { type: 'token', jti: 'j1', exp: now + 600, clientId: 'c1' },
      { type: 'client', clientId: 'c2', revokedBefore: now, until: now + 600 },
    ]);
    t.strictSame(await a.revocations.feed(page.cursor, 10), { events: [], cursor: page.cursor, snapshot: false, hasMore: false }, "one node's cursor works on another");
    const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).replay.claim('assertion-jti', now + 300, now + 1)));
    t.equal(claims.filter((c) => c).length, 1, 'exactly one node wins a claim');
  });

  t.test('keys, stream and nudge', async (t) => {
    const prefix = redisTestPrefix(t);
    const s = await open(t, url, prefix);
    const raw = new Redis(url);
    t.teardown(() => raw.disconnect());
    const nudges: string[] = [];
    const sub = new Redis(url);
    t.teardown(() => sub.disconnect());
    await sub.subscribe(`${prefix}rev:nudge`);
    sub.on('message', (_channel: string, message: string) => nudges.push(message));
    const now = nowSeconds();
    await s.revocations.revokeToken('j1', now + 600, null);
    await s.revocations.revokeClient('c1', now - 5, now + 900);
    await s.revocations.revokeClient('c1', now - 50, now + 1200);
    t.equal(await raw.expiretime(`${prefix}rev:jti:j1`), now + 600, 'the jti key lives until exp (EXAT)');
    t.equal(await raw.get(`${prefix}rev:client:c1`), String(now - 5), 'revokedBefore keeps its maximum');
    t.equal(await raw.expiretime(`${prefix}rev:client:c1`), now + 1200, 'until keeps its maximum');
    t.type(await raw.get(`${prefix}rev:seeded`), 'string', 'the seed marker is set');
    t.equal(await raw.ttl(`${prefix}rev:seeded`), -1, 'the seed marker has no TTL');
    const entries = await raw.xrange(`${prefix}revocations`, '-', '+');
    t.strictSame(
      entries.map(([, fields]) => fields),
      [
        ['type', 'token', 'jti', 'j1', 'exp', String(now + 600)],
        ['type', 'client', 'client_id', 'c1', 'revoked_before', String(now - 5), 'until', String(now + 900)],
        ['type', 'client', 'client_id', 'c1', 'revoked_before', String(now - 5), 'until', String(now + 1200)],
      ],
    );
    t.ok(await eventually(() => nudges.length === 3), 'one nudge per revocation');
    t.strictSame(
      nudges,
      entries.map(([id]) => id),
      'the nudge carries the new stream id',
    );
    t.equal(await raw.get(`${prefix}jti:x`), null);
    await s.replay.claim('x', now + 60, now + 1);
    t.equal(await raw.expiretime(`${prefix}jti:x`), now + 60, 'a replay claim lives until the assertion expires');
  });

  t.test('feed: a cursor older than the trimmed part of the stream gets a snapshot', async (t) => {
    const prefix = redisTestPrefix(t);
    const s = await open(t, url, prefix);
    const raw = new Redis(url);
    t.teardown(() => raw.disconnect());
    const now = nowSeconds();
    const start = (await s.revocations.feed(null, 10)).cursor;
    await s.revocations.revokeToken('j1', now + 600, null);
    await s.revocations.revokeToken('j2', now + 600, null);
    const cursor = (await s.revocations.feed(start, 10)).cursor;
    t.equal(await raw.xtrim(`${prefix}revocations`, 'MAXLEN', 1), 1, 'age-out of the oldest entry, simulated');
    const j2 = { type: 'token', jti: 'j2', exp: now + 600, clientId: null };
    t.strictSame(await s.revocations.feed(start, 10), { events: [j2], cursor, snapshot: true, hasMore: false });
    t.strictSame(await s.revocations.feed(cursor, 10), { events: [], cursor, snapshot: false, hasMore: false });
  });

  t.test('Redis losing its data: fail closed, then re-seed from the durable log', async (t) => {
    const prefix = redisTestPrefix(t);
    const durable: RevocationEvent[] = [];
    let reseeds = 0;
    let gate: Promise<void> = Promise.resolve();
    const s = await open(t, url, prefix, {
      reseed: async () => {
        reseeds++;
        await gate;
        return durable.slice();
      },
    });
    t.equal(reseeds, 1, 'an empty Redis is seeded at start');
    const now = nowSeconds();
    const revoke = async (e: RevocationEvent): Promise<void> => {
      durable.push(e); // the SQL log first, as the revocation service does
      if (e.type === 'token') await s.revocations.revokeToken(e.jti, e.exp, e.clientId);
      else await s.revocations.revokeClient(e.clientId, e.revokedBefore, e.until);
    };
    await revoke({ type: 'token', jti: 'j1', exp: now + 600, clientId: 'c1' });
    await revoke({ type: 'token', jti: 'j2', exp: now + 600, clientId: null });
    await revoke({ type: 'client', clientId: 'c2', revokedBefore: now, until: now + 600 });

    // A restart without persistence, for this prefix; the re-seed is held back so the gap is observable.
    let release!: () => void;
    gate = new Promise<void>((resolve) => (release = resolve));
    t.ok((await deleteRedisPrefix(url, prefix)) >= 5, 'keys, stream and marker are gone');
    t.ok((await settle(s.revocations.isRevoked('j1', 'c1', now))) instanceof StoreUnavailableError, 'isRevoked fails closed (503), never false');
    for (let i = 0; i < 5; i++) {
      const results = await Promise.all([
        settle(s.revocations.isRevoked('j1', 'c1', now)),
        settle(s.revocations.isRevoked('j9', 'c2', now - 1)),
        settle(s.revocations.revokeToken('j3', now + 600, null)),
        settle(s.revocations.revokeClient('c3', now, now + 600)),
        settle(s.revocations.feed(null, 10)),
      ]);
      t.ok(
        results.every((r) => r instanceof StoreUnavailableError),
        `every call is refused while re-seeding (round ${i})`,
      );
      await sleep(20);
    }
    t.equal(reseeds, 2, 'the loss triggered one re-seed');
    release();
    await s.revocations.ready(5000);
    t.equal(await s.revocations.isRevoked('j1', 'c1', now), true);
    t.equal(await s.revocations.isRevoked('j2', 'cx', now), true);
    t.equal(await s.revocations.isRevoked('j9', 'c2', now - 1), true);
    t.equal(await s.revocations.isRevoked('j9', 'c2', now), false);
    t.strictSame((await s.revocations.feed(null, 10)).events, durable, 'the feed holds every durable event again');
  });

  /** seedVerdict/markSeeded as the SQL seed registry answers them for one Redis run. */
  const registry = () => {
    let completed = false;
    return { seedVerdict: async () => verdict(!completed), markSeeded: async () => void (completed = true) };
  };

  t.test('two nodes seeding a new Redis at once: the one that read no markers before the other finished opens no replay window', async (t) => {
    const prefix = redisTestPrefix(t);
    let completed = false;
    const shared = { markSeeded: async () => void (completed = true) };
    let askedB = 0;
    // B reads no markers, then, before B asks the registry, A completes the first seeding of this
    // Redis run; the registry then answers B "not the first seeding", as the SQL one does.
    const b = await open(t, url, prefix, {
      ...shared,
      seedVerdict: async () => {
        askedB++;
        await open(t, url, prefix, { ...shared, seedVerdict: async () => verdict(!completed) });
        return verdict(!completed);
      },
    });
    t.equal(askedB, 1, 'B asked the registry after reading no markers');
    t.equal(completed, true, 'the seeding stays recorded as completed');
    const probe = new Redis(url, { maxRetriesPerRequest: 1 });
    t.teardown(() => probe.disconnect());
    t.equal(await probe.exists(redisKeys(prefix).replayUntrustedBefore), 0, 'no replay window was opened');
    const now = nowSeconds();
    t.equal(await b.replay.claim('fresh-at-start', now + 300, now), true, 'an assertion issued now is accepted by B');
    t.equal(await b.replay.claim('fresh-at-start', now + 300, now), false, 'once');
  });

  /**
   * B reads no markers and asks the registry after A recorded this run's seeding complete, but
   * before A's next command sets the markers (they appear `markersAfterMs` later).
   */
  const seedingRace = async (t: TestContext, seededMsAgo: number, markersAfterMs: number | null) => {
    const prefix = redisTestPrefix(t);
    const keys = redisKeys(prefix);
    const raw = new Redis(url, { maxRetriesPerRequest: 1 });
    t.teardown(() => raw.disconnect());
    const runId = /^run_id:([0-9a-f]+)/m.exec(await raw.info('server'))?.[1];
    t.ok(runId, 'INFO names the server run');
    let markedByB = 0;
    let asked = 0;
    const b = await open(t, url, prefix, {
      markSeeded: async () => void markedByB++,
      seedVerdict: async () => {
        asked++;
        if (markersAfterMs !== null) {
          const timer = setTimeout(() => void raw.mset(keys.seeded, runId!, keys.replayEpoch, String(Date.now())).catch(() => {}), markersAfterMs);
          t.teardown(() => clearTimeout(timer));
        }
        return { first: false, sameRunSeededMsAgo: seededMsAgo };
      },
    });
    t.equal(asked, 1, 'B asked the registry once');
    return { b, raw, keys, markedByB: () => markedByB };
  };

  t.test('two nodes seeding a new Redis at once: the markers are set a moment after B hears of the completed seeding; no replay window', async (t) => {
    const { b, raw, keys, markedByB } = await seedingRace(t, 5, 100);
    t.equal(await raw.exists(keys.replayUntrustedBefore), 0, 'no replay window was opened');
    t.equal(markedByB(), 1, "B recorded the seeding again with the other node's markers (it did not seed)");
    const now = nowSeconds();
    t.equal(await b.replay.claim('fresh-at-start', now + 300, now), true, 'an assertion issued now is accepted by B');
    t.equal(await b.replay.claim('fresh-at-start', now + 300, now), false, 'once');
  });

  t.test('markers missing long after this run was seeded: a loss, the window opens without waiting for markers', async (t) => {
    const { b, raw, keys } = await seedingRace(t, 60_000, 100);
    const w = await b.replay.untrustedWindow();
    t.ok(w, 'the replay window is open', { w });
    t.equal(await raw.exists(keys.replayUntrustedBefore), 1);
    const now = nowSeconds();
    t.equal(await b.replay.claim('no-iat', now + 300, null), false, 'an assertion without iat is refused in the window');
  });

  t.test('a seeding recorded just now whose markers never come: after a short wait, a loss', async (t) => {
    const started = Date.now();
    const { b } = await seedingRace(t, 5, null);
    t.ok(Date.now() - started >= 450, 'B waited for the markers first');
    t.ok(await b.replay.untrustedWindow(), 'then opened the replay window');
  });

  t.test('replay markers lost with the data: claims fail closed until re-seeded, then assertions issued before the loss are refused', async (t) => {
    const prefix = redisTestPrefix(t);
    const name = `tmtest-${randomBytes(4).toString('hex')}`;
    let gate: Promise<void> = Promise.resolve();
    let reseeds = 0;
    const s = await open(t, url, prefix, { connectionName: name, reseed: async () => (reseeds++, await gate, []), ...registry() });
    const issued = nowSeconds();
    t.equal(await s.replay.claim('used-before', issued + 300, issued), true, 'a new store: no window at the first seeding');
    t.equal(await s.replay.claim('used-before', issued + 300, issued), false);
    t.equal(await s.replay.claim('future-iat', issued + 300, issued + F), true, 'iat F s in the future (REQ-J6 accepts it)');
    let release!: () => void;
    gate = new Promise<void>((resolve) => (release = resolve));
    await deleteRedisPrefix(url, prefix);
    const reseedsBefore = reseeds;
    t.equal(await killConnections(url, name), 1);
    t.ok(await eventually(() => reseeds > reseedsBefore), 'the reconnect started a re-seed');
    await t.rejects(s.replay.claim('used-before', issued + 300, issued), StoreUnavailableError, 'no claim succeeds before the state is restored');
    release();
    await s.revocations.ready(5000);
    const now = nowSeconds();
    t.equal(await s.replay.claim('used-before', issued + 300, issued), false, 'the replay of an assertion issued before the loss is refused');
    t.equal(await s.replay.claim('future-iat', issued + 300, issued + F), false, 'so is the replay of one whose iat was F s ahead of the loss');
    t.equal(await s.replay.claim('no-iat', now + 300, null), false, 'an assertion without iat is refused during the window');
    t.equal(await s.replay.claim('fresh', now + 300, now + F + 1), true, 'an assertion issued after the loss (beyond the future skew) works');
    t.equal(await s.replay.claim('fresh', now + 300, now + F + 1), false, 'and is single-use');
  });

  t.test('keys lost without a reconnect (FLUSHALL, eviction, DEL): the first claim notices, re-seeds and refuses replays', async (t) => {
    const prefix = redisTestPrefix(t);
    let reseeds = 0;
    const s = await open(t, url, prefix, { reseed: async () => (reseeds++, []), ...registry() });
    const issued = nowSeconds();
    t.equal(await s.replay.claim('used', issued + 300, issued + F), true, 'used once, iat F s in the future');
    await deleteRedisPrefix(url, prefix); // the server stays up: no reconnect, no new run
    const lossAt = nowSeconds();
    t.equal(await s.replay.claim('used', issued + 300, issued + F), false, 'the replay is refused (401), not accepted');
    t.equal(reseeds, 2, 'the claim started the re-seed');
    t.equal(await s.replay.claim('used-before-no-iat', issued + 300, null), false, 'no iat: refused');
    t.equal(await s.replay.claim('fresh', lossAt + 300, lossAt + F + 2), true, 'an assertion with iat beyond loss + F s is accepted');
    t.equal(await s.replay.claim('fresh', lossAt + 300, lossAt + F + 2), false, 'and single-use');
    const w = await s.replay.untrustedWindow();
    t.ok(w && w.since >= lossAt - 1 && w.since <= lossAt + 1 && w.refusesIatUpTo === w.since + F, 'the window is reported', { w });
  });

  t.test('the replay epoch alone deleted (eviction, DEL): noticed without traffic', async (t) => {
    const prefix = redisTestPrefix(t);
    const s = await open(t, url, prefix, registry());
    const raw = new Redis(url);
    t.teardown(() => raw.disconnect());
    t.equal(await s.replay.untrustedWindow(), null, 'no window on a new store');
    t.equal(await raw.del(`${prefix}replay:epoch`), 1);
    t.ok(await eventually(async () => (await raw.exists(`${prefix}replay:untrusted_before`)) === 1), 'the window opened without a request');
    await s.revocations.ready(5000);
    t.equal(await raw.exists(`${prefix}replay:epoch`), 1, 'the epoch is back');
    const now = nowSeconds();
    t.equal(await s.replay.claim('x', now + 300, now), false, 'iat = now right after the loss: refused');
    t.equal(await s.replay.claim('y', now + 300, now + 11), true);
  });

  t.test('a reconnect to an emptied Redis re-seeds before answering', async (t) => {
    const prefix = redisTestPrefix(t);
    const name = `tmtest-${randomBytes(4).toString('hex')}`;
    const durable: RevocationEvent[] = [{ type: 'token', jti: 'j1', exp: nowSeconds() + 600, clientId: 'c1' }];
    let reseeds = 0;
    const s = await open(t, url, prefix, { connectionName: name, reseed: async () => (reseeds++, durable.slice()) });
    t.equal(await s.revocations.isRevoked('j1', 'c1', 0), true);
    await deleteRedisPrefix(url, prefix);
    t.equal(await killConnections(url, name), 1);
    t.ok(await eventually(() => reseeds === 2), 'the reconnect re-seeded without waiting for a request');
    await s.revocations.ready(5000);
    t.equal(await s.revocations.isRevoked('j1', 'c1', 0), true);
  });

  t.test('a reconnect to a Redis that restarted with stale data (another run) re-seeds, refusing calls meanwhile', async (t) => {
    const prefix = redisTestPrefix(t);
    const name = `tmtest-${randomBytes(4).toString('hex')}`;
    const now = nowSeconds();
    const durable: RevocationEvent[] = [
      { type: 'token', jti: 'j1', exp: now + 600, clientId: 'c1' },
      { type: 'token', jti: 'j2', exp: now + 600, clientId: 'c1' },
    ];
    let reseeds = 0;
    let gate: Promise<void> = Promise.resolve();
    const s = await open(t, url, prefix, { connectionName: name, reseed: async () => (reseeds++, await gate, durable.slice()) });
    const raw = new Redis(url);
    t.teardown(() => raw.disconnect());
    const runId = /^run_id:([0-9a-f]+)/m.exec(await raw.info('server'))?.[1];
    t.equal(await raw.get(`${prefix}rev:seeded`), runId, 'the marker names the server run it was seeded on');
    t.equal(await s.revocations.isRevoked('j2', 'c1', now), true);
    // What an older RDB or a lagging replica looks like: the last write is missing, the marker is from another run.
    await raw.del(`${prefix}rev:jti:j2`);
    await raw.set(`${prefix}rev:seeded`, 'an-earlier-run');
    let release!: () => void;
    gate = new Promise<void>((resolve) => (release = resolve));
    t.equal(await killConnections(url, name), 1);
    t.ok(await eventually(() => reseeds === 2), 'the reconnect started a re-seed');
    await t.rejects(s.revocations.isRevoked('j2', 'c1', now), StoreUnavailableError, 'refused while re-seeding, although the marker exists');
    release();
    await s.revocations.ready(5000);
    t.equal(await s.revocations.isRevoked('j2', 'c1', now), true, 'the lost revocation is back');
    t.equal(await raw.get(`${prefix}rev:seeded`), runId);
    t.equal(await killConnections(url, name), 1);
    t.ok(await eventually(async () => (await connectionCount(url, name)) === 1), 'reconnected');
    await s.revocations.ready(5000);
    t.equal(await s.revocations.isRevoked('j2', 'c1', now), true, 'answering after the reconnect');
    t.equal(reseeds, 2, 'a reconnect to the same run does not re-seed');
  });

  t.test('the invalidation subscriber flushes every cache after it re-connects', async (t) => {
    const prefix = redisTestPrefix(t);
    const name = `tmtest-${randomBytes(4).toString('hex')}`;
    const a = await open(t, url, prefix);
    const b = await open(t, url, prefix, { connectionName: name });
    const got: [string, string][] = [];
    b.invalidation.subscribe((channel, id) => got.push([channel, id]));
    await b.invalidation.ready(5000);
    await a.invalidation.publish('clients', 'c1');
    // A second message, delivered after the first on the same connection: nothing came between.
    await a.invalidation.publish('clients', 'c0');
    t.ok(await eventually(() => got.length === 2));
    t.strictSame(
      got,
      [
        ['clients', 'c1'],
        ['clients', 'c0'],
      ],
      'no flush on the first connect',
    );
    t.equal(await killConnections(url, `${name}-sub`), 1);
    t.ok(await eventually(() => got.length === 4), 'flushed after the re-connect');
    t.strictSame(got.slice(2), [
      ['clients', '*'],
      ['keys', '*'],
    ]);
    await a.invalidation.publish('keys', 'k1');
    t.ok(await eventually(() => got.length === 5));
    t.strictSame(got[4], ['keys', 'k1'], 'still subscribed after the re-connect');
    const raw = new Redis(url);
    t.teardown(() => raw.disconnect());
    await raw.publish(`${prefix}invalidate`, '{"channel":"users","id":"x"}');
    await raw.publish(`${prefix}invalidate`, 'not json');
    await a.invalidation.publish('clients', 'c2');
    t.ok(await eventually(() => got.length === 6));
    t.strictSame(got[5], ['clients', 'c2'], 'malformed messages are ignored');
  });

  t.test('failed-authentication blocks reach every node on the same prefix, and only those', async (t) => {
    const prefix = redisTestPrefix(t);
    const name = `tmtest-${randomBytes(4).toString('hex')}`;
    const warnings: string[] = [];
    const logger: RedisLogger = { warn: ((_obj: unknown, msg: string) => void warnings.push(msg)) as RedisLogger['warn'], info: (() => {}) as RedisLogger['info'] };
    const a = await open(t, url, prefix);
    const b = await open(t, url, prefix, { connectionName: name, logger });
    const other = await open(t, url, redisTestPrefix(t));
    const atA: [string, number][] = [];
    const atB: [string, number][] = [];
    const atOther: [string, number][] = [];
    a.invalidation.onAnnounced((source, ms) => atA.push([source, ms]));
    b.invalidation.onAnnounced((source, ms) => atB.push([source, ms]));
    other.invalidation.onAnnounced((source, ms) => atOther.push([source, ms]));
    await Promise.all([a.invalidation.ready(5000), b.invalidation.ready(5000), other.invalidation.ready(5000)]);

    await a.invalidation.announce('203.0.113.5', 60_000);
    t.ok(await eventually(() => atB.length === 1 && atA.length === 1), 'heard by the other node and echoed to the announcer');
    t.strictSame(atB, [['203.0.113.5', 60_000]]);
    const cut = await killConnections(url, `${name}-sub`);
    t.equal(cut, 1, 'B loses its subscriber connection');
    t.ok(await eventually(async () => (await connectionCount(url, `${name}-sub`)) === 1), 'and re-connects');
    await b.invalidation.ready(5000);
    await a.invalidation.publish('clients', 'after-reconnect');
    const raw = new Redis(url);
    t.teardown(() => raw.disconnect());
    await raw.publish(`${prefix}authblock`, 'not json');
    await raw.publish(`${prefix}authblock`, '{"source":7,"ms":"x"}');
    await a.invalidation.announce('2001:db8:1:2::/64', 5_000);
    t.ok(await eventually(() => atB.length === 2), 'still subscribed to blocks after the re-connect');
    t.strictSame(atB[1], ['2001:db8:1:2::/64', 5_000], 'malformed announcements are not delivered');
    t.equal(warnings.filter((w) => w === 'ignoring a malformed block announcement').length, 2, 'each is logged at warn');
    t.strictSame(atOther, [], 'a deployment on another prefix hears nothing');
  });

  t.test('Redis unreachable: every call fails with StoreUnavailableError, logged, never thrown at the process', async (t) => {
    const warnings: unknown[] = [];
    const logger: RedisLogger = { warn: ((obj: unknown) => void warnings.push(obj)) as RedisLogger['warn'], info: (() => {}) as RedisLogger['info'] };
    const s = openRedis('redis://127.0.0.1:1', { keyPrefix: 'tmtest:down:', reseed: async () => [], logger });
    t.teardown(() => s.close());
    const now = nowSeconds();
    await t.rejects(s.revocations.ready(300), StoreUnavailableError);
    await t.rejects(s.revocations.isRevoked('j', 'c', now), StoreUnavailableError);
    await t.rejects(s.revocations.revokeToken('j', now + 60, null), StoreUnavailableError);
    await t.rejects(s.revocations.feed(null, 10), StoreUnavailableError);
    await t.rejects(s.replay.claim('k', now + 60), StoreUnavailableError);
    await t.rejects(s.invalidation.publish('clients', 'c'), StoreUnavailableError);
    await t.rejects(s.ping(), StoreUnavailableError);
    t.ok(await eventually(() => warnings.length > 0), 'the connection error was logged at warn');
  });

  t.test('rediss:// means TLS; other schemes are refused', async (t) => {
    const tls = new RedisConnection('rediss://127.0.0.1:1', { name: 'tmtest-tls' }).acquire();
    t.ok(tls.redis.options.tls, 'TLS is on for rediss://');
    await tls.release();
    const plain = new RedisConnection('redis://127.0.0.1:1', { name: 'tmtest-plain' }).acquire();
    t.notOk(plain.redis.options.tls);
    await plain.release();
    t.throws(() => openRedis('http://127.0.0.1:6379', { keyPrefix: 'x:', reseed: async () => [] }), TypeError);
  });
});
