/**
 * The Redis-backed fast stores (REDIS_URL): revocations, replay claims and cache invalidation,
 * sharing one connection. Loaded on demand by `../index.ts`, so an embedded node never loads ioredis.
 */
import type { AuthFailureLimit } from '../../../config/schema.js';
import type { Clock } from '../../../lib/clock.js';
import type { RevocationEvent, SeedVerdict } from '../../types.js';
import { RedisConnection, type RedisLogger, type RedisObserver } from './connection.js';
import { RedisFailureCounter } from './failure-counter.js';
import { RedisInvalidationBus } from './invalidation-bus.js';
import { RedisQuotaCounts } from './quota-counts.js';
import { RedisReplayCache } from './replay-cache.js';
import { RedisRevocationStore } from './revocation-store.js';

export { RedisConnection, type RedisLogger } from './connection.js';
export { RedisInvalidationBus } from './invalidation-bus.js';
export { RedisReplayCache } from './replay-cache.js';
export { RedisRevocationStore } from './revocation-store.js';

/** Options of {@link openRedis}. */
export interface OpenRedisOptions {
  /** Prepended to every key and channel, e.g. `tokenmill:`. Use a hash tag (`{tokenmill}:`) on Redis Cluster. */
  keyPrefix: string;
  /**
   * The durable revocations to load when Redis comes back without them (a restart without
   * persistence, a failover to an empty replica): pass the SQL log's `live(now)`.
   */
  reseed: () => Promise<RevocationEvent[]>;
  /**
   * Whether an unseeded Redis is new (first seeding ever) rather than one that lost its data; only
   * a loss opens the replay untrusted window. Default: always a loss (the safe answer).
   */
  seedVerdict?: (runId: string | null) => Promise<SeedVerdict>;
  /**
   * Records that the seeding of run `runId` has completed (called before the seed marker is set), so
   * that a later loss within the same run (FLUSHALL, deleted keys) is not taken for a first seeding.
   */
  markSeeded?: (runId: string | null) => Promise<void>;
  logger?: RedisLogger;
  /** "now" for dropping lapsed feed entries; Redis itself enforces every TTL (EXAT). */
  clock?: Clock;
  /** CLIENT SETNAME of the connections (the subscriber gets `-sub` appended); default `tokenmill`. */
  connectionName?: string;
  /** A command without a reply after this many ms fails as unavailable; default 2000. */
  commandTimeoutMs?: number;
  /** Told each command's duration and failure kind (metrics). */
  observe?: RedisObserver;
  /** AUTH_FAILURE_*: the failed-authentication counter shares the command connection; null or absent = none */
  failureLimit?: AuthFailureLimit | null;
}

/** The Redis-backed stores of one node, sharing one command connection (the bus adds a subscriber). */
export interface RedisStores {
  revocations: RedisRevocationStore;
  replay: RedisReplayCache;
  invalidation: RedisInvalidationBus;
  /** token-quota counts shared by the fleet */
  quota: RedisQuotaCounts;
  /** failed authentications per source (null when `failureLimit` is not given) */
  failures: RedisFailureCounter | null;
  /** PING through the command connection (readiness probe); throws StoreUnavailableError. */
  ping(): Promise<void>;
  /** Redis's `maxmemory-policy`, or null when CONFIG GET is not allowed (managed Redis, ACLs). */
  evictionPolicy(): Promise<string | null>;
  /** Closes the stores and quits every connection. */
  close(): Promise<void>;
}

/**
 * Opens the Redis stores of one node: one command connection shared by the revocation store, the
 * replay cache and the invalidation bus (which adds a subscriber connection on first subscribe).
 * `rediss://` URLs use TLS. Await `stores.revocations.ready()` before serving.
 */
export function openRedis(url: string, options: OpenRedisOptions): RedisStores {
  const name = options.connectionName ?? 'tokenmill';
  const common = {
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.commandTimeoutMs !== undefined ? { commandTimeoutMs: options.commandTimeoutMs } : {}),
  };
  const conn = new RedisConnection(url, { name, ...common, ...(options.observe ? { observe: options.observe } : {}) });
  const revocations = new RedisRevocationStore(conn, {
    keyPrefix: options.keyPrefix,
    reseed: options.reseed,
    ...(options.seedVerdict ? { seedVerdict: options.seedVerdict } : {}),
    ...(options.markSeeded ? { markSeeded: options.markSeeded } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const replay = new RedisReplayCache(conn, { keyPrefix: options.keyPrefix, onMarkersLost: (ms) => revocations.markersLost(ms) });
  const invalidation = new RedisInvalidationBus(conn, url, { keyPrefix: options.keyPrefix, connectionName: name, ...common });
  const quota = new RedisQuotaCounts(conn, { keyPrefix: options.keyPrefix });
  const failures = options.failureLimit ? new RedisFailureCounter(conn, options.failureLimit, { keyPrefix: options.keyPrefix, ...(options.logger ? { logger: options.logger } : {}) }) : null;
  return {
    revocations,
    replay,
    invalidation,
    quota,
    failures,
    async ping() {
      await conn.run((r) => r.ping());
    },
    async evictionPolicy() {
      try {
        const reply = (await conn.run((r) => r.config('GET', 'maxmemory-policy'))) as unknown;
        const flat = Array.isArray(reply) ? reply : reply && typeof reply === 'object' ? Object.entries(reply).flat() : [];
        const i = flat.indexOf('maxmemory-policy');
        return i >= 0 && typeof flat[i + 1] === 'string' ? (flat[i + 1] as string) : null;
      } catch {
        return null;
      }
    },
    async close() {
      await Promise.all([revocations.close(), replay.close(), invalidation.close(), quota.close(), failures?.close()]);
    },
  };
}
