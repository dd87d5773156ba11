import type { Clock } from './clock.js';
import type { AuditEvent, AuditLog } from '../storage/types.js';

/** One refused, unauthenticated call. */
export interface Refusal {
  /** the audit actor, e.g. `unauthenticated` */
  actor: string;
  action: string;
  /** the caller's address (Fastify's request.ip, which honours TRUST_PROXY) */
  source: string;
  status: number;
  requestId: string;
}

export interface RefusalAuditOptions {
  /** length of one aggregation window; default one minute */
  windowMs?: number;
  /** most distinct (source, action, status) rows per window; the rest go to source `other`. Default 1,000 */
  maxRows?: number;
  /** how often a timer checks for a finished window; default 5 s */
  checkEveryMs?: number;
  logger?: { warn(obj: object, msg: string): void };
}

interface Row {
  event: Refusal;
  count: number;
}

export const OTHER_SOURCE = 'other';

/**
 * Audit records of unauthenticated refusals, aggregated: anyone can send them, so one row each
 * would let an anonymous caller grow the audit log (and its write load) at will. Each window (a
 * minute) yields one row per (actor, action, source, status) with `detail: {source, count,
 * status}`, at the window's start and with the window's first request id; at most `maxRows` such
 * rows per window, further sources adding to one `source: "other"` row per (actor, action, status).
 * Rows are written when the window ends (checked by a timer and by the next refusal) and at
 * close; a write that fails is logged and dropped, so memory stays bounded (two windows at most).
 * Authenticated calls never go through here.
 */
export class RefusalAudit {
  private readonly audit: AuditLog;
  private readonly clock: Clock;
  private readonly windowMs: number;
  private readonly maxRows: number;
  private readonly logger: RefusalAuditOptions['logger'];
  private window = -1;
  private rows = new Map<string, Row>();
  private writing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(audit: AuditLog, clock: Clock, options: RefusalAuditOptions = {}) {
    this.audit = audit;
    this.clock = clock;
    this.windowMs = options.windowMs ?? 60_000;
    this.maxRows = options.maxRows ?? 1_000;
    this.logger = options.logger;
    this.timer = setInterval(() => void this.rollover(), options.checkEveryMs ?? 5_000).unref();
  }

  record(r: Refusal): void {
    this.rollover();
    if (this.window < 0) this.window = this.windowOf(this.clock.now());
    let key = `${r.actor}\n${r.action}\n${r.status}\n${r.source}`;
    if (!this.rows.has(key) && this.rows.size >= this.maxRows) {
      key = `${r.actor}\n${r.action}\n${r.status}\n`;
      r = { ...r, source: OTHER_SOURCE };
    }
    const row = this.rows.get(key);
    if (row) row.count++;
    else this.rows.set(key, { event: r, count: 1 });
  }

  /** Rows held for the current window (tests and memory reporting). */
  size(): number {
    return this.rows.size;
  }

  /** Writes every held row now, the current window's included; resolves when written. */
  flush(): Promise<void> {
    this.writeWindow();
    return this.writing;
  }

  /** Stops the timer and writes what is held. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private windowOf(now: number): number {
    return Math.floor(now / this.windowMs);
  }

  /** Writes the held window once it has ended. */
  private rollover(): void {
    if (this.window >= 0 && this.windowOf(this.clock.now()) !== this.window) this.writeWindow();
  }

  private writeWindow(): void {
    if (this.rows.size === 0) {
      this.window = -1;
      return;
    }
    const at = this.window * this.windowMs;
    const events: AuditEvent[] = [...this.rows.values()].map(({ event: e, count }) => ({
      at,
      actor: e.actor,
      action: e.action,
      target: null,
      outcome: 'failure',
      requestId: e.requestId,
      detail: { status: e.status, source: e.source, count },
    }));
    this.rows = new Map();
    this.window = -1;
    this.writing = this.writing.then(async () => {
      for (const e of events) {
        await this.audit.record(e).catch((err: unknown) => this.logger?.warn({ err: { message: (err as Error).message } }, 'audit write failed'));
      }
    });
  }
}
