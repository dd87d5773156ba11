import { Value } from '@sinclair/typebox/value';
import { ConfigSchema, type Config, type RawConfig } from './schema.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const INTEGER = /^-?\d+$/;
const BOOLEAN: Record<string, boolean> = { true: true, false: false };
const ASYMMETRIC_ASSERTION_ALGS = new Set(['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512', 'EdDSA', 'Ed25519']);

function coerce(name: string, raw: string): unknown {
  const prop = (ConfigSchema.properties as Record<string, { type?: string; anyOf?: { type?: string }[] }>)[name];
  const integer = prop?.type === 'integer' || prop?.anyOf?.some((s) => s.type === 'integer') === true;
  if (integer) return INTEGER.test(raw.trim()) ? Number(raw.trim()) : raw;
  if (prop?.type === 'boolean') return raw.toLowerCase() in BOOLEAN ? BOOLEAN[raw.toLowerCase()] : raw;
  return raw;
}

/** Variables whose value is never repeated in a message (a URL can hold a password). */
const SECRET_VARIABLES = new Set(['ADMIN_TOKEN', 'KEY_ENCRYPTION_KEY', 'DATABASE_URL', 'REDIS_URL']);

/** What a pattern-constrained variable must look like, in words. */
const PATTERN_IN_WORDS: Record<string, string> = {
  DATABASE_URL: 'a postgres:// or postgresql:// URL',
  REDIS_URL: 'a redis:// or rediss:// URL',
  KEY_ENCRYPTION_KEY: '32 random bytes in base64url (43 characters)',
  REDIS_KEY_PREFIX: '1 to 64 characters from A-Z, a-z, 0-9 and : { } _ . -',
  ASSERTION_ALGS: 'a comma-separated list of JWS algorithm names without spaces',
};

interface PropertySchema {
  type?: string;
  const?: unknown;
  anyOf?: PropertySchema[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
}

/** What `schema` accepts, in words: "one of A, B", "an integer between 0 and 65535", "true or false"… */
function expectation(name: string, schema: PropertySchema): string {
  if (schema.anyOf) {
    const literals = schema.anyOf.filter((s) => s.const !== undefined).map((s) => String(s.const));
    const others = schema.anyOf.filter((s) => s.const === undefined).map((s) => expectation(name, s));
    if (others.length === 0) return `one of ${literals.join(', ')}`;
    return [...others, ...literals].join(', or ');
  }
  if (schema.type === 'integer' || schema.type === 'number') {
    const kind = schema.type === 'integer' ? 'an integer' : 'a number';
    if (schema.minimum !== undefined && schema.maximum !== undefined) return `${kind} between ${schema.minimum} and ${schema.maximum}`;
    if (schema.minimum !== undefined) return `${kind} of at least ${schema.minimum}`;
    if (schema.maximum !== undefined) return `${kind} of at most ${schema.maximum}`;
    return kind;
  }
  if (schema.type === 'boolean') return 'true or false';
  const inWords = PATTERN_IN_WORDS[name];
  if (inWords) return inWords;
  const parts: string[] = [];
  if (schema.minLength !== undefined && schema.minLength > 1) parts.push(`at least ${schema.minLength} characters`);
  if (schema.maxLength !== undefined) parts.push(`at most ${schema.maxLength} characters`);
  if (schema.pattern !== undefined) parts.push(`matching ${schema.pattern}`);
  return parts.length > 0 ? parts.join(', ') : 'a non-empty string';
}

/** `NAME must be <what it accepts> (got "value")`, or `(value hidden)` for a secret. */
function invalidValue(name: string, raw: string): ConfigError {
  const schema = (ConfigSchema.properties as Record<string, PropertySchema>)[name] ?? {};
  const got = SECRET_VARIABLES.has(name) ? '(value hidden)' : `(got ${JSON.stringify(raw)})`;
  return new ConfigError(`${name} must be ${expectation(name, schema)} ${got}`);
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
    throw invalidValue(name, env[name] ?? '');
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
    // Production sits behind a load balancer, which needs a moment to see /readyz fail and stop routing.
    shutdownDelay: raw.SHUTDOWN_DELAY ?? (production ? 5 : 0),
    shutdownTimeout: raw.SHUTDOWN_TIMEOUT,
  };
}
