import type { Logger } from 'pino';
import { TooManyRequests } from '../errors/oauth-errors.js';
import type { Clock } from '../lib/clock.js';
import { rateLimitHeaders, rateLimitPolicy, type WindowState } from './rate-limit-headers.js';
import type { QuotaIncrement, SharedCounts } from './shared-counts.js';
import { QUOTA_WINDOWS, hasLimits, type QuotaWindowName, type TokenQuota } from './token-quota.js';

/** How often the counts of this process are added to the shared ones (fleet: Redis; workers: the primary). */
export const QUOTA_FLUSH_MS = 100;
/** How often the per-hour usage is written to SQL (one statement for every client). */
export const USAGE_FLUSH_MS = 5_000;
/** A window whose client made no request for this long is no longer read back at every flush. */
const READ_IDLE_MS = 2_000;
/** An entry with nothing left to flush is dropped after this long without a request. */
const EVICT_IDLE_MS = 120_000;
/** Shared keys outlive their window by this much (clock skew between nodes). */
const KEY_MARGIN_MS = 60_000;
const HOUR_MS = 3_600_000;
/** Count keys of organizations (client ids are server-generated and never hold a colon). */
const ORG_KEY_PREFIX = 'org:';
/** RateLimit policy names of an organization's windows: `org-hour`. */
const ORG_POLICY_PREFIX = 'org-' as const;

/** What the token endpoint decides on: the client, its own quota, and its organization's. */
export interface QuotaSubject {
  clientId: string;
  tokenQuota: TokenQuota | null;
  orgId?: string | null;
  /** the token quota of its organization (null: none) */
  orgTokenQuota?: TokenQuota | null;
}

/** One hour of one client's issued tokens, as written to `token_usage`. */
export interface UsageRow {
  clientId: string;
  /** epoch ms of the UTC hour's start */
  hourStart: number;
  tokens: number;
}

/** Where the per-hour usage goes (SQL `token_usage`; a worker's primary over IPC). */
export interface UsageSink {
  add(rows: readonly UsageRow[]): Promise<void>;
}

/** One window of one client on this process: the shared total last read, and what this process added since. */
interface WindowCount {
  start: number;
  /** the shared total at the last flush (this process's flushed tokens included) */
  shared: number;
  /** issued here, not yet sent */
  pending: number;
  /** sent, not yet acknowledged */
  inFlight: number;
  /** the "quota exceeded" line has been logged for this window */
  warned: boolean;
}

interface Entry {
  /** by index of QUOTA_WINDOWS */
  windows: (WindowCount | null)[];
  touchedAt: number;
  usageHour: number;
  usageCount: number;
}

/** One token request's windows, as `admit` decides it. */
interface Decision {
  states: WindowState[];
  counts: WindowCount[];
  enforced: boolean[];
  /** the enforced window that refuses the request (the one that resets last), if any */
  refused: WindowState | null;
}

/** RateLimit-Policy text per quota object and policy prefix: a client record's quota does not change while it is cached. */
const policies = { '': new WeakMap<TokenQuota, string>(), [ORG_POLICY_PREFIX]: new WeakMap<TokenQuota, string>() };

function policyOf(q: TokenQuota, prefix: '' | typeof ORG_POLICY_PREFIX): string {
  const cache = policies[prefix];
  let text = cache.get(q);
  if (text === undefined) cache.set(q, (text = rateLimitPolicy(q, prefix)));
  return text;
}

/** A window's figures for the admin usage view. */
export interface WindowUsage {
  name: QuotaWindowName;
  limit: number;
  used: number;
  /** epoch ms */
  resetsAt: number;
}

export interface TokenQuotasOptions {
  /** TOKEN_QUOTA_*: the quota of a client without its own; null = unlimited */
  defaultQuota: TokenQuota | null;
  clock: Clock;
  logger: Pick<Logger, 'warn' | 'info'>;
  /** null: counts are exact, in this process (embedded, one process) */
  shared: SharedCounts | null;
  /** where the per-hour usage is written; null: not recorded */
  usage: UsageSink | null;
  /** a refused request, by window (metrics) */
  onRejected?: (window: QuotaWindowName) => void;
  flushMs?: number;
  usageFlushMs?: number;
}

/**
 * Per-client token quotas at the token endpoint (docs/contract.md "Quotas"). The hot path is one Map
 * lookup and a few increments: no I/O. With `shared` counts (Redis for a fleet, the primary for
 * workers), every QUOTA_FLUSH_MS the increments of each active client window go out in one batch and
 * the shared totals come back with them; a request is decided on the last shared total plus what this
 * process issued since. When the shared counts cannot be reached, each process goes on with what it
 * knows (weaker limits, still on: threat model §3.1), logged once, and catches up when they return.
 * The per-hour usage is written to SQL in one batched statement every USAGE_FLUSH_MS.
 */
export class TokenQuotas {
  private readonly entries = new Map<string, Entry>();
  /** usage rows of hours this process has moved past (or failed to write), by `client\nhour` */
  private spill = new Map<string, UsageRow>();
  private readonly o: TokenQuotasOptions;
  private readonly timers: NodeJS.Timeout[] = [];
  private flushing = false;
  private degraded = false;
  private usageFailing = false;

  constructor(options: TokenQuotasOptions) {
    this.o = options;
    if (options.shared) this.timers.push(setInterval(() => void this.flushShared(), options.flushMs ?? QUOTA_FLUSH_MS).unref());
    if (options.usage) this.timers.push(setInterval(() => void this.flushUsage(), options.usageFlushMs ?? USAGE_FLUSH_MS).unref());
  }

  get defaultQuota(): TokenQuota | null {
    return this.o.defaultQuota;
  }

  /** The quota that applies to a client: its own, else the configured default (null: unlimited). */
  effective(client: { tokenQuota: TokenQuota | null }): TokenQuota | null {
    return client.tokenQuota ?? this.o.defaultQuota;
  }

  private entry(key: string, now: number): Entry {
    let e = this.entries.get(key);
    if (!e) this.entries.set(key, (e = { windows: [null, null, null], touchedAt: now, usageHour: now - (now % HOUR_MS), usageCount: 0 }));
    e.touchedAt = now;
    return e;
  }

  /**
   * Decides one token request of an authenticated client that passed the grant checks: counts it and
   * returns the RateLimit headers (none without a quota), or throws TooManyRequests past an enforced
   * quota (not counted: no token is issued). A client of an organization with a token quota is also
   * held to that quota, counted over all the organization's clients (policies named `org-…`).
   */
  admit(client: QuotaSubject): Record<string, string> {
    const now = this.o.clock.now();
    const e = this.entry(client.clientId, now);
    const quota = this.effective(client);
    const orgQuota = client.orgId ? (client.orgTokenQuota ?? null) : null;
    let headers: Record<string, string> = {};
    const own = hasLimits(quota);
    const org = hasLimits(orgQuota) && !!client.orgId;
    if (own || org) {
      const d: Decision = { states: [], counts: [], enforced: [], refused: null };
      if (own) this.scan(d, e, quota, '', now);
      if (org) this.scan(d, this.entry(ORG_KEY_PREFIX + client.orgId, now), orgQuota, ORG_POLICY_PREFIX, now);
      const policy = own && org ? `${policyOf(quota, '')}, ${policyOf(orgQuota, ORG_POLICY_PREFIX)}` : own ? policyOf(quota, '') : policyOf(orgQuota as TokenQuota, ORG_POLICY_PREFIX);
      const who = (s: WindowState) => (s.name === s.window ? { client_id: client.clientId } : { client_id: client.clientId, org_id: client.orgId });
      const r = d.refused;
      if (r) {
        this.o.onRejected?.(r.window);
        const c = d.counts[d.states.indexOf(r)]!;
        if (!c.warned) {
          c.warned = true;
          this.o.logger.warn({ ...who(r), window: r.name, limit: r.limit, used: r.used }, 'token quota reached: refusing token requests until the window resets');
        }
        const whose = r.name === r.window ? '' : "the organization's ";
        throw new TooManyRequests(`${whose}token quota exceeded: at most ${r.limit} tokens per ${r.window}; retry after ${r.resetIn} seconds`, r.resetIn, rateLimitHeaders(d.states, policy));
      }
      for (let j = 0; j < d.states.length; j++) {
        const s = d.states[j]!;
        const c = d.counts[j]!;
        c.pending++;
        s.used++;
        if (s.used > s.limit && !c.warned && !d.enforced[j]) {
          c.warned = true;
          this.o.logger.warn({ ...who(s), window: s.name, limit: s.limit, used: s.used }, 'token quota exceeded (enforce: false): counted, not refused; logged once per client and window');
        }
      }
      headers = rateLimitHeaders(d.states, policy);
    }
    const hour = now - (now % HOUR_MS);
    if (e.usageHour !== hour) {
      this.spillUsage(client.clientId, e);
      e.usageHour = hour;
    }
    e.usageCount++;
    return headers;
  }

  /** Adds the windows of `q` (counted in `entry`) to the decision, and notes the one that refuses. */
  private scan(d: Decision, entry: Entry, q: TokenQuota, prefix: string, now: number): void {
    for (let i = 0; i < QUOTA_WINDOWS.length; i++) {
      const w = QUOTA_WINDOWS[i]!;
      const limit = q[w.field];
      if (limit === null) continue;
      const start = now - (now % w.ms);
      let c = entry.windows[i];
      if (!c || c.start !== start) entry.windows[i] = c = { start, shared: 0, pending: 0, inFlight: 0, warned: false };
      const state: WindowState = {
        name: prefix + w.name,
        window: w.name,
        limit,
        used: c.shared + c.pending + c.inFlight,
        seconds: w.ms / 1000,
        resetIn: Math.max(1, Math.ceil((start + w.ms - now) / 1000)),
      };
      if (q.enforce && state.used >= limit && (!d.refused || state.resetIn > d.refused.resetIn)) d.refused = state;
      d.states.push(state);
      d.counts.push(c);
      d.enforced.push(q.enforce);
    }
  }

  /** The current window figures of each limit of `quota`, read from the shared counts when there are some. */
  async windows(clientId: string, quota: TokenQuota | null): Promise<WindowUsage[]> {
    if (!hasLimits(quota)) return [];
    const now = this.o.clock.now();
    const e = this.entries.get(clientId);
    const out: WindowUsage[] = [];
    for (let i = 0; i < QUOTA_WINDOWS.length; i++) {
      const w = QUOTA_WINDOWS[i]!;
      const limit = quota[w.field];
      if (limit === null) continue;
      const start = now - (now % w.ms);
      const c = e?.windows[i];
      const own = c && c.start === start ? c : null;
      let shared = own?.shared ?? 0;
      if (this.o.shared) {
        try {
          shared = (await this.o.shared.add([{ key: this.key(clientId, w.name, start), by: 0, expiresAt: start + w.ms + KEY_MARGIN_MS }]))[0] ?? shared;
        } catch {
          /* the shared counts are unreachable: what this process knows */
        }
      }
      out.push({ name: w.name, limit, used: shared + (own ? own.pending + own.inFlight : 0), resetsAt: start + w.ms });
    }
    return out;
  }

  private key(clientId: string, window: QuotaWindowName, start: number): string {
    return `quota:${window}:${start / 1000}:${clientId}`;
  }

  /** Adds this process's increments to the shared counts and reads the totals back (one batch). */
  async flushShared(): Promise<void> {
    const shared = this.o.shared;
    if (!shared || this.flushing) return;
    this.flushing = true;
    try {
      const now = this.o.clock.now();
      const batch: { c: WindowCount; inc: QuotaIncrement }[] = [];
      for (const [id, e] of this.entries) {
        for (let i = 0; i < QUOTA_WINDOWS.length; i++) {
          const c = e.windows[i];
          if (!c) continue;
          const w = QUOTA_WINDOWS[i]!;
          if (c.start + w.ms <= now) {
            e.windows[i] = null;
            continue;
          }
          if (c.pending === 0 && now - e.touchedAt > READ_IDLE_MS) continue;
          c.inFlight = c.pending;
          c.pending = 0;
          batch.push({ c, inc: { key: this.key(id, w.name, c.start), by: c.inFlight, expiresAt: c.start + w.ms + KEY_MARGIN_MS } });
        }
      }
      if (batch.length === 0) return;
      try {
        const totals = await shared.add(batch.map((b) => b.inc));
        batch.forEach((b, i) => {
          b.c.shared = totals[i] ?? b.c.shared + b.c.inFlight;
          b.c.inFlight = 0;
        });
        if (this.degraded) {
          this.degraded = false;
          this.o.logger.info('token quota counts are shared again');
        }
      } catch (err) {
        // Unknown whether they were added: counted again on the next success (over-counting, never under).
        for (const b of batch) {
          b.c.pending += b.c.inFlight;
          b.c.inFlight = 0;
        }
        if (!this.degraded) {
          this.degraded = true;
          this.o.logger.warn({ err: { message: (err as Error).message } }, 'token quota counts cannot be shared: each process counts on its own until they can (limits are weaker, still on)');
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private spillUsage(clientId: string, e: Entry): void {
    if (e.usageCount === 0) return;
    const k = `${clientId}\n${e.usageHour}`;
    const row = this.spill.get(k);
    if (row) row.tokens += e.usageCount;
    else this.spill.set(k, { clientId, hourStart: e.usageHour, tokens: e.usageCount });
    e.usageCount = 0;
  }

  /** Writes the per-hour usage counted since the last write (one statement). */
  async flushUsage(): Promise<void> {
    const sink = this.o.usage;
    if (!sink) return;
    const now = this.o.clock.now();
    for (const [id, e] of this.entries) {
      this.spillUsage(id, e);
      // Idle and every window over: nothing left to count against.
      if (now - e.touchedAt > EVICT_IDLE_MS && e.windows.every((c, i) => !c || c.start + QUOTA_WINDOWS[i]!.ms <= now)) this.entries.delete(id);
    }
    if (this.spill.size === 0) return;
    const rows = this.spill;
    this.spill = new Map();
    try {
      await sink.add([...rows.values()]);
      this.usageFailing = false;
    } catch (err) {
      // Kept for the next write (merged with what comes meanwhile).
      for (const [k, row] of rows) {
        const now = this.spill.get(k);
        if (now) now.tokens += row.tokens;
        else this.spill.set(k, row);
      }
      if (!this.usageFailing) {
        this.usageFailing = true;
        this.o.logger.warn({ err: { message: (err as Error).message } }, 'recording token usage failed; will retry');
      }
    }
  }

  /** Stops the timers and writes what is left. */
  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    await this.flushShared();
    await this.flushUsage();
  }
}
