import type { UsageRow, UsageSink } from '../../quota/token-quotas.js';
import type { SqlQueryable } from '../types.js';

/** Days of `token_usage` the maintenance job keeps (the usage view shows 30). */
export const USAGE_RETENTION_DAYS = 32;

/** Tokens issued per client and UTC hour (`token_usage`), written in batches by each node. */
export interface TokenUsageStore extends UsageSink {
  /** the client's hours with tokens in [from, to) (epoch ms of hour starts), oldest first */
  hourly(clientId: string, from: number, to: number): Promise<{ hourStart: number; tokens: number }[]>;
  /** tokens of every client (with `orgId`, of that organization's) per hour in [from, to), oldest first; hours without tokens are absent */
  totals(from: number, to: number, orgId?: string | null): Promise<{ hourStart: number; tokens: number }[]>;
  /** the clients with the most tokens in the hour starting at `hourStart`, most first; with `orgId`, that organization's only */
  top(hourStart: number, limit: number, orgId?: string | null): Promise<{ clientId: string; clientName: string | null; tokens: number }[]>;
}

export class SqlTokenUsage implements TokenUsageStore {
  private readonly q: SqlQueryable;
  constructor(q: SqlQueryable) {
    this.q = q;
  }

  /** One statement for the whole batch; each row adds to the stored count of its client and hour. */
  async add(rows: readonly UsageRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.q.query(
      `INSERT INTO token_usage (client_id, hour_start, tokens)
       SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::bigint[])
       ON CONFLICT (client_id, hour_start) DO UPDATE SET tokens = token_usage.tokens + EXCLUDED.tokens`,
      [rows.map((r) => r.clientId), rows.map((r) => new Date(r.hourStart)), rows.map((r) => r.tokens)],
    );
  }

  async hourly(clientId: string, from: number, to: number): Promise<{ hourStart: number; tokens: number }[]> {
    const { rows } = await this.q.query<{ hour_start: Date; tokens: string | number }>(
      'SELECT hour_start, tokens FROM token_usage WHERE client_id = $1 AND hour_start >= $2 AND hour_start < $3 ORDER BY hour_start',
      [clientId, new Date(from), new Date(to)],
    );
    return rows.map((r) => ({ hourStart: r.hour_start.getTime(), tokens: Number(r.tokens) }));
  }

  async totals(from: number, to: number, orgId: string | null = null): Promise<{ hourStart: number; tokens: number }[]> {
    const { rows } = await this.q.query<{ hour_start: Date; tokens: string | number }>(
      `SELECT u.hour_start, sum(u.tokens) AS tokens FROM token_usage u LEFT JOIN clients c ON c.client_id = u.client_id
       WHERE u.hour_start >= $1 AND u.hour_start < $2 AND ($3::text IS NULL OR c.org_id = $3) GROUP BY u.hour_start ORDER BY u.hour_start`,
      [new Date(from), new Date(to), orgId],
    );
    return rows.map((r) => ({ hourStart: r.hour_start.getTime(), tokens: Number(r.tokens) }));
  }

  async top(hourStart: number, limit: number, orgId: string | null = null): Promise<{ clientId: string; clientName: string | null; tokens: number }[]> {
    const { rows } = await this.q.query<{ client_id: string; client_name: string | null; tokens: string | number }>(
      `SELECT u.client_id, c.client_name, u.tokens FROM token_usage u LEFT JOIN clients c ON c.client_id = u.client_id
       WHERE u.hour_start = $1 AND ($3::text IS NULL OR c.org_id = $3) ORDER BY u.tokens DESC, u.client_id LIMIT $2`,
      [new Date(hourStart), limit, orgId],
    );
    return rows.map((r) => ({ clientId: r.client_id, clientName: r.client_name, tokens: Number(r.tokens) }));
  }

  /** Deletes the hours that started before `before` (epoch ms). */
  async prune(before: number): Promise<void> {
    await this.q.query('DELETE FROM token_usage WHERE hour_start < $1', [new Date(before)]);
  }
}
