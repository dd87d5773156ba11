import type { Org, OrgStatus } from '../../clients/client.js';
import { quotaColumn, quotaFromColumn } from './quota-column.js';
import type { Page, SqlQueryable } from '../types.js';
import { InvalidCursorError, decodeCursor, encodeCursor } from './client-store.js';

interface OrgRow {
  org_id: string;
  name: string;
  status: OrgStatus;
  max_clients: number | null;
  token_quota?: unknown;
  created_at: Date;
  updated_at: Date;
}

interface IatRow {
  id: string;
  org_id: string;
  expires_at: Date;
  max_uses: number | null;
  uses: number;
  revoked_at: Date | null;
}

/** An org-bound initial access token at rest (only the SHA-256 of the token). Times in epoch ms. */
export interface StoredInitialAccessToken {
  id: string;
  orgId: string;
  hash: Buffer;
  expiresAt: number;
  maxUses: number | null;
  uses: number;
  revokedAt: number | null;
  createdAt: number;
}

export type OrgPatch = Partial<Pick<Org, 'name' | 'status' | 'maxClients' | 'tokenQuota'>>;

const toOrg = (r: OrgRow): Org => ({
  orgId: r.org_id,
  name: r.name,
  status: r.status,
  maxClients: r.max_clients === null ? null : Number(r.max_clients),
  tokenQuota: quotaFromColumn(r.token_quota),
  createdAt: r.created_at.getTime(),
  updatedAt: r.updated_at.getTime(),
});

const PATCH_COLUMNS: Record<keyof OrgPatch, string> = { name: 'name', status: 'status', maxClients: 'max_clients', tokenQuota: 'token_quota' };

/** Organizations and their initial access tokens (SQL). Client counting under the org row lock lives in the client store. */
export class SqlOrgStore {
  private readonly sql: SqlQueryable;
  constructor(sql: SqlQueryable) {
    this.sql = sql;
  }

  async create(o: Org): Promise<void> {
    await this.sql.query('INSERT INTO orgs (org_id, name, status, max_clients, created_at, updated_at, token_quota) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
      o.orgId,
      o.name,
      o.status,
      o.maxClients,
      new Date(o.createdAt),
      new Date(o.updatedAt),
      quotaColumn(o.tokenQuota),
    ]);
  }

  async get(orgId: string): Promise<Org | null> {
    const { rows } = await this.sql.query<OrgRow>('SELECT * FROM orgs WHERE org_id = $1', [orgId]);
    return rows[0] ? toOrg(rows[0]) : null;
  }

  async list(limit: number, cursor: string | null): Promise<Page<Org>> {
    const params: unknown[] = [];
    let where = '';
    if (cursor) {
      const c = decodeCursor(cursor);
      if (!c) throw new InvalidCursorError();
      params.push(new Date(c[0]), c[1]);
      where = 'WHERE (created_at, org_id) > ($1, $2)';
    }
    params.push(limit + 1);
    const { rows } = await this.sql.query<OrgRow>(`SELECT * FROM orgs ${where} ORDER BY created_at, org_id LIMIT $${params.length}`, params);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map(toOrg), nextCursor: rows.length > limit && last ? encodeCursor(last.created_at.getTime(), last.org_id) : null };
  }

  async update(orgId: string, patch: OrgPatch, now: number): Promise<Org | null> {
    const sets: string[] = [];
    const params: unknown[] = [orgId];
    for (const [field, column] of Object.entries(PATCH_COLUMNS) as [keyof OrgPatch, string][]) {
      if (!(field in patch)) continue;
      const value = patch[field] ?? null;
      params.push(field === 'tokenQuota' ? quotaColumn(value as OrgPatch['tokenQuota']) : value);
      sets.push(`${column} = $${params.length}`);
    }
    params.push(new Date(now));
    sets.push(`updated_at = $${params.length}`);
    const { rows } = await this.sql.query<OrgRow>(`UPDATE orgs SET ${sets.join(', ')} WHERE org_id = $1 RETURNING *`, params);
    return rows[0] ? toOrg(rows[0]) : null;
  }

  /** Deletes the organization (its initial access tokens with it); its clients must be gone first. */
  async delete(orgId: string): Promise<boolean> {
    const { rows } = await this.sql.query('DELETE FROM orgs WHERE org_id = $1 RETURNING org_id', [orgId]);
    return rows.length > 0;
  }

  /** Every client of the organization. */
  async clientIds(orgId: string): Promise<string[]> {
    const { rows } = await this.sql.query<{ client_id: string }>('SELECT client_id FROM clients WHERE org_id = $1 ORDER BY created_at, client_id', [orgId]);
    return rows.map((r) => r.client_id);
  }

  async createInitialAccessToken(t: StoredInitialAccessToken): Promise<void> {
    await this.sql.query('INSERT INTO org_initial_access_tokens (id, org_id, token_hash, expires_at, max_uses, uses, revoked_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
      t.id,
      t.orgId,
      t.hash,
      new Date(t.expiresAt),
      t.maxUses,
      t.uses,
      t.revokedAt === null ? null : new Date(t.revokedAt),
      new Date(t.createdAt),
    ]);
  }

  /** The token with this hash when it can still be used at `now` (not expired, revoked or used up; its organization active). */
  async usableInitialAccessToken(hash: Buffer, now: number): Promise<{ id: string; orgId: string } | null> {
    const { rows } = await this.sql.query<IatRow>(
      `SELECT t.* FROM org_initial_access_tokens t JOIN orgs o ON o.org_id = t.org_id
       WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2 AND (t.max_uses IS NULL OR t.uses < t.max_uses) AND o.status = 'active'`,
      [hash, new Date(now)],
    );
    const r = rows[0];
    return r ? { id: r.id, orgId: r.org_id } : null;
  }

  /** Revokes one token of the organization; false when it has no such token. */
  async revokeInitialAccessToken(orgId: string, id: string, now: number): Promise<boolean> {
    const { rows } = await this.sql.query('UPDATE org_initial_access_tokens SET revoked_at = COALESCE(revoked_at, $3) WHERE org_id = $1 AND id = $2 RETURNING id', [orgId, id, new Date(now)]);
    return rows.length > 0;
  }
}
