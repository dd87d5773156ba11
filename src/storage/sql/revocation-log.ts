import type { RevocationEvent, RevocationLog, SqlQueryable } from '../types.js';

interface RevocationRow {
  kind: 'token' | 'client';
  jti: string | null;
  client_id: string | null;
  exp: string | number | null;
  revoked_before: string | number | null;
  until: string | number;
}

/** The durable copy of every revocation, kept until its effect lapses (a token's exp, a client's last token). */
export class SqlRevocationLog implements RevocationLog {
  private readonly sql: SqlQueryable;
  constructor(sql: SqlQueryable) {
    this.sql = sql;
  }

  async append(e: RevocationEvent): Promise<void> {
    if (e.type === 'token') {
      await this.sql.query('INSERT INTO revocations (kind, jti, client_id, exp, until) VALUES ($1, $2, $3, $4, $4)', ['token', e.jti, e.clientId, e.exp]);
    } else {
      await this.sql.query('INSERT INTO revocations (kind, client_id, revoked_before, until) VALUES ($1, $2, $3, $4)', ['client', e.clientId, e.revokedBefore, e.until]);
    }
  }

  async live(nowSeconds: number): Promise<RevocationEvent[]> {
    const { rows } = await this.sql.query<RevocationRow>('SELECT kind, jti, client_id, exp, revoked_before, until FROM revocations WHERE until > $1 ORDER BY id', [nowSeconds]);
    return rows.map((r): RevocationEvent =>
      r.kind === 'token'
        ? { type: 'token', jti: r.jti ?? '', exp: Number(r.exp), clientId: r.client_id }
        : { type: 'client', clientId: r.client_id ?? '', revokedBefore: Number(r.revoked_before), until: Number(r.until) },
    );
  }

  async prune(nowSeconds: number): Promise<void> {
    await this.sql.query('DELETE FROM revocations WHERE until <= $1', [nowSeconds]);
  }
}
