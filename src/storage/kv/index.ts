import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { Clock } from '../../lib/clock.js';
import type { SharedCounts } from '../../quota/shared-counts.js';
import { memoryFailureCounter, type BlockBroadcast, type FailureCounter } from '../../lib/failure-limiter.js';
import type { InvalidationBus, ReplayCache, RevocationEvent, RevocationStore, SeedVerdict } from '../types.js';
import { LocalInvalidationBus, MemoryReplayCache, MemoryRevocationStore } from './memory-store.js';

export interface FastStores {
  revocations: RevocationStore;
  replay: ReplayCache;
  bus: InvalidationBus;
  /** token-quota counts shared by the fleet (Redis); null: counted in this process */
  quotaCounts: SharedCounts | null;
  /** failed authentications per source (AUTH_FAILURE_*); null when the limit is off */
  failures: FailureCounter | null;
  /** where failed-authentication blocks reach the other nodes (Redis); null: one node */
  blocks: BlockBroadcast | null;
  description: string;
  dependencies: { name: string; check(): Promise<string | undefined | void> }[];
  close(): Promise<void>;
}

const REDIS_START_TIMEOUT_MS = 10_000;

/**
 * Revocations, replay markers and cache invalidation: Redis when REDIS_URL is set (shared by the
 * fleet; revocations re-seeded from the durable SQL log whenever Redis comes back without them),
 * else in this process (one node only).
 */
export interface FastStoreOptions {
  /** the durable revocations, to re-seed a store that lost them */
  reseed: () => Promise<RevocationEvent[]>;
  /** whether an unseeded Redis is new rather than one that lost its data (recorded in SQL) */
  seedVerdict: (runId: string | null) => Promise<SeedVerdict>;
  /** records that a Redis run has been seeded (a later loss in the same run is then a loss) */
  markSeeded?: (runId: string | null) => Promise<void>;
  /** embedded: when this process started, if an earlier process may have held replay markers */
  replayLostAt: number | null;
  /** told each Redis command's duration and failure kind (metrics) */
  observeRedis?: (seconds: number, error: 'unavailable' | 'reply' | null) => void;
}

export async function openFastStores(config: Config, clock: Clock, logger: Logger, options: FastStoreOptions): Promise<FastStores> {
  if (config.redisUrl) {
    // Loaded only when configured: an embedded node does not carry ioredis in memory.
    const { openRedis } = await import('./redis/index.js');
    const redis = openRedis(config.redisUrl, {
      keyPrefix: config.redisKeyPrefix,
      reseed: options.reseed,
      seedVerdict: options.seedVerdict,
      ...(options.markSeeded ? { markSeeded: options.markSeeded } : {}),
      ...(options.observeRedis ? { observe: options.observeRedis } : {}),
      logger,
      clock,
      failureLimit: config.authFailureLimit,
    });
    try {
      await Promise.all([redis.revocations.ready(REDIS_START_TIMEOUT_MS), redis.invalidation.ready(REDIS_START_TIMEOUT_MS)]);
    } catch (err) {
      await redis.close().catch(() => {});
      const url = new URL(config.redisUrl);
      throw new Error(`cannot reach Redis at ${url.protocol}//${url.host} within ${REDIS_START_TIMEOUT_MS / 1000} s (REDIS_URL): ${(err as Error).message}`, { cause: err });
    }
    // An evicted replay claim or revocation is lost silently (threat model §3.9): only noeviction is safe.
    const policy = await redis.evictionPolicy();
    if (policy !== null && policy !== 'noeviction') {
      logger.warn({ maxmemoryPolicy: policy }, 'Redis maxmemory-policy is not noeviction: evicted revocations and replay markers are lost; set maxmemory-policy noeviction');
    }
    return {
      revocations: redis.revocations,
      replay: redis.replay,
      bus: redis.invalidation,
      quotaCounts: redis.quota,
      failures: redis.failures,
      blocks: redis.invalidation,
      description: 'redis (shared by the fleet; durable copy in SQL)',
      dependencies: [
        { name: 'redis', check: () => redis.ping() },
        {
          // Not ready while the replay and revocation state is being restored after a loss.
          name: 'replay',
          check: async () => {
            if (!redis.revocations.isSeeded()) throw new Error('re-seeding after a loss of Redis state');
            return describeWindow(await redis.replay.untrustedWindow());
          },
        },
      ],
      close: () => redis.close(),
    };
  }
  // A restarted process lost the previous one's replay markers: open the untrusted window.
  const replay = new MemoryReplayCache(clock, options.replayLostAt);
  return {
    revocations: new MemoryRevocationStore(clock),
    replay,
    bus: new LocalInvalidationBus(),
    quotaCounts: null,
    failures: config.authFailureLimit ? memoryFailureCounter(config.authFailureLimit) : null,
    blocks: null,
    description: 'in-process (this node only)',
    dependencies: [{ name: 'replay', check: async () => describeWindow(replay.untrustedWindow()) }],
    close: async () => {},
  };
}

/** What /readyz says about an open untrusted window (ready, but refusing possibly replayed assertions). */
function describeWindow(w: { since: number; until: number; refusesIatUpTo: number } | null): string | undefined {
  if (!w) return undefined;
  return `replay markers lost at ${w.since}: until ${w.until}, assertions without iat or with iat <= ${w.refusesIatUpTo} are refused`;
}
