import { randomBytes } from 'node:crypto';
import type { Clock } from '../../lib/clock.js';
import { epochSeconds } from '../../lib/clock.js';
import { ClaimTable } from './claim-table.js';
import {
  ASSERTION_MAX_FUTURE_IAT_SECONDS,
  REPLAY_UNTRUSTED_WINDOW_SECONDS,
  type InvalidationBus,
  type ReplayCache,
  type RevocationEvent,
  type RevocationFeedPage,
  type RevocationStore,
} from '../types.js';

const PRUNE_EVERY_MS = 10_000;

/**
 * In-process revocation state for the embedded default: per process, which is exactly right for one
 * node and wrong for a fleet (use Redis there). Entries are dropped once their effect has lapsed.
 * Cursors are `<epoch>.<seq>`; a cursor from another epoch (a restarted process) gets a snapshot.
 */
export class MemoryRevocationStore implements RevocationStore {
  private readonly clock: Clock;
  private readonly epoch = randomBytes(6).toString('base64url');
  private readonly tokens = new Map<string, number>();
  private readonly clients = new Map<string, { revokedBefore: number; until: number }>();
  private log: { seq: number; event: RevocationEvent }[] = [];
  private seq = 0;
  private lastPrune = 0;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  async revokeToken(jti: string, exp: number, clientId: string | null): Promise<void> {
    this.add({ type: 'token', jti, exp, clientId });
  }

  async revokeClient(clientId: string, revokedBefore: number, until: number): Promise<void> {
    this.add({ type: 'client', clientId, revokedBefore, until });
  }

  async isRevoked(jti: string, clientId: string, iat: number): Promise<boolean> {
    this.maybePrune();
    const now = epochSeconds(this.clock);
    const exp = this.tokens.get(jti);
    if (exp !== undefined && exp > now) return true;
    const c = this.clients.get(clientId);
    return c !== undefined && c.until > now && iat < c.revokedBefore;
  }

  async feed(since: string | null, limit: number): Promise<RevocationFeedPage> {
    this.prune();
    const parsed = since ? /^([A-Za-z0-9_-]+)\.(\d+)$/.exec(since) : null;
    const fromSeq = parsed && parsed[1] === this.epoch ? Number(parsed[2]) : null;
    const snapshot = fromSeq === null || fromSeq > this.seq;
    // Unknown or foreign cursor: a snapshot, i.e. the retained log from its start (it holds exactly
    // what still matters), paged like the tail; its cursor continues with incremental pages.
    const after = snapshot ? 0 : fromSeq;
    const count = Math.max(1, Math.floor(limit) || 1);
    const page = this.log.filter((e) => e.seq > after).slice(0, count);
    const hasMore = page.length >= count;
    const last = page[page.length - 1];
    const cursor = snapshot && !hasMore ? this.seq : last ? last.seq : after;
    return { events: page.map((e) => e.event), cursor: `${this.epoch}.${cursor}`, snapshot, hasMore };
  }

  async seed(events: RevocationEvent[]): Promise<void> {
    for (const e of events) {
      const known = e.type === 'token' ? this.tokens.has(e.jti) : (this.clients.get(e.clientId)?.revokedBefore ?? -1) >= e.revokedBefore;
      if (!known) this.add(e);
    }
  }

  async close(): Promise<void> {}

  /** Entries currently held (for memory reporting and tests). */
  size(): number {
    return this.tokens.size + this.clients.size;
  }

  private add(e: RevocationEvent): void {
    if (e.type === 'token') {
      this.tokens.set(e.jti, Math.max(e.exp, this.tokens.get(e.jti) ?? 0));
    } else {
      const prev = this.clients.get(e.clientId);
      this.clients.set(e.clientId, { revokedBefore: Math.max(e.revokedBefore, prev?.revokedBefore ?? 0), until: Math.max(e.until, prev?.until ?? 0) });
    }
    this.log.push({ seq: ++this.seq, event: e });
    this.maybePrune();
  }

  private maybePrune(): void {
    if (this.clock.now() - this.lastPrune >= PRUNE_EVERY_MS) this.prune();
  }

  private prune(): void {
    this.lastPrune = this.clock.now();
    const now = epochSeconds(this.clock);
    for (const [jti, exp] of this.tokens) if (exp <= now) this.tokens.delete(jti);
    for (const [id, c] of this.clients) if (c.until <= now) this.clients.delete(id);
    this.log = this.log.filter(({ event: e }) => (e.type === 'token' ? e.exp : e.until) > now);
  }
}

/**
 * Single-use claims held in this process (one node only). `untrustedBefore` is the start of this
 * process when an earlier one may have held claims (the database existed before): assertions
 * issued before it, or less than the accepted future skew after it, are refused for the untrusted
 * window (see ReplayCache).
 */
export class MemoryReplayCache implements ReplayCache {
  private readonly clock: Clock;
  private readonly untrustedBefore: number | null;
  private readonly claims = new ClaimTable();
  private lastPrune = 0;

  constructor(clock: Clock, untrustedBefore: number | null = null) {
    this.clock = clock;
    this.untrustedBefore = untrustedBefore;
  }

  async claim(key: string, expiresAtSeconds: number, issuedAtSeconds: number | null = null): Promise<boolean> {
    const now = epochSeconds(this.clock);
    const ub = this.untrustedBefore;
    // See ReplayCache: an assertion used by the previous process before `ub` has iat ≤ ub + ASSERTION_MAX_FUTURE_IAT_SECONDS (REQ-J6).
    if (ub !== null && now < ub + REPLAY_UNTRUSTED_WINDOW_SECONDS && (issuedAtSeconds === null || issuedAtSeconds <= ub + ASSERTION_MAX_FUTURE_IAT_SECONDS)) return false;
    if (this.clock.now() - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = this.clock.now();
      this.claims.compact(now);
    }
    return this.claims.claim(key, expiresAtSeconds, now);
  }

  /** The untrusted window in force now (epoch seconds), or null. */
  untrustedWindow(): { since: number; until: number; refusesIatUpTo: number } | null {
    const ub = this.untrustedBefore;
    if (ub === null || epochSeconds(this.clock) >= ub + REPLAY_UNTRUSTED_WINDOW_SECONDS) return null;
    return { since: ub, until: ub + REPLAY_UNTRUSTED_WINDOW_SECONDS, refusesIatUpTo: ub + ASSERTION_MAX_FUTURE_IAT_SECONDS };
  }

  async close(): Promise<void> {}
}

/** Invalidation within one process: handlers run synchronously on publish. */
export class LocalInvalidationBus implements InvalidationBus {
  private readonly handlers: ((channel: 'clients' | 'keys', id: string) => void)[] = [];

  async publish(channel: 'clients' | 'keys', id: string): Promise<void> {
    for (const h of this.handlers) h(channel, id);
  }

  subscribe(handler: (channel: 'clients' | 'keys', id: string) => void): void {
    this.handlers.push(handler);
  }

  async close(): Promise<void> {}
}
