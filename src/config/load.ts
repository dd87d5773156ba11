import { Value } from '@sinclair/typebox/value';
import { ConfigSchema, type Config, type RawConfig } from './schema.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const INTEGER = /^-?\d+$/;
const BOOLEAN: Record<string, boolean> = { true: true, '1': true, yes: true, false: false, '0': false, no: false };
const ASYMMETRIC_ASSERTION_ALGS = new Set(['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512', 'EdDSA', 'Ed25519']);

function coerce(name: string, raw: string): unknown {
  const prop = (ConfigSchema.properties as Record<string, { type?: string; anyOf?: { type?: string }[] }>)[name];
  const integer = prop?.type === 'integer' || prop?.anyOf?.some((s) => s.type === 'integer') === true;
  if (integer) return INTEGER.test(raw.trim()) ? Number(raw.trim()) : raw;
  if (prop?.type === 'boolean') return raw.toLowerCase() in BOOLEAN ? BOOLEAN[raw.toLowerCase()] : raw;
  return raw;
}

function describe(name: string): string {
  const prop = (ConfigSchema.properties as Record<string, { description?: string }>)[name];
  return prop?.description ? ` (${prop.description})` : '';
}

/**
 * Reads, validates and normalises the configuration. Throws a ConfigError naming the variable and
 * how to fix it; the process entry prints it and exits non-zero.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const input: Record<string, unknown> = {};
  for (const name of Object.keys(ConfigSchema.properties)) {
    const raw = env[name];
    if (raw !== undefined && raw !== '') input[name] = coerce(name, raw);
  }
  const withDefaults = Value.Default(ConfigSchema, input) as Record<string, unknown>;
  const first = Value.Errors(ConfigSchema, withDefaults).First();
  if (first) {
    const name = first.path.replace(/^\//, '').split('/')[0] ?? '';
    const shown = name === 'ADMIN_TOKEN' || name === 'KEY_ENCRYPTION_KEY' ? '<hidden>' : JSON.stringify(env[name] ?? '');
    throw new ConfigError(`invalid ${name}=${shown}: ${first.message}${describe(name)}`);
  }
  const raw = withDefaults as RawConfig;
  const production = raw.NODE_ENV === 'production';
  const issuer = (raw.ISSUER ?? `http://127.0.0.1:${raw.PORT}`).replace(/\/+$/, '');
  let issuerUrl: URL;
  try {
    issuerUrl = new URL(issuer);
  } catch {
    throw new ConfigError(`invalid ISSUER=${JSON.stringify(issuer)}: not an absolute URL; set it to the public https URL of this server`);
  }
  if (issuerUrl.search || issuerUrl.hash) throw new ConfigError('invalid ISSUER: RFC 8414 §2 forbids a query or fragment; remove them');
  if (issuerUrl.protocol !== 'https:' && issuerUrl.protocol !== 'http:') throw new ConfigError('invalid ISSUER: use an https:// URL');
  if (production) {
    if (issuerUrl.protocol !== 'https:') throw new ConfigError('invalid ISSUER: NODE_ENV=production requires an https:// issuer (terminate TLS at your proxy and set ISSUER to the public URL)');
    if (!raw.ADMIN_TOKEN) throw new ConfigError('missing ADMIN_TOKEN: NODE_ENV=production requires it; generate one with `openssl rand -base64 48`');
    if (!raw.KEY_ENCRYPTION_KEY) throw new ConfigError('missing KEY_ENCRYPTION_KEY: NODE_ENV=production requires it; generate one with `node -e "console.log(crypto.randomBytes(32).toString(\'base64url\'))"`');
  }
  if (raw.WORKERS > 1 && (!raw.DATABASE_URL || !raw.REDIS_URL)) {
    throw new ConfigError('invalid WORKERS: more than one worker process needs DATABASE_URL and REDIS_URL (the embedded database and in-process revocations belong to one process)');
  }
  const assertionAlgs = raw.ASSERTION_ALGS.split(',').filter(Boolean);
  for (const alg of assertionAlgs) {
    if (!ASYMMETRIC_ASSERTION_ALGS.has(alg)) throw new ConfigError(`invalid ASSERTION_ALGS: ${JSON.stringify(alg)} is not an asymmetric JWS algorithm; allowed: ${[...ASYMMETRIC_ASSERTION_ALGS].join(', ')}`);
  }
  return {
    port: raw.PORT,
    adminPort: raw.ADMIN_PORT,
    host: raw.HOST,
    issuer,
    adminToken: raw.ADMIN_TOKEN ?? null,
    databaseUrl: raw.DATABASE_URL ?? null,
    redisUrl: raw.REDIS_URL ?? null,
    redisKeyPrefix: raw.REDIS_KEY_PREFIX,
    dataDir: raw.DATA_DIR,
    production,
    nodeEnv: raw.NODE_ENV,
    keyEncryptionKey: raw.KEY_ENCRYPTION_KEY ?? null,
    signingAlg: raw.SIGNING_ALG,
    accessTokenTtl: raw.ACCESS_TOKEN_TTL,
    jwksMaxAge: raw.JWKS_MAX_AGE,
    keyRotationInterval: raw.KEY_ROTATION_INTERVAL,
    auditRetentionDays: raw.AUDIT_RETENTION,
    keysDir: raw.KEYS_DIR,
    bodyLimit: raw.BODY_LIMIT,
    assertionAudienceTokenEndpoint: raw.ASSERTION_AUDIENCE_TOKEN_ENDPOINT,
    assertionAlgs,
    clientCacheTtl: raw.CLIENT_CACHE_TTL,
    // Secrets that never expire are allowed, but not the default in production (90 days there).
    secretTtl: raw.SECRET_TTL === 'never' ? null : (raw.SECRET_TTL ?? (production ? 90 * 86400 : null)),
    trustProxy: raw.TRUST_PROXY,
    logLevel: raw.LOG_LEVEL,
    workers: raw.WORKERS,
    shutdownTimeout: raw.SHUTDOWN_TIMEOUT,
  };
}
