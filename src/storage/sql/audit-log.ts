import type { AuditEvent, AuditFilter, AuditLog, Page, SqlQueryable } from '../types.js';

interface AuditRow {
  id: string | number;
  at: Date;
  actor: string;
  action: string;
  target: string | null;
  outcome: 'success' | 'failure';
  request_id: string | null;
  detail: Record<string, unknown> | null;
  org_id?: string | null;
}

/** Append-only audit trail, newest first when listed; the cursor is the last id seen. */
export class SqlAuditLog implements AuditLog {
  private readonly sql: SqlQueryable;
  constructor(sql: SqlQueryable) {
    this.sql = sql;
  }

  async record(e: AuditEvent): Promise<void> {
    await this.sql.query('INSERT INTO audit_log (at, actor, action, target, outcome, request_id, detail, org_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
      new Date(e.at),
      e.actor,
      e.action,
      e.target,
      e.outcome,
      e.requestId,
      e.detail ? JSON.stringify(e.detail) : null,
      e.orgId ?? null,
    ]);
  }

  async list(limit: number, cursor: string | null, filter: AuditFilter = {}): Promise<Page<AuditEvent>> {
    const before = cursor !== null && /^\d{1,18}$/.test(cursor) ? cursor : null;
    // Every value is a bound parameter; only the fixed column names below enter the SQL text.
    const params: unknown[] = [limit + 1];
    const where: string[] = [];
    const add = (condition: string, value: unknown) => {
      params.push(value);
      where.push(condition.replace('?', `$${params.length}`));
    };
    if (before) add('id < ?', before);
    if (filter.actor !== undefined) add('actor = ?', filter.actor);
    if (filter.action !== undefined) add('action = ?', filter.action);
    if (filter.target !== undefined) add('target = ?', filter.target);
    if (filter.since !== undefined) add('at >= ?', new Date(filter.since));
    if (filter.orgId !== undefined) add('org_id = ?', filter.orgId);
    const { rows } = await this.sql.query<AuditRow>(`SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $1`, params);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map((r) => ({
        id: String(r.id),
        at: r.at.getTime(),
        actor: r.actor,
        action: r.action,
        target: r.target,
        outcome: r.outcome,
        requestId: r.request_id,
        detail: r.detail,
        ...(r.org_id ? { orgId: r.org_id } : {}),
      })),
      nextCursor: rows.length > limit && last ? String(last.id) : null,
    };
  }

  async prune(before: number): Promise<void> {
    await this.sql.query('DELETE FROM audit_log WHERE at < $1', [new Date(before)]);
  }
}
