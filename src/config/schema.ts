import { Type, type Static } from '@sinclair/typebox';
import { ACCESS_TOKEN_ALGS, type AccessTokenAlg } from '../protocol/index.js';
import type { TokenQuota } from '../quota/token-quota.js';

/**
 * Every environment variable tokenmill reads, with its default and meaning. `load.ts` is the only
 * reader of process.env; everything else receives a typed `Config`.
 */
export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'public listener port' }),
  ADMIN_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8081, description: 'admin listener port; equal to PORT means one listener' }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1', description: 'bind address' }),
  ADMIN_HOST: Type.String({
    minLength: 1,
    default: '127.0.0.1',
    description: 'bind address of the admin listener (admin API, console, metrics); unused when ADMIN_PORT equals PORT (one listener on HOST)',
  }),
  ISSUER: Type.Optional(Type.String({ minLength: 1, description: 'iss of every token; https in production; default http://127.0.0.1:$PORT' })),
  ADMIN_TOKEN: Type.Optional(Type.String({ minLength: 32, description: 'bootstrap admin bearer token (at least 32 characters); generated in development' })),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://', description: 'postgres://… ; unset means embedded PGlite in DATA_DIR' })),
  DATABASE_SCHEMA: Type.String({
    pattern: '^(?!pg_)[a-z_][a-z0-9_]{0,62}$',
    default: 'tokenmill',
    description: 'PostgreSQL schema holding every tokenmill table (lower case letters, digits, _; at most 63; not pg_…); public keeps the tables of releases before it',
  }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'redis://… or rediss://… ; unset means in-process stores' })),
  REDIS_KEY_PREFIX: Type.String({
    minLength: 1,
    maxLength: 64,
    pattern: '^[A-Za-z0-9:{}_.-]+$',
    default: 'tokenmill:',
    description: 'prefix of every Redis key and channel (a hash tag such as {tokenmill}: on Redis Cluster)',
  }),
  DATA_DIR: Type.String({ minLength: 1, default: './data', description: 'embedded database and generated secrets' }),
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('production'), Type.Literal('test')], { default: 'development' }),
  KEY_ENCRYPTION_KEY: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', description: '32 random bytes, base64url (43 characters): encrypts private signing keys at rest' })),
  SIGNING_ALG: Type.Union(
    ACCESS_TOKEN_ALGS.map((a) => Type.Literal(a)),
    { default: 'ES256', description: 'default access-token signing algorithm' },
  ),
  ACCESS_TOKEN_TTL: Type.Integer({ minimum: 1, maximum: 86400, default: 3600, description: 'default access-token lifetime, seconds' }),
  JWKS_MAX_AGE: Type.Integer({ minimum: 0, maximum: 86400, default: 300, description: 'Cache-Control max-age of the JWKS, seconds; a new key is published this long before it signs' }),
  KEY_ROTATION_INTERVAL: Type.Integer({ minimum: 0, default: 2592000, description: 'seconds between automatic signing-key rotations (0 = never)' }),
  AUDIT_RETENTION: Type.Integer({ minimum: 1, maximum: 36500, default: 365, description: 'days an audit event is kept; older ones are deleted' }),
  KEYS_DIR: Type.String({ minLength: 1, default: './keys', description: 'operator-supplied PEM or JWK signing keys imported at start' }),
  BODY_LIMIT: Type.Integer({ minimum: 1024, maximum: 1048576, default: 16384, description: 'maximum form body, bytes' }),
  ASSERTION_AUDIENCE_TOKEN_ENDPOINT: Type.Boolean({ default: false, description: 'also accept the token endpoint URL as client-assertion aud (older clients)' }),
  ASSERTION_ALGS: Type.String({
    default: 'ES256,ES384,PS256,PS384,PS512,EdDSA,RS256,RS384,RS512',
    pattern: '^[A-Za-z0-9,]+$',
    description: 'comma-separated client-assertion algorithm allow-list (asymmetric only)',
  }),
  SECRET_TTL: Type.Optional(
    Type.Union([Type.Integer({ minimum: 1, maximum: 315360000 }), Type.Literal('never')], {
      description: 'default client-secret lifetime in seconds, or never; default: never in development, 90 days in production',
    }),
  ),
  ORG_MAX_CLIENTS_DEFAULT: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000000, description: 'max_clients of an organization created without one; unset = unlimited' })),
  CLIENT_CACHE_TTL: Type.Integer({ minimum: 0, maximum: 60, default: 30, description: 'seconds a client record is served from memory without a database read' }),
  TRUST_PROXY: Type.Boolean({ default: false, description: 'trust X-Forwarded-* from a reverse proxy (client IPs only; never the issuer)' }),
  AUTH_FAILURE_MAX: Type.Integer({
    minimum: 0,
    maximum: 1000000,
    default: 30,
    description: 'failed authentications one source address may make per AUTH_FAILURE_WINDOW; the next one blocks it (429) for AUTH_FAILURE_BLOCK seconds; 0 turns the limit off',
  }),
  AUTH_FAILURE_WINDOW: Type.Integer({ minimum: 1, maximum: 86400, default: 60, description: 'seconds over which failed authentications are counted per source address' }),
  AUTH_FAILURE_BLOCK: Type.Integer({ minimum: 1, maximum: 86400, default: 60, description: 'seconds a source address past AUTH_FAILURE_MAX is answered 429' }),
  TLS_CERT_FILE: Type.Optional(Type.String({ minLength: 1, description: 'PEM certificate (chain) file: both listeners serve HTTPS; with TLS_KEY_FILE' })),
  TLS_KEY_FILE: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key file of TLS_CERT_FILE' })),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  LOG_TOKEN_SAMPLE: Type.Integer({
    minimum: 1,
    maximum: 1000000,
    default: 1,
    description: 'write the request line of one successful token request in N (1: every one); refusals and every other request are always logged, and tokenmill_token_requests_total counts every one',
  }),
  WORKERS: Type.Union([Type.Integer({ minimum: 1, maximum: 64 }), Type.Literal('auto')], { default: 1, description: 'worker processes sharing the listeners (node:cluster), or auto: one per core' }),
  SHUTDOWN_DELAY: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 300,
      description: 'seconds /readyz answers 503 on SIGTERM, while requests are still served, before the listeners close; default 5 in production, 0 otherwise',
    }),
  ),
  CONSOLE_SESSION_IDLE: Type.Integer({ minimum: 60, maximum: 86400, default: 900, description: 'seconds without a request after which a web console session ends' }),
  CONSOLE_SESSION_MAX: Type.Integer({ minimum: 300, maximum: 604800, default: 43200, description: 'seconds after sign-in after which a web console session ends, active or not' }),
  SHUTDOWN_TIMEOUT: Type.Integer({ minimum: 1, maximum: 300, default: 25, description: 'seconds to drain in-flight requests on SIGTERM' }),
  TOKEN_QUOTA_DEFAULT: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'token quota of every client without its own, e.g. per_hour=1000,per_day=20000,enforce=true (enforce defaults to true); unset = unlimited',
    }),
  ),
  TOKEN_QUOTA_PER_SECOND: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'default quota: tokens per client per second (instead of TOKEN_QUOTA_DEFAULT)' })),
  TOKEN_QUOTA_PER_HOUR: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'default quota: tokens per client per UTC hour (instead of TOKEN_QUOTA_DEFAULT)' })),
  TOKEN_QUOTA_PER_DAY: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'default quota: tokens per client per UTC day (instead of TOKEN_QUOTA_DEFAULT)' })),
  TOKEN_QUOTA_ENFORCE: Type.Optional(Type.Boolean({ description: 'default quota: refuse past a limit (true, the default) or only count and log (false)' })),
});
export type RawConfig = Static<typeof ConfigSchema>;

/** The typed configuration every module receives (camelCase inside, per architecture "Rules we keep"). */
export interface Config {
  port: number;
  adminPort: number;
  host: string;
  /** bind address of the admin listener when it is a listener of its own */
  adminHost: string;
  issuer: string;
  adminToken: string | null;
  databaseUrl: string | null;
  /** the PostgreSQL schema of every table (search_path of each connection), embedded included */
  databaseSchema: string;
  redisUrl: string | null;
  redisKeyPrefix: string;
  dataDir: string;
  production: boolean;
  nodeEnv: 'development' | 'production' | 'test';
  keyEncryptionKey: string | null;
  signingAlg: AccessTokenAlg;
  accessTokenTtl: number;
  jwksMaxAge: number;
  keyRotationInterval: number;
  /** days an audit event is kept */
  auditRetentionDays: number;
  keysDir: string;
  bodyLimit: number;
  assertionAudienceTokenEndpoint: boolean;
  assertionAlgs: string[];
  clientCacheTtl: number;
  /** default lifetime of a new client secret, seconds; null = never expires */
  secretTtl: number | null;
  /** max_clients of an organization created without one; null = unlimited */
  orgMaxClientsDefault: number | null;
  trustProxy: boolean;
  /** the per-source failed-authentication limit (docs/threat-model.md REQ-A6); null = off (AUTH_FAILURE_MAX=0) */
  authFailureLimit: AuthFailureLimit | null;
  /** PEM certificate and key both listeners serve HTTPS with; null = plain HTTP */
  tls: { cert: string; key: string } | null;
  logLevel: string;
  /** LOG_TOKEN_SAMPLE: one successful token request's line in this many is written (1 = every one) */
  logTokenSample: number;
  /** worker processes (WORKERS=auto resolved to the cores available) */
  workers: number;
  /** seconds between SIGTERM (readiness false) and closing the listeners */
  shutdownDelay: number;
  shutdownTimeout: number;
  /** TOKEN_QUOTA_*: the token quota of a client without its own; null = unlimited */
  tokenQuotaDefault: TokenQuota | null;
  /** web console sessions: idle timeout and absolute lifetime, seconds */
  consoleSession: { idle: number; max: number };
}

/** AUTH_FAILURE_*: more than `max` failures in `windowSeconds` from one source block it for `blockSeconds`. */
export interface AuthFailureLimit {
  max: number;
  windowSeconds: number;
  blockSeconds: number;
}
