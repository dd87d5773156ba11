import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../lib/clock.js';
import type { SqlQueryable } from '../storage/types.js';

const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

export interface ConsoleSession {
  /** who acts, by the admin API's identifier (`admin-token:…` or `client:…`) */
  actor: string;
  /** the per-session CSRF token every form carries */
  csrfToken: string;
  createdAt: number;
}

export interface SessionLimits {
  /** ms without a request after which the session ends */
  idleMs: number;
  /** ms after sign-in after which the session ends, active or not */
  absoluteMs: number;
}

/**
 * Console sessions in SQL (migration 008), so every node of a fleet knows them. The session id is
 * 32 random bytes (base64url) held only by the browser's cookie; the table has its SHA-256. The
 * CSRF token is an HMAC of the id: nothing else to store, and it dies with the session.
 */
export class ConsoleSessions {
  private readonly sql: SqlQueryable;
  private readonly clock: Clock;
  private readonly limits: SessionLimits;

  constructor(sql: SqlQueryable, clock: Clock, limits: SessionLimits) {
    this.sql = sql;
    this.clock = clock;
    this.limits = limits;
  }

  /** A new session for `actor`; returns the id for the cookie (never stored). */
  async create(actor: string): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    const now = new Date(this.clock.now());
    await this.sql.query('INSERT INTO console_sessions (id_hash, actor, created_at, last_seen_at) VALUES ($1, $2, $3, $3)', [sha256(id), actor, now]);
    return id;
  }

  /**
   * The live session of `id`, its idle timer restarted; null when unknown, idle too long or past its
   * absolute lifetime (and then deleted). One statement: the check and the touch cannot interleave.
   */
  async resume(id: string): Promise<ConsoleSession | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return null;
    const now = this.clock.now();
    const { rows } = await this.sql.query<{ actor: string; created_at: Date }>(
      'UPDATE console_sessions SET last_seen_at = $2 WHERE id_hash = $1 AND last_seen_at > $3 AND created_at > $4 RETURNING actor, created_at',
      [sha256(id), new Date(now), new Date(now - this.limits.idleMs), new Date(now - this.limits.absoluteMs)],
    );
    const row = rows[0];
    if (!row) {
      await this.end(id);
      return null;
    }
    return { actor: row.actor, csrfToken: csrfToken(id), createdAt: row.created_at.getTime() };
  }

  /** Ends the session on every node (sign-out). */
  async end(id: string): Promise<void> {
    await this.sql.query('DELETE FROM console_sessions WHERE id_hash = $1', [sha256(id)]);
  }

  /** Deletes sessions past their idle or absolute limit (run by the maintenance job). */
  async prune(now: number): Promise<void> {
    await this.sql.query('DELETE FROM console_sessions WHERE last_seen_at <= $1 OR created_at <= $2', [new Date(now - this.limits.idleMs), new Date(now - this.limits.absoluteMs)]);
  }
}

/** The CSRF token of a session id: HMAC-SHA256(id, purpose), base64url. */
function csrfToken(sessionId: string): string {
  return createHmac('sha256', sessionId).update('tokenmill console csrf v1').digest('base64url');
}

/** Constant-time comparison of a submitted CSRF token with the session's. */
export function csrfMatches(session: ConsoleSession, submitted: unknown): boolean {
  if (typeof submitted !== 'string') return false;
  const a = sha256(submitted);
  const b = sha256(session.csrfToken);
  return timingSafeEqual(a, b);
}
