import { quotaFromJson, quotaToJson, type TokenQuota } from '../../quota/token-quota.js';

/** A `token_quota` jsonb column (clients, orgs) as a parameter: its JSON text, or NULL. */
export const quotaColumn = (q: TokenQuota | null | undefined): string | null => (q ? JSON.stringify(quotaToJson(q)) : null);

/** A `token_quota` jsonb column as PostgreSQL (object) or PGlite (object or text) returns it; null when unset. */
export const quotaFromColumn = (value: unknown): TokenQuota | null => (value === null || value === undefined ? null : quotaFromJson(typeof value === 'string' ? JSON.parse(value) : value));
