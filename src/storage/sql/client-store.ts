import type { JSONWebKeySet } from 'jose';
import type { AuthMethod, Client, ClientSecret, ClientStatus, SigningAlg } from '../../clients/client.js';
import { quotaColumn, quotaFromColumn } from './quota-column.js';
import { InitialAccessTokenSpent, OrgDisabled, OrgLimitReached, OrgMissing } from '../../orgs/errors.js';
import type { ClientListFilter, ClientPatch, ClientStore, CreateOptions, Page, Sql, SqlQueryable } from '../types.js';

interface ClientRow {
  client_id: string;
  client_name: string | null;
  status: ClientStatus;
  token_endpoint_auth_method: AuthMethod;
  token_endpoint_auth_signing_alg: string | null;
  access_token_signing_alg: SigningAlg | null;
  grant_types: string[];
  scopes: string[];
  audiences: string[];
  access_token_ttl: number | null;
  jwks: JSONWebKeySet | null;
  jwks_uri: string | null;
  registration_access_token_hash: Uint8Array | null;
  tokens_revoked_before: string | number | null;
  created_at: Date;
  updated_at: Date;
  last_used_at?: Date | null;
  token_quota?: unknown;
  org_id?: string | null;
  /** the status of its organization (joined) */
  org_status?: 'active' | 'disabled' | null;
  /** the token quota of its organization (joined) */
  org_token_quota?: unknown;
}
interface SecretRow {
  secret_id: string;
  client_id: string;
  secret_hash: Uint8Array;
  prefix: string;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
}

const ms = (d: Date | null): number | null => (d ? d.getTime() : null);
const date = (v: number | null): Date | null => (v === null ? null : new Date(v));
const buf = (b: Uint8Array | null): Buffer | null => (b ? Buffer.from(b) : null);

function toSecret(r: SecretRow): ClientSecret {
  return {
    secretId: r.secret_id,
    hash: Buffer.from(r.secret_hash),
    prefix: r.prefix,
    createdAt: r.created_at.getTime(),
    expiresAt: ms(r.expires_at),
    lastUsedAt: ms(r.last_used_at),
  };
}

function toClient(r: ClientRow, secrets: ClientSecret[]): Client {
  return {
    clientId: r.client_id,
    clientName: r.client_name,
    status: r.status,
    tokenEndpointAuthMethod: r.token_endpoint_auth_method,
    tokenEndpointAuthSigningAlg: r.token_endpoint_auth_signing_alg,
    accessTokenSigningAlg: r.access_token_signing_alg,
    grantTypes: r.grant_types,
    scopes: r.scopes,
    audiences: r.audiences,
    accessTokenTtl: r.access_token_ttl === null ? null : Number(r.access_token_ttl),
    jwks: r.jwks,
    jwksUri: r.jwks_uri,
    registrationAccessTokenHash: buf(r.registration_access_token_hash),
    secrets,
    tokensRevokedBefore: r.tokens_revoked_before === null || r.tokens_revoked_before === undefined ? null : Number(r.tokens_revoked_before),
    tokenQuota: quotaFromColumn(r.token_quota),
    createdAt: r.created_at.getTime(),
    updatedAt: r.updated_at.getTime(),
    // Only once the client has authenticated with an assertion (secrets keep their own).
    ...(r.last_used_at ? { lastUsedAt: r.last_used_at.getTime() } : {}),
    orgId: r.org_id ?? null,
    ...(r.org_id && r.org_status ? { orgStatus: r.org_status, orgTokenQuota: quotaFromColumn(r.org_token_quota) } : {}),
  };
}

/** A client row with its organization's status: what the client cache holds, so tokens need no second read. */
const SELECT_CLIENT = 'SELECT c.*, o.status AS org_status, o.token_quota AS org_token_quota FROM clients c LEFT JOIN orgs o ON o.org_id = c.org_id';

/**
 * Inside the creating transaction: locks the organization's row (so concurrent creations into it
 * are serialised on every engine), refuses a missing or disabled organization, claims one use of
 * an org-bound initial access token, and refuses a creation past max_clients. A refusal throws,
 * which rolls the whole transaction back (the token's use included).
 */
async function admitIntoOrg(tx: SqlQueryable, orgId: string, options: CreateOptions, now: number): Promise<void> {
  const { rows } = await tx.query<{ status: string; max_clients: number | null }>('SELECT status, max_clients FROM orgs WHERE org_id = $1 FOR UPDATE', [orgId]);
  const org = rows[0];
  if (!org) throw new OrgMissing();
  if (org.status !== 'active') throw new OrgDisabled(orgId);
  if (options.initialAccessTokenId !== undefined) {
    const used = await tx.query(
      `UPDATE org_initial_access_tokens SET uses = uses + 1
       WHERE id = $1 AND org_id = $2 AND revoked_at IS NULL AND expires_at > $3 AND (max_uses IS NULL OR uses < max_uses) RETURNING id`,
      [options.initialAccessTokenId, orgId, new Date(now)],
    );
    if (used.rows.length === 0) throw new InitialAccessTokenSpent();
  }
  if (org.max_clients !== null) {
    const max = Number(org.max_clients);
    const count = await tx.query<{ n: string | number }>('SELECT count(*) AS n FROM clients WHERE org_id = $1', [orgId]);
    if (Number(count.rows[0]?.n ?? 0) >= max) throw new OrgLimitReached(orgId, max);
  }
}

/** camelCase patch field → column. Listing them keeps every column name a literal (no input reaches SQL text). */
const PATCH_COLUMNS: Record<keyof ClientPatch, string> = {
  clientName: 'client_name',
  status: 'status',
  tokenEndpointAuthMethod: 'token_endpoint_auth_method',
  tokenEndpointAuthSigningAlg: 'token_endpoint_auth_signing_alg',
  accessTokenSigningAlg: 'access_token_signing_alg',
  grantTypes: 'grant_types',
  scopes: 'scopes',
  audiences: 'audiences',
  accessTokenTtl: 'access_token_ttl',
  jwks: 'jwks',
  jwksUri: 'jwks_uri',
  registrationAccessTokenHash: 'registration_access_token_hash',
  tokensRevokedBefore: 'tokens_revoked_before',
  tokenQuota: 'token_quota',
};

/** A page cursor over rows ordered by (created_at, id): opaque to callers, checked when read back. */
export function encodeCursor(createdAt: number, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id])).toString('base64url');
}
export function decodeCursor(cursor: string): [number, string] | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'string') return [v[0], v[1]];
  } catch {
    /* fall through */
  }
  return null;
}

export class InvalidCursorError extends Error {
  constructor() {
    super('invalid cursor');
    this.name = 'InvalidCursorError';
  }
}

async function insertSecret(q: SqlQueryable, clientId: string, s: ClientSecret): Promise<void> {
  await q.query('INSERT INTO client_secrets (secret_id, client_id, secret_hash, prefix, created_at, expires_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
    s.secretId,
    clientId,
    s.hash,
    s.prefix,
    new Date(s.createdAt),
    date(s.expiresAt),
    date(s.lastUsedAt),
  ]);
}

export class SqlClientStore implements ClientStore {
  private readonly sql: Sql;
  constructor(sql: Sql) {
    this.sql = sql;
  }

  async create(c: Client, options: CreateOptions = {}): Promise<void> {
    await this.sql.transaction(async (tx) => {
      if (c.orgId !== null) await admitIntoOrg(tx, c.orgId, options, c.createdAt);
      await tx.query(
        `INSERT INTO clients (client_id, client_name, status, token_endpoint_auth_method, token_endpoint_auth_signing_alg,
           access_token_signing_alg, grant_types, scopes, audiences, access_token_ttl, jwks, jwks_uri,
           registration_access_token_hash, tokens_revoked_before, created_at, updated_at, token_quota, org_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
        [
          c.clientId,
          c.clientName,
          c.status,
          c.tokenEndpointAuthMethod,
          c.tokenEndpointAuthSigningAlg,
          c.accessTokenSigningAlg,
          c.grantTypes,
          c.scopes,
          c.audiences,
          c.accessTokenTtl,
          c.jwks === null ? null : JSON.stringify(c.jwks),
          c.jwksUri,
          c.registrationAccessTokenHash,
          c.tokensRevokedBefore,
          new Date(c.createdAt),
          new Date(c.updatedAt),
          quotaColumn(c.tokenQuota),
          c.orgId,
        ],
      );
      for (const s of c.secrets) await insertSecret(tx, c.clientId, s);
    });
  }

  async get(clientId: string): Promise<Client | null> {
    const { rows } = await this.sql.query<ClientRow>(`${SELECT_CLIENT} WHERE c.client_id = $1`, [clientId]);
    const row = rows[0];
    if (!row) return null;
    const secrets = await this.sql.query<SecretRow>('SELECT * FROM client_secrets WHERE client_id = $1 ORDER BY created_at, secret_id', [clientId]);
    return toClient(row, secrets.rows.map(toSecret));
  }

  async update(clientId: string, patch: ClientPatch, now: number): Promise<Client | null> {
    const sets: string[] = [];
    const params: unknown[] = [clientId];
    for (const [field, column] of Object.entries(PATCH_COLUMNS) as [keyof ClientPatch, string][]) {
      if (!(field in patch)) continue;
      let value: unknown = patch[field];
      if (field === 'jwks' && value !== null && value !== undefined) value = JSON.stringify(value);
      if (field === 'tokenQuota') value = quotaColumn(value as ClientPatch['tokenQuota']);
      params.push(value ?? null);
      sets.push(`${column} = $${params.length}`);
    }
    params.push(new Date(now));
    sets.push(`updated_at = $${params.length}`);
    const { rows } = await this.sql.query<{ client_id: string }>(`UPDATE clients SET ${sets.join(', ')} WHERE client_id = $1 RETURNING client_id`, params);
    if (rows.length === 0) return null;
    return this.get(clientId);
  }

  async delete(clientId: string): Promise<boolean> {
    const { rows } = await this.sql.query('DELETE FROM clients WHERE client_id = $1 RETURNING client_id', [clientId]);
    return rows.length > 0;
  }

  async list(limit: number, cursor: string | null, filter: ClientListFilter = {}): Promise<Page<Client>> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (cursor) {
      const c = decodeCursor(cursor);
      if (!c) throw new InvalidCursorError();
      params.push(new Date(c[0]), c[1]);
      where.push(`(c.created_at, c.client_id) > ($${params.length - 1}, $${params.length})`);
    }
    if (filter.status) {
      params.push(filter.status);
      where.push(`c.status = $${params.length}`);
    }
    if (filter.authMethod) {
      params.push(filter.authMethod);
      where.push(`c.token_endpoint_auth_method = $${params.length}`);
    }
    if (filter.namePrefix) {
      params.push(filter.namePrefix.replace(/[\\%_]/g, (ch) => `\\${ch}`) + '%');
      where.push(`c.client_name LIKE $${params.length}`);
    }
    if (filter.orgId) {
      params.push(filter.orgId);
      where.push(`c.org_id = $${params.length}`);
    }
    params.push(limit + 1);
    const { rows } = await this.sql.query<ClientRow>(`${SELECT_CLIENT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY c.created_at, c.client_id LIMIT $${params.length}`, params);
    const page = rows.slice(0, limit);
    const ids = page.map((r) => r.client_id);
    const secrets = ids.length ? (await this.sql.query<SecretRow>('SELECT * FROM client_secrets WHERE client_id = ANY($1) ORDER BY created_at, secret_id', [ids])).rows : [];
    const byClient = new Map<string, ClientSecret[]>();
    for (const s of secrets) {
      const list = byClient.get(s.client_id) ?? [];
      list.push(toSecret(s));
      byClient.set(s.client_id, list);
    }
    const last = page[page.length - 1];
    return {
      items: page.map((r) => toClient(r, byClient.get(r.client_id) ?? [])),
      nextCursor: rows.length > limit && last ? encodeCursor(last.created_at.getTime(), last.client_id) : null,
    };
  }

  async addSecret(clientId: string, secret: ClientSecret): Promise<void> {
    await insertSecret(this.sql, clientId, secret);
  }

  async expireSecrets(clientId: string, secretIds: string[], expiresAt: number): Promise<void> {
    if (secretIds.length === 0) return;
    await this.sql.query('UPDATE client_secrets SET expires_at = $3 WHERE client_id = $1 AND secret_id = ANY($2) AND (expires_at IS NULL OR expires_at > $3)', [
      clientId,
      secretIds,
      new Date(expiresAt),
    ]);
  }

  async deleteSecret(clientId: string, secretId: string): Promise<boolean> {
    const { rows } = await this.sql.query('DELETE FROM client_secrets WHERE client_id = $1 AND secret_id = $2 RETURNING secret_id', [clientId, secretId]);
    return rows.length > 0;
  }

  async touchSecrets(lastUsed: ReadonlyMap<string, number>): Promise<void> {
    if (lastUsed.size === 0) return;
    const ids = [...lastUsed.keys()];
    const times = ids.map((id) => new Date(lastUsed.get(id) ?? 0));
    await this.sql.query(
      `UPDATE client_secrets s SET last_used_at = GREATEST(COALESCE(s.last_used_at, u.t), u.t)
       FROM unnest($1::text[], $2::timestamptz[]) AS u(id, t) WHERE s.secret_id = u.id`,
      [ids, times],
    );
  }

  async touchClients(lastUsed: ReadonlyMap<string, number>): Promise<void> {
    if (lastUsed.size === 0) return;
    const ids = [...lastUsed.keys()];
    const times = ids.map((id) => new Date(lastUsed.get(id) ?? 0));
    await this.sql.query(
      `UPDATE clients c SET last_used_at = GREATEST(COALESCE(c.last_used_at, u.t), u.t)
       FROM unnest($1::text[], $2::timestamptz[]) AS u(id, t) WHERE c.client_id = u.id`,
      [ids, times],
    );
  }

  async signingAlgsInUse(): Promise<string[]> {
    const { rows } = await this.sql.query<{ alg: string }>('SELECT DISTINCT access_token_signing_alg AS alg FROM clients WHERE access_token_signing_alg IS NOT NULL ORDER BY 1');
    return rows.map((r) => r.alg);
  }
}
