import { redisKeys, type RedisKeys } from '../../../protocol/index.js';
import type { ReplayCache } from '../../types.js';
import { ASSERTION_MAX_FUTURE_IAT_SECONDS, REPLAY_UNTRUSTED_WINDOW_SECONDS, StoreUnavailableError } from '../../types.js';
import { isUnseeded, type RedisConnection } from './connection.js';
import { CLAIM, checkSeconds } from './scripts.js';

/** How long a claim that found the markers gone waits for the re-seed before answering 503. */
const CLAIM_RESEED_WAIT_MS = 2000;

/**
 * Single-use client-assertion `jti`s shared by the fleet (see CLAIM). `onMarkersLost` (the revocation
 * store's `markersLost`) is called when a claim finds a marker gone; the claim is retried once when
 * it resolves (the store re-seeded, the untrusted window open), else it fails closed (503).
 */
export class RedisReplayCache implements ReplayCache {
  private readonly conn: RedisConnection;
  private readonly keys: RedisKeys;
  private readonly onMarkersLost: ((timeoutMs: number) => Promise<void>) | undefined;
  private closed = false;

  constructor(conn: RedisConnection, options: { keyPrefix: string; onMarkersLost?: (timeoutMs: number) => Promise<void> }) {
    this.conn = conn.acquire();
    this.keys = redisKeys(options.keyPrefix);
    this.onMarkersLost = options.onMarkersLost;
  }

  async claim(key: string, expiresAtSeconds: number, issuedAtSeconds: number | null = null): Promise<boolean> {
    if (this.closed) throw new StoreUnavailableError('redis', new Error('replay cache is closed'));
    const exat = checkSeconds('expiresAtSeconds', expiresAtSeconds);
    const keys = [this.keys.seeded, this.keys.replayEpoch, this.keys.replayUntrustedBefore, this.keys.replayClaim(key)];
    const args = [String(exat), issuedAtSeconds === null ? '' : String(issuedAtSeconds), String(ASSERTION_MAX_FUTURE_IAT_SECONDS)];
    try {
      return (await this.conn.evalScript(CLAIM, keys, args)) === 1;
    } catch (err) {
      if (!isUnseeded(err) || !this.onMarkersLost) throw err;
      await this.onMarkersLost(CLAIM_RESEED_WAIT_MS).catch(() => {
        throw err;
      });
      return (await this.conn.evalScript(CLAIM, keys, args)) === 1;
    }
  }

  /** The untrusted window in force now (epoch seconds, Redis time), or null. */
  async untrustedWindow(): Promise<{ since: number; until: number; refusesIatUpTo: number } | null> {
    const key = this.keys.replayUntrustedBefore;
    const [since, ttl] = await this.conn.run(async (r) => Promise.all([r.get(key), r.ttl(key)]));
    if (since === null || ttl <= 0) return null;
    const l = Number(since);
    return { since: l, until: l + REPLAY_UNTRUSTED_WINDOW_SECONDS, refusesIatUpTo: l + ASSERTION_MAX_FUTURE_IAT_SECONDS };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.conn.release();
  }
}
