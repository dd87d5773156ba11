import ipaddr from 'ipaddr.js';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { AuthFailureLimit } from '../config/schema.js';

/**
 * Counts failed authentications per source. `consume` records one failure and resolves with how
 * many ms the source is blocked from now on (0: not blocked). Shared by the fleet on Redis
 * (storage/kv/redis/failure-counter.ts), by a node's workers through the primary (cluster/), or
 * in this process.
 */
export interface FailureCounter {
  consume(source: string): Promise<number>;
}

/** The endpoints whose failures are counted (the label of tokenmill_auth_throttled_total). */
export type AuthEndpoint = 'token' | 'introspection' | 'revocation' | 'revocation_feed' | 'registration' | 'admin' | 'console';

/** Library options for AUTH_FAILURE_*: more than `max` failures in the window block for `blockSeconds`. */
export function limiterOptions(limit: AuthFailureLimit): { points: number; duration: number; blockDuration: number } {
  return { points: limit.max, duration: limit.windowSeconds, blockDuration: limit.blockSeconds };
}

/** Whether a rejection of rate-limiter-flexible means "over the limit" (as opposed to a store failure). */
export function blockedMsOf(rejection: unknown): number | null {
  return rejection instanceof RateLimiterRes ? Math.max(1, rejection.msBeforeNext) : null;
}

/** Counting in this process (embedded nodes, and the primary of WORKERS > 1 without Redis). */
export function memoryFailureCounter(limit: AuthFailureLimit): FailureCounter {
  const limiter = new RateLimiterMemory(limiterOptions(limit));
  return {
    consume: async (source) => {
      try {
        await limiter.consume(source);
        return 0;
      } catch (err) {
        const ms = blockedMsOf(err);
        if (ms === null) throw err;
        return ms;
      }
    },
  };
}

/**
 * The key a source is counted under: an IPv4 address as is (an IPv4-mapped IPv6 address as its
 * IPv4), an IPv6 address by its /64 (one subscriber usually holds a whole /64, so counting single
 * addresses would let it rotate through 2^64 of them). Anything else (a forwarded value that is not
 * an address) as given, cut to 64 characters.
 */
export function sourceKey(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip.slice(0, 64);
  const address = ipaddr.process(ip); // an IPv4-mapped IPv6 address becomes its IPv4 address
  if (address.kind() === 'ipv4') return address.toString();
  return `${(address as ipaddr.IPv6).parts
    .slice(0, 4)
    .map((p) => p.toString(16))
    .join(':')}::/64`;
}

/** At most this many blocked sources are remembered locally; past it the oldest entry is dropped. */
const MAX_BLOCKED = 100_000;
/** How often `anyBlocked` drops the blocks that have ended. */
const SWEEP_EVERY_MS = 5_000;

/**
 * Blocks told to every process that answers requests for the same count: the other nodes of a
 * fleet (Redis pub/sub, storage/kv/redis/invalidation-bus.ts), the other workers of a node
 * (cluster/). `announce` resolves once the block has been handed on (or could not be); every
 * process, the announcing one included, is then told through `onAnnounced`.
 */
export interface BlockBroadcast {
  announce(source: string, ms: number): Promise<void>;
  onAnnounced(handler: (source: string, ms: number) => void): void;
}

/** The longest block accepted from a broadcast: AUTH_FAILURE_BLOCK's maximum (config/schema.ts). */
const MAX_ANNOUNCED_MS = 86_400_000;

export interface FailureLimiterOptions {
  /** null: the limit is off (AUTH_FAILURE_MAX=0) */
  counter: FailureCounter | null;
  /** where the blocks this process starts are announced and others' are heard; absent: this process only */
  broadcast?: BlockBroadcast | null;
  logger: { warn(obj: object, msg: string): void };
  /** ms since the epoch for the local block times (the runtime's clock); default Date.now. The counters run on real time. */
  now?: () => number;
}

/**
 * The per-source failed-authentication limit (docs/threat-model.md REQ-A6, REQ-D11, REQ-I7).
 * `check` runs before any credential is looked at and is local: a map of the sources this process
 * has seen blocked, with their unblock time (no store round trip on any request, successful or
 * not). `fail` counts one failure in the shared counter (only failures pay that round trip) and,
 * when the counter answers "blocked", enters the source into the map and announces the block
 * (`broadcast`) before the failure is answered, so the other nodes and workers refuse the source
 * too, its right secret included. A process that missed the announcement (Redis reconnecting)
 * learns of the block at that source's next failure there: at most one more failed attempt per
 * process (plus those already in flight). Counting is per source only, never per
 * client_id: a client is never locked out for everyone, and the answers are the same whether the
 * client_id exists or not.
 */
export class FailureLimiter {
  readonly enabled: boolean;
  private readonly counter: FailureCounter | null;
  private readonly broadcast: BlockBroadcast | null;
  private readonly logger: FailureLimiterOptions['logger'];
  private readonly now: () => number;
  private readonly blocked = new Map<string, number>();
  private counterFailing = false;
  private nextSweep = 0;

  constructor(options: FailureLimiterOptions) {
    this.counter = options.counter;
    this.enabled = options.counter !== null;
    this.broadcast = this.enabled ? (options.broadcast ?? null) : null;
    this.broadcast?.onAnnounced((source, ms) => this.heard(source, ms));
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
  }

  /** Whether any source may be blocked here now: when not, `check` need not run (ended blocks are swept every few seconds). */
  anyBlocked(): boolean {
    if (this.blocked.size === 0) return false;
    const now = this.now();
    if (now >= this.nextSweep) {
      this.nextSweep = now + SWEEP_EVERY_MS;
      for (const [k, t] of this.blocked) if (t <= now) this.blocked.delete(k);
    }
    return this.blocked.size > 0;
  }

  /** Whole seconds until `ip` may authenticate again (Retry-After), or 0 when it may now. */
  check(ip: string): number {
    if (this.blocked.size === 0) return 0;
    const key = sourceKey(ip);
    const until = this.blocked.get(key);
    if (until === undefined) return 0;
    const left = until - this.now();
    if (left <= 0) {
      this.blocked.delete(key);
      return 0;
    }
    return Math.ceil(left / 1000);
  }

  /**
   * Counts one failed authentication of `ip` at `endpoint`. Never throws: a counter that cannot
   * count is logged (once per outage) and the failure goes uncounted, never answered 5xx.
   */
  async fail(ip: string, endpoint: AuthEndpoint): Promise<void> {
    if (!this.counter) return;
    const key = sourceKey(ip);
    let ms: number;
    try {
      ms = await this.counter.consume(key);
      if (this.counterFailing) {
        this.counterFailing = false;
        this.logger.warn({}, 'failed-authentication counter restored');
      }
    } catch (err) {
      if (!this.counterFailing) {
        this.counterFailing = true;
        this.logger.warn({ err: { message: (err as Error).message } }, 'failed-authentication counter unavailable: failures are not counted until it is back');
      }
      return;
    }
    if (ms <= 0) return;
    const now = this.now();
    const previous = this.blocked.get(key);
    const starts = previous === undefined || previous <= now;
    this.remember(key, now + ms, now);
    if (!starts) return;
    this.logger.warn({ source: ip.slice(0, 64), key, endpoint, blockSeconds: Math.ceil(ms / 1000) }, 'too many failed authentications from one source: answered 429 until the block ends');
    // Awaited, so the other processes have been told before this failure is answered.
    await this.broadcast?.announce(key, ms).catch(() => {});
  }

  /** A block announced by another process (or echoed back): entered here, never shortened. */
  private heard(source: unknown, ms: unknown): void {
    if (typeof source !== 'string' || source.length === 0 || source.length > 64) return;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) return;
    const now = this.now();
    const until = now + Math.min(ms, MAX_ANNOUNCED_MS);
    const previous = this.blocked.get(source);
    if (previous !== undefined && previous >= until) return;
    this.remember(source, until, now);
  }

  /** Sources blocked in this process now (tests, memory reporting). */
  blockedSources(): number {
    return this.blocked.size;
  }

  private remember(key: string, until: number, now: number): void {
    this.blocked.delete(key);
    if (this.blocked.size >= MAX_BLOCKED) {
      for (const [k, t] of this.blocked) if (t <= now) this.blocked.delete(k);
      if (this.blocked.size >= MAX_BLOCKED) {
        const oldest = this.blocked.keys().next().value;
        if (oldest !== undefined) this.blocked.delete(oldest);
      }
    }
    this.blocked.set(key, until);
  }
}
