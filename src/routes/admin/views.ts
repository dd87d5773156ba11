import type { Client, Org } from '../../clients/client.js';
import type { SigningKey, Keyring } from '../../keys/keyring.js';
import type { AuditEvent } from '../../storage/types.js';
import { quotaToJson, type TokenQuota } from '../../quota/token-quota.js';

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

/**
 * The admin view of a client: metadata, status, secrets' metadata (never a secret or its hash), its
 * own token quota (null: the default) and the quota in force, with its source.
 */
export function clientView(c: Client, now: number, defaultQuota: TokenQuota | null) {
  const effective = c.tokenQuota ?? defaultQuota;
  // The latest of its secrets' last use and its own (assertion clients, private_key_jwt).
  const lastUsed = c.secrets.reduce<number | null>((a, s) => (s.lastUsedAt !== null && (a === null || s.lastUsedAt > a) ? s.lastUsedAt : a), c.lastUsedAt ?? null);
  return {
    client_id: c.clientId,
    client_name: c.clientName,
    status: c.status,
    token_endpoint_auth_method: c.tokenEndpointAuthMethod,
    token_endpoint_auth_signing_alg: c.tokenEndpointAuthSigningAlg,
    access_token_signing_alg: c.accessTokenSigningAlg,
    grant_types: c.grantTypes,
    scope: c.scopes.join(' '),
    audience: c.audiences,
    access_token_ttl: c.accessTokenTtl,
    jwks: (c.jwks as { keys: Record<string, unknown>[] } | null) ?? null,
    jwks_uri: c.jwksUri,
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
    last_used_at: isoOrNull(lastUsed),
    secrets: c.secrets.map((s) => ({
      secret_id: s.secretId,
      prefix: s.prefix,
      created_at: iso(s.createdAt),
      expires_at: isoOrNull(s.expiresAt),
      last_used_at: isoOrNull(s.lastUsedAt),
      status: s.expiresAt !== null && s.expiresAt <= now ? ('expired' as const) : ('active' as const),
    })),
    token_quota: c.tokenQuota ? quotaToJson(c.tokenQuota) : null,
    effective_token_quota: effective ? { ...quotaToJson(effective), source: c.tokenQuota ? ('client' as const) : ('default' as const) } : null,
    org_id: c.orgId,
  };
}

export function keyView(k: SigningKey, keyring: Keyring, now: number) {
  const state = keyring.stateOf(k, now);
  return {
    kid: k.kid,
    alg: k.alg,
    state: state === 'removed' ? ('retired' as const) : state,
    origin: k.origin,
    created_at: iso(k.createdAt),
    activates_at: iso(k.activatesAt),
    retires_at: isoOrNull(k.retiresAt),
    remove_at: isoOrNull(k.removeAt),
  };
}

export function auditView(e: AuditEvent) {
  const status = e.detail && typeof e.detail.status === 'number' ? e.detail.status : null;
  const count = e.detail && typeof e.detail.count === 'number' ? e.detail.count : 1;
  const source = e.detail && typeof e.detail.source === 'string' ? e.detail.source : null;
  return { id: e.id ?? '', at: iso(e.at), actor: e.actor, action: e.action, target: e.target, outcome: e.outcome, request_id: e.requestId, status, count, source, org_id: e.orgId ?? null };
}

const PRESETS: Record<string, number | null> = { '7d': 7 * 86400, '30d': 30 * 86400, '60d': 60 * 86400, '90d': 90 * 86400, '180d': 180 * 86400, '1y': 365 * 86400, never: null };

/** A lifetime in seconds or a preset → milliseconds (null = never; undefined = the default). */
export function lifetimeMs(value: number | string | undefined): number | null | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return value * 1000;
  const seconds = PRESETS[value];
  return seconds === null || seconds === undefined ? null : seconds * 1000;
}

export function orgView(o: Org) {
  return {
    org_id: o.orgId,
    name: o.name,
    status: o.status,
    max_clients: o.maxClients,
    token_quota: o.tokenQuota ? quotaToJson(o.tokenQuota) : null,
    created_at: iso(o.createdAt),
    updated_at: iso(o.updatedAt),
  };
}
