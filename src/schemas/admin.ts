import { Type } from '@sinclair/typebox';
import { ACCESS_TOKEN_ALGS, CLIENT_AUTH_METHODS } from '../protocol/index.js';

const DateTime = Type.String({ format: 'date-time' });
const NullableDateTime = Type.Union([DateTime, Type.Null()]);

export const AdminError = Type.Object({ error: Type.String(), error_description: Type.Optional(Type.String()) });

/** One secret as admins see it: never the secret, only its non-secret prefix. */
export const SecretView = Type.Object({
  secret_id: Type.String(),
  prefix: Type.String(),
  created_at: DateTime,
  expires_at: NullableDateTime,
  last_used_at: NullableDateTime,
  status: Type.Union([Type.Literal('active'), Type.Literal('expired')]),
});

const quotaLimit = (description: string) => Type.Integer({ minimum: 1, maximum: 1_000_000_000, description });

/** docs/contract.md "Quotas": limits on tokens issued per UTC second, hour and day (each optional), enforced or only counted. */
export const TokenQuota = Type.Object(
  {
    per_second: Type.Optional(quotaLimit('tokens per second')),
    per_hour: Type.Optional(quotaLimit('tokens per UTC hour')),
    per_day: Type.Optional(quotaLimit('tokens per UTC day')),
    enforce: Type.Boolean({ description: 'true: refuse past a limit (429); false: only count, log once per window, send the headers' }),
  },
  { additionalProperties: false },
);

/** The quota in force for a client: its own (`client`) or the configured default (`default`). */
export const EffectiveTokenQuota = Type.Object({
  per_second: Type.Optional(Type.Integer()),
  per_hour: Type.Optional(Type.Integer()),
  per_day: Type.Optional(Type.Integer()),
  enforce: Type.Boolean(),
  source: Type.Union([Type.Literal('client'), Type.Literal('default')]),
});

export const ClientView = Type.Object({
  client_id: Type.String(),
  client_name: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.Literal('active'), Type.Literal('disabled')]),
  token_endpoint_auth_method: Type.String(),
  token_endpoint_auth_signing_alg: Type.Union([Type.String(), Type.Null()]),
  access_token_signing_alg: Type.Union([Type.String(), Type.Null()]),
  grant_types: Type.Array(Type.String()),
  scope: Type.String(),
  audience: Type.Array(Type.String()),
  access_token_ttl: Type.Union([Type.Integer(), Type.Null()]),
  jwks: Type.Union([Type.Object({ keys: Type.Array(Type.Record(Type.String(), Type.Unknown())) }), Type.Null()]),
  jwks_uri: Type.Union([Type.String(), Type.Null()]),
  created_at: DateTime,
  updated_at: DateTime,
  last_used_at: NullableDateTime,
  secrets: Type.Array(SecretView),
  /** the client's own token quota; null: the configured default applies (TOKEN_QUOTA_*) */
  token_quota: Type.Union([TokenQuota, Type.Null()]),
  /** the quota in force and where it comes from; null: no limit */
  effective_token_quota: Type.Union([EffectiveTokenQuota, Type.Null()]),
  /** the organization the client belongs to; null = none */
  org_id: Type.Union([Type.String(), Type.Null()]),
});

export const ClientPage = Type.Object({ items: Type.Array(ClientView), next_cursor: Type.Union([Type.String(), Type.Null()]) });

export const ClientListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 500 })),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled')])),
    auth_method: Type.Optional(Type.Union(CLIENT_AUTH_METHODS.map((m) => Type.Literal(m)))),
    name_prefix: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    org_id: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: "only this organization's clients" })),
  },
  { additionalProperties: false },
);

export const ClientIdParams = Type.Object({ client_id: Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$' }) });
export const SecretParams = Type.Object({ client_id: Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$' }), secret_id: Type.String({ minLength: 1, maxLength: 100 }) });

/** Seconds, or a preset: 7d, 30d, 60d, 90d, 180d, 1y, never. */
export const Lifetime = Type.Union([Type.Integer({ minimum: 1, maximum: 10 * 365 * 86400 }), Type.Union(['7d', '30d', '60d', '90d', '180d', '1y', 'never'].map((p) => Type.Literal(p)))]);

export const ClientCreateBody = Type.Object(
  {
    client_name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    token_endpoint_auth_method: Type.Optional(Type.String()),
    token_endpoint_auth_signing_alg: Type.Optional(Type.String()),
    access_token_signing_alg: Type.Optional(Type.String()),
    grant_types: Type.Optional(Type.Array(Type.String())),
    scope: Type.Optional(Type.String()),
    audience: Type.Optional(Type.Array(Type.String())),
    access_token_ttl: Type.Optional(Type.Integer()),
    jwks: Type.Optional(Type.Object({ keys: Type.Array(Type.Record(Type.String(), Type.Unknown())) })),
    jwks_uri: Type.Optional(Type.String()),
    secret_expires_in: Type.Optional(Lifetime),
    token_quota: Type.Optional(Type.Union([TokenQuota, Type.Null()])),
    org_id: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'the organization the client lands in (an organization admin: its own)' })),
  },
  { additionalProperties: false },
);

export const ClientPatchBody = Type.Object(
  {
    client_name: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()])),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled')])),
    token_endpoint_auth_method: Type.Optional(Type.String()),
    token_endpoint_auth_signing_alg: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    access_token_signing_alg: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    scope: Type.Optional(Type.String()),
    audience: Type.Optional(Type.Array(Type.String())),
    access_token_ttl: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
    jwks: Type.Optional(Type.Union([Type.Object({ keys: Type.Array(Type.Record(Type.String(), Type.Unknown())) }), Type.Null()])),
    jwks_uri: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    /** the client's own quota, or null: back to the configured default */
    token_quota: Type.Optional(Type.Union([TokenQuota, Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const CreatedClient = Type.Object({ client: ClientView, client_secret: Type.Union([Type.String(), Type.Null()]), secret_id: Type.Union([Type.String(), Type.Null()]) });

export const RotateSecretBody = Type.Object(
  { expires_in: Type.Optional(Lifetime), previous_secret_ttl: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 86400 })) },
  { additionalProperties: false },
);
export const RotatedSecret = Type.Object({ secret_id: Type.String(), client_secret: Type.String(), expires_at: NullableDateTime, prefix: Type.String() });

/** RFC 7592 registration access token issued by an admin: shown this once, stored only as a hash. */
export const RotatedRegistrationToken = Type.Object({ registration_access_token: Type.String(), registration_client_uri: Type.String() });

export const RevokeTokensResult = Type.Object({ client_id: Type.String(), revoked_before: Type.Integer() });
export const RevokeTokenBody = Type.Union([
  Type.Object({ token: Type.String({ minLength: 1, maxLength: 8192 }) }, { additionalProperties: false }),
  Type.Object({ jti: Type.String({ minLength: 1, maxLength: 256 }), exp: Type.Integer({ minimum: 1 }), client_id: Type.Optional(Type.String({ maxLength: 255 })) }, { additionalProperties: false }),
]);
export const RevokedToken = Type.Object({ jti: Type.String(), exp: Type.Integer(), revoked: Type.Boolean() });

export const KeyView = Type.Object({
  kid: Type.String(),
  alg: Type.String(),
  state: Type.Union([Type.Literal('published'), Type.Literal('active'), Type.Literal('retired')]),
  origin: Type.String(),
  created_at: DateTime,
  activates_at: DateTime,
  retires_at: NullableDateTime,
  remove_at: NullableDateTime,
});
export const KeyList = Type.Object({ keys: Type.Array(KeyView) });
export const RotateKeyBody = Type.Object(
  { alg: Type.Optional(Type.Union(ACCESS_TOKEN_ALGS.map((a) => Type.Literal(a)))), activate_in: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 86400 })) },
  { additionalProperties: false },
);

export const AuditView = Type.Object({
  id: Type.String(),
  at: DateTime,
  actor: Type.String(),
  action: Type.String(),
  target: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.Union([Type.Literal('success'), Type.Literal('failure')]),
  request_id: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.Integer(), Type.Null()]),
  /** calls this row stands for: 1, or more for aggregated unauthenticated refusals */
  count: Type.Integer({ minimum: 1 }),
  /** the caller's address on aggregated rows (`other` past the per-minute cap), else null */
  source: Type.Union([Type.String(), Type.Null()]),
  /** the organization the event concerns, when any */
  org_id: Type.Union([Type.String(), Type.Null()]),
});
export const AuditPage = Type.Object({ items: Type.Array(AuditView), next_cursor: Type.Union([Type.String(), Type.Null()]) });

/** GET /admin/v1/audit: a page, optionally filtered (exact matches; `since` is inclusive). */
export const AuditListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 100 })),
    actor: Type.Optional(Type.String({ minLength: 1, maxLength: 300, description: 'only events by this actor (e.g. admin-token:…, client:ID)' })),
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'only events with this action (e.g. client.create)' })),
    target: Type.Optional(Type.String({ minLength: 1, maxLength: 600, description: 'only events about this target (a client_id, client_id/secret_id, kid:…, jti:…)' })),
    since: Type.Optional(Type.String({ minLength: 1, maxLength: 40, description: 'only events at or after this time (RFC 3339 date-time, e.g. 2026-01-31T12:00:00Z)' })),
  },
  { additionalProperties: false },
);

const UsagePoint = Type.Object({ start: DateTime, tokens: Type.Integer({ minimum: 0 }) });
const WindowUsage = Type.Object({ limit: Type.Integer(), used: Type.Integer({ minimum: 0 }), resets_at: DateTime });

/** GET /admin/v1/clients/:client_id/usage: tokens per UTC hour (48, oldest first) and day (30), and each quota window now. */
export const ClientUsage = Type.Object({
  client_id: Type.String(),
  hours: Type.Array(UsagePoint),
  days: Type.Array(UsagePoint),
  quota: Type.Object({ second: Type.Optional(WindowUsage), hour: Type.Optional(WindowUsage), day: Type.Optional(WindowUsage) }),
});

export const UsageTopQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })) }, { additionalProperties: false });

/** GET /admin/v1/usage/top: the clients with the most tokens in the current UTC hour. */
export const UsageTop = Type.Object({
  hour_start: DateTime,
  items: Type.Array(Type.Object({ client_id: Type.String(), client_name: Type.Union([Type.String(), Type.Null()]), tokens: Type.Integer({ minimum: 0 }) })),
});
const OrgIdString = Type.String({ minLength: 1, maxLength: 100, pattern: '^[\\x21-\\x7E]+$' });
export const OrgIdParams = Type.Object({ org_id: OrgIdString });
export const OrgIatParams = Type.Object({ org_id: OrgIdString, id: Type.String({ minLength: 1, maxLength: 100 }) });
const MaxClients = Type.Integer({ minimum: 0, maximum: 1000000 });
export const OrgView = Type.Object({
  org_id: Type.String(),
  name: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('disabled')]),
  max_clients: Type.Union([MaxClients, Type.Null()]),
  /** counted over all its clients, on top of each client's own; null: none */
  token_quota: Type.Union([TokenQuota, Type.Null()]),
  created_at: DateTime,
  updated_at: DateTime,
});
export const OrgPage = Type.Object({ items: Type.Array(OrgView), next_cursor: Type.Union([Type.String(), Type.Null()]) });
export const OrgListQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })), cursor: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);
const OrgName = Type.String({ minLength: 1, maxLength: 200 });
export const OrgCreateBody = Type.Object(
  {
    name: OrgName,
    max_clients: Type.Optional(Type.Union([MaxClients, Type.Null()], { description: 'unset: ORG_MAX_CLIENTS_DEFAULT; null: unlimited' })),
    token_quota: Type.Optional(Type.Union([TokenQuota, Type.Null()], { description: "tokens over all the organization's clients; null or unset: none" })),
  },
  { additionalProperties: false },
);
export const OrgPatchBody = Type.Object(
  {
    name: Type.Optional(OrgName),
    max_clients: Type.Optional(Type.Union([MaxClients, Type.Null()])),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled')])),
    token_quota: Type.Optional(Type.Union([TokenQuota, Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1 },
);
/** An org-bound RFC 7591 initial access token: at most 30 days, optionally use-counted. */
export const IatCreateBody = Type.Object(
  {
    expires_in: Type.Integer({ minimum: 1, maximum: 30 * 86400, description: 'seconds, at most 30 days' }),
    max_uses: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1000000 }), Type.Null()])),
  },
  { additionalProperties: false },
);
export const IssuedIat = Type.Object({ id: Type.String(), token: Type.String(), expires_at: DateTime, max_uses: Type.Union([Type.Integer(), Type.Null()]) });
