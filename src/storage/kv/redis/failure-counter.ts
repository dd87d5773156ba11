import { RateLimiterRedis } from 'rate-limiter-flexible';
import type { AuthFailureLimit } from '../../../config/schema.js';
import { blockedMsOf, limiterOptions, memoryFailureCounter, type FailureCounter } from '../../../lib/failure-limiter.js';
import type { RedisConnection, RedisLogger } from './connection.js';

/**
 * Failed authentications per source, counted in Redis so that every node shares the count
 * (rate-limiter-flexible's RateLimiterRedis: one script call per failure, keys
 * `<prefix>authfail:<source>` expiring with the window or the block). When Redis cannot answer
 * (not connected, or a command timeout) the failure is counted in this process instead (threat
 * model §3.1 "Rate limiter": limits get weaker, per node, not turned off); the switch is logged
 * once each way. Only failures reach here: a successful request never makes this round trip.
 */
export class RedisFailureCounter implements FailureCounter {
  private readonly conn: RedisConnection;
  private readonly shared: RateLimiterRedis;
  private readonly local: FailureCounter;
  private readonly logger: RedisLogger | undefined;
  private fallingBack = false;

  constructor(conn: RedisConnection, limit: AuthFailureLimit, options: { keyPrefix: string; logger?: RedisLogger }) {
    this.conn = conn.acquire();
    this.logger = options.logger;
    // Fails at once while the connection is down, rather than waiting for a reconnection.
    this.shared = new RateLimiterRedis({ storeClient: conn.redis, rejectIfRedisNotReady: true, keyPrefix: `${options.keyPrefix}authfail`, ...limiterOptions(limit) });
    this.local = memoryFailureCounter(limit);
  }

  async consume(source: string): Promise<number> {
    try {
      await this.shared.consume(source);
      this.restored();
      return 0;
    } catch (err) {
      const ms = blockedMsOf(err);
      if (ms !== null) {
        this.restored();
        return ms;
      }
      if (!this.fallingBack) {
        this.fallingBack = true;
        this.logger?.warn({ err: { message: (err as Error).message } }, 'redis unavailable: failed authentications are counted per node until it is back');
      }
      return this.local.consume(source);
    }
  }

  async close(): Promise<void> {
    await this.conn.release();
  }

  private restored(): void {
    if (!this.fallingBack) return;
    this.fallingBack = false;
    this.logger?.info({}, 'redis restored: failed authentications are counted for the fleet again');
  }
}
