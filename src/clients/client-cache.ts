import type { Clock } from '../lib/clock.js';
import type { ClientStore } from '../storage/types.js';
import { StoreUnavailableError } from '../storage/types.js';
import type { Client } from './client.js';
import { MAX_CLIENT_ID, isVschar } from '../oauth/params.js';

export interface ClientCacheOptions {
  /** how long a record is served without a database read */
  ttlMs: number;
  /** how long "no such client" is remembered (short: SECURITY §3.2) */
  negativeTtlMs: number;
  /** how long a positive record may be served while the database is unreachable (SECURITY §3.2) */
  staleIfErrorMs: number;
}

interface Entry {
  client: Client | null;
  loadedAt: number;
}

/**
 * In-process cache of client records: the token endpoint's hot path reads no database. Entries are
 * dropped on invalidation (local writes, and Redis pub/sub from other nodes), after `ttlMs`, and
 * all at once when the bus reconnects. Concurrent misses for one id share a single load.
 */
export class ClientCache {
  private readonly store: ClientStore;
  private readonly clock: Clock;
  private readonly options: ClientCacheOptions;
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Client | null>>();
  private generation = 0;
  /** set when the store failed; the first success afterwards drops every entry (SECURITY §3.2) */
  private degraded = false;

  constructor(store: ClientStore, clock: Clock, options: ClientCacheOptions) {
    this.store = store;
    this.clock = clock;
    this.options = options;
  }

  async get(clientId: string): Promise<Client | null> {
    // RFC 6749 App. A: client_id is VSCHAR; anything else cannot name a client (and NUL would fail in SQL).
    if (!isVschar(clientId, MAX_CLIENT_ID)) return null;
    const entry = this.entries.get(clientId);
    const now = this.clock.now();
    if (entry && now - entry.loadedAt < (entry.client ? this.options.ttlMs : this.options.negativeTtlMs)) return entry.client;
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
    if (clientId === '*') this.entries.clear();
    else this.entries.delete(clientId);
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
        if (generation === this.generation) this.entries.set(clientId, { client, loadedAt: this.clock.now() });
        return client;
      })
      .finally(() => this.loading.delete(clientId));
    this.loading.set(clientId, promise);
    return promise;
  }
}
