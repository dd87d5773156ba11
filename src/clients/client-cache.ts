import type { Clock } from '../lib/clock.js';
import type { ClientStore } from '../storage/types.js';
import { StoreUnavailableError } from '../storage/types.js';
import type { Client } from './client.js';
import { MAX_CLIENT_ID, isVschar } from '../protocol/index.js';

export interface ClientCacheOptions {
  /** how long a record is served without a database read */
  ttlMs: number;
  /** how long "no such client" is remembered (short: threat model §3.2) */
  negativeTtlMs: number;
  /** how long a positive record may be served while the database is unreachable (threat model §3.2) */
  staleIfErrorMs: number;
  /** most client records held (default 100,000); the oldest-loaded is dropped first */
  maxEntries?: number;
  /** most "no such client" answers held (default 10,000): unknown ids are chosen by unauthenticated callers */
  maxNegativeEntries?: number;
}

export const DEFAULT_MAX_ENTRIES = 100_000;
export const DEFAULT_MAX_NEGATIVE_ENTRIES = 10_000;
const TRIM_EVERY_MS = 1_000;

/** Drops entries from the oldest end while they are `lapsed`; past `max`, down to 90% of it. */
function trim<V>(map: Map<string, V>, max: number, lapsed: (v: V) => boolean): void {
  const target = map.size > max ? Math.floor(max * 0.9) : max;
  for (const [id, v] of map) {
    if (map.size <= target && !lapsed(v)) break;
    map.delete(id);
  }
}

interface Entry {
  client: Client;
  loadedAt: number;
}

/**
 * In-process cache of client records: the token endpoint's hot path reads no database. Entries are
 * dropped on invalidation (local writes, and Redis pub/sub from other nodes), after `ttlMs`, and
 * all at once when the bus reconnects. Concurrent misses for one id share a single load.
 *
 * Memory is bounded whatever callers send: records and "no such client" answers live in two maps
 * kept in load order (an entry is re-inserted when reloaded), each capped, and every load drops
 * from the oldest end the entries that can no longer be served (negative past `negativeTtlMs`,
 * positive past both `ttlMs` and `staleIfErrorMs`) and those beyond the cap.
 */
export class ClientCache {
  private readonly store: ClientStore;
  private readonly clock: Clock;
  private readonly options: ClientCacheOptions;
  private readonly entries = new Map<string, Entry>();
  /** unknown ids, by load time (epoch ms) */
  private readonly negative = new Map<string, number>();
  private readonly maxEntries: number;
  private readonly maxNegativeEntries: number;
  private readonly loading = new Map<string, Promise<Client | null>>();
  private generation = 0;
  private lastTrim = 0;
  /** set when the store failed; the first success afterwards drops every entry (threat model §3.2) */
  private degraded = false;
  /** lookups so far, read by the metrics at scrape time */
  readonly stats = { hit: 0, miss: 0, negativeHit: 0 };

  constructor(store: ClientStore, clock: Clock, options: ClientCacheOptions) {
    this.store = store;
    this.clock = clock;
    this.options = options;
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.maxNegativeEntries = options.maxNegativeEntries ?? DEFAULT_MAX_NEGATIVE_ENTRIES;
  }

  /** Entries held now (memory reporting and tests). */
  size(): { positive: number; negative: number } {
    return { positive: this.entries.size, negative: this.negative.size };
  }

  async get(clientId: string): Promise<Client | null> {
    // RFC 6749 App. A: client_id is VSCHAR; anything else cannot name a client (and NUL would fail in SQL).
    if (!isVschar(clientId, MAX_CLIENT_ID)) return null;
    const now = this.clock.now();
    const missAt = this.negative.get(clientId);
    if (missAt !== undefined && now - missAt < this.options.negativeTtlMs) {
      this.stats.negativeHit++;
      return null;
    }
    const entry = this.entries.get(clientId);
    if (entry && now - entry.loadedAt < this.options.ttlMs) {
      this.stats.hit++;
      return entry.client;
    }
    this.stats.miss++;
    try {
      return await this.load(clientId);
    } catch (err) {
      if (err instanceof StoreUnavailableError) {
        this.degraded = true;
        if (entry?.client && now - entry.loadedAt < this.options.staleIfErrorMs) return entry.client;
      }
      throw err;
    }
  }

  /** Drops one client, or every client with `*`. */
  invalidate(clientId: string): void {
    this.generation++;
    if (clientId === '*') {
      this.entries.clear();
      this.negative.clear();
    } else {
      this.entries.delete(clientId);
      this.negative.delete(clientId);
    }
  }

  private load(clientId: string): Promise<Client | null> {
    const pending = this.loading.get(clientId);
    if (pending) return pending;
    const generation = this.generation;
    const promise = this.store
      .get(clientId)
      .then((client) => {
        if (this.degraded) {
          // The database is back: invalidations may have been missed while it was away.
          this.degraded = false;
          this.invalidate('*');
        }
        // An invalidation that arrived while loading may describe a newer write: do not cache then.
        if (generation === this.generation) this.remember(clientId, client, this.clock.now());
        return client;
      })
      .finally(() => this.loading.delete(clientId));
    this.loading.set(clientId, promise);
    return promise;
  }

  /** Stores a load result at the young end of its map, then trims both maps from the old end. */
  private remember(clientId: string, client: Client | null, now: number): void {
    this.entries.delete(clientId);
    this.negative.delete(clientId);
    if (client) this.entries.set(clientId, { client, loadedAt: now });
    else this.negative.set(clientId, now);
    // Batched: a Map keeps deleted slots until it rehashes, so scanning from the oldest end on every
    // load would cost the number of slots deleted so far. Once a second, or on passing a cap (then
    // down to 90% of it), the scan pays for itself.
    if (this.entries.size <= this.maxEntries && this.negative.size <= this.maxNegativeEntries && now - this.lastTrim < TRIM_EVERY_MS && now >= this.lastTrim) return;
    this.lastTrim = now;
    const keepMs = Math.max(this.options.ttlMs, this.options.staleIfErrorMs);
    trim(this.entries, this.maxEntries, (e) => now - e.loadedAt >= keepMs);
    trim(this.negative, this.maxNegativeEntries, (at) => now - at >= this.options.negativeTtlMs);
  }
}
