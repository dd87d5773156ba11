import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { Clock } from '../../lib/clock.js';
import type { InvalidationBus, ReplayCache, RevocationEvent, RevocationStore } from '../types.js';
import { LocalInvalidationBus, MemoryReplayCache, MemoryRevocationStore } from './memory-store.js';

export interface FastStores {
  revocations: RevocationStore;
  replay: ReplayCache;
  bus: InvalidationBus;
  description: string;
  dependencies: { name: string; check(): Promise<void> }[];
  close(): Promise<void>;
}

/**
 * Revocations, replay markers and cache invalidation: Redis when REDIS_URL is set (shared by the
 * fleet), else in this process (one node only).
 */
export async function openFastStores(config: Config, clock: Clock, logger: Logger, reseed: () => Promise<RevocationEvent[]>): Promise<FastStores> {
  void reseed;
  if (config.redisUrl) throw new Error('REDIS_URL support is not built yet');
  logger.debug('in-process revocation and replay stores');
  return {
    revocations: new MemoryRevocationStore(clock),
    replay: new MemoryReplayCache(clock),
    bus: new LocalInvalidationBus(),
    description: 'in-process (this node only)',
    dependencies: [],
    close: async () => {},
  };
}
