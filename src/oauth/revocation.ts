import type { Clock } from '../lib/clock.js';
import { epochSeconds } from '../lib/clock.js';
import { MAX_TOKEN_LIFETIME } from '../protocol/index.js';
import type { RevocationEvent, RevocationFeedPage, RevocationLog, RevocationStore } from '../storage/types.js';

/** Leeway added to client-wide revocations so tokens from a clock-skewed node are covered too. */
const SKEW = 60;
/** How far ahead a revoked token's `exp` can lie: no token this server issues lives longer. */
export const MAX_REVOCATION_AHEAD = MAX_TOKEN_LIFETIME + SKEW;

/**
 * Revocations, durable first: each is appended to the SQL log (from which a fast store that lost
 * its data is re-seeded) and then written to the fast store that every node reads (Redis, or the
 * process on the embedded default). A failure of either throws, so no caller can answer 200 for a
 * revocation that was not stored (RFC 7009 §2.2.1).
 */
export class Revocations {
  private readonly log: RevocationLog;
  private readonly store: RevocationStore;
  private readonly clock: Clock;
  /** revocations recorded by this process, read by the metrics at scrape time */
  readonly recorded = { token: 0, client: 0 };

  constructor(log: RevocationLog, store: RevocationStore, clock: Clock) {
    this.log = log;
    this.store = store;
    this.clock = clock;
  }

  async revokeToken(jti: string, exp: number, clientId: string | null): Promise<void> {
    if (exp <= epochSeconds(this.clock)) return; // already dead everywhere
    const event: RevocationEvent = { type: 'token', jti, exp, clientId };
    await this.log.append(event);
    await this.store.revokeToken(jti, exp, clientId);
    this.recorded.token++;
  }

  /**
   * Revokes every token the client holds now: those with `iat` < revokedBefore. The current second
   * is included, because iat has one-second resolution and a token issued earlier in this second
   * must not survive.
   */
  async revokeClient(clientId: string): Promise<{ revokedBefore: number }> {
    const revokedBefore = epochSeconds(this.clock) + 1;
    const until = revokedBefore + MAX_TOKEN_LIFETIME + SKEW;
    await this.log.append({ type: 'client', clientId, revokedBefore, until });
    await this.store.revokeClient(clientId, revokedBefore, until);
    this.recorded.client++;
    return { revokedBefore };
  }

  isRevoked(jti: string, clientId: string, iat: number): Promise<boolean> {
    return this.store.isRevoked(jti, clientId, iat);
  }

  feed(since: string | null, limit: number): Promise<RevocationFeedPage> {
    return this.store.feed(since, limit);
  }

  /** Re-seeds the fast store from the durable log (start-up, and after the store lost its data). */
  async reseed(): Promise<number> {
    const events = await this.log.live(epochSeconds(this.clock));
    await this.store.seed(events);
    return events.length;
  }
}
