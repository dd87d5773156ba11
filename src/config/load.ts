import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Value } from '@sinclair/typebox/value';
import { parseQuotaSpec, type TokenQuota } from '../quota/token-quota.js';
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

/** Shannon entropy of the symbols' own frequencies, in bits per symbol, times their number. */
function shannonBits(symbols: readonly (string | number)[]): number {
  const counts = new Map<string | number, number>();
  for (const s of symbols) counts.set(s, (counts.get(s) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= n * Math.log2(n / symbols.length);
  return bits;
}

/**
 * The shortest p with s[i] = s[i - p] for every i ≥ p: a value made of one repeated unit has
 * p < length. It is the length minus the longest proper prefix that is also a suffix (the KMP
 * prefix function), in linear time whatever the input.
 */
function period(symbols: readonly (string | number)[]): number {
  const border: number[] = [0];
  for (let i = 1; i < symbols.length; i++) {
    let k = border[i - 1] ?? 0;
    while (k > 0 && symbols[i] !== symbols[k]) k = border[k - 1] ?? 0;
    border.push(symbols[i] === symbols[k] ? k + 1 : k);
  }
  return symbols.length - (border[symbols.length - 1] ?? 0);
}

/**
 * A simple, conservative estimate of a secret string's entropy, in bits: the Shannon entropy of
 * its characters' frequencies times its length, over its shortest repeating unit (so
 * `abcdabcd…` counts as `abcd`). It measures the string, not how it was made: it can only
 * over-estimate a guessable value made of many different characters, and it refuses one character
 * repeated, a short alphabet and a repeated pattern. Random tokens score well above 128 bits:
 * 48 random bytes in base64 (`openssl rand -base64 48`) about 330, 32 bytes in base64url or hex
 * about 200–250. (16 random bytes in hex, 32 characters over 16 symbols, score below 128.)
 */
export function estimateTokenEntropyBits(token: string): number {
  const chars = [...token];
  return shannonBits(chars.slice(0, period(chars)));
}

/** Production bar for ADMIN_TOKEN (RFC 6749 §10.10: guessing probability at most 2^-128). */
const MIN_ADMIN_TOKEN_BITS = 128;
/**
 * 32 random bytes hold about 30 distinct values (at least 16 except with probability far below
 * 2^-100) and never repeat a block: fewer distinct bytes, or a repeated block of 16 bytes or less,
 * is a hand-made key.
 */
const MIN_KEK_DISTINCT_BYTES = 16;

function weakKeyEncryptionKey(kek: string): boolean {
  const bytes = [...Buffer.from(kek, 'base64url')];
  return new Set(bytes).size < MIN_KEK_DISTINCT_BYTES || period(bytes) <= bytes.length / 2;
}

function readPem(name: 'TLS_CERT_FILE' | 'TLS_KEY_FILE', path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`cannot read ${name}=${JSON.stringify(path)}: ${code}; give a PEM file this process can read`);
  }
}

/** TLS_CERT_FILE and TLS_KEY_FILE: both or neither; a certificate, its private key, and a matching pair. */
function loadTls(certFile: string | undefined, keyFile: string | undefined): { cert: string; key: string } | null {
  if (certFile === undefined && keyFile === undefined) return null;
  if (certFile === undefined) throw new ConfigError('missing TLS_CERT_FILE: TLS_KEY_FILE is set; set both (HTTPS) or neither');
  if (keyFile === undefined) throw new ConfigError('missing TLS_KEY_FILE: TLS_CERT_FILE is set; set both (HTTPS) or neither');
  const cert = readPem('TLS_CERT_FILE', certFile);
  const key = readPem('TLS_KEY_FILE', keyFile);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new ConfigError(`invalid TLS_CERT_FILE=${JSON.stringify(certFile)}: not a PEM certificate`);
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new ConfigError(`invalid TLS_KEY_FILE=${JSON.stringify(keyFile)}: not an unencrypted PEM private key`);
  }
  if (!x509.checkPrivateKey(privateKey))
    throw new ConfigError(`invalid TLS_KEY_FILE=${JSON.stringify(keyFile)}: it is not the private key of the certificate in TLS_CERT_FILE=${JSON.stringify(certFile)}`);
  return { cert, key };
}

/**
 * TOKEN_QUOTA_DEFAULT (`per_hour=1000,per_day=20000,enforce=true`) or the per-field variables, not
 * both; unset = unlimited.
 */
function loadQuotaDefault(raw: RawConfig): TokenQuota | null {
  const fields = (['TOKEN_QUOTA_PER_SECOND', 'TOKEN_QUOTA_PER_HOUR', 'TOKEN_QUOTA_PER_DAY', 'TOKEN_QUOTA_ENFORCE'] as const).filter((n) => raw[n] !== undefined);
  if (raw.TOKEN_QUOTA_DEFAULT !== undefined) {
    if (fields.length) throw new ConfigError(`TOKEN_QUOTA_DEFAULT and ${fields.join(', ')} are both set: set the default quota one way, either TOKEN_QUOTA_DEFAULT or the TOKEN_QUOTA_PER_* variables`);
    try {
      return parseQuotaSpec(raw.TOKEN_QUOTA_DEFAULT);
    } catch (err) {
      throw new ConfigError(`invalid TOKEN_QUOTA_DEFAULT=${JSON.stringify(raw.TOKEN_QUOTA_DEFAULT)}: ${(err as Error).message}; e.g. per_hour=1000,per_day=20000,enforce=true`);
    }
  }
  if (fields.length === 0) return null;
  const q: TokenQuota = { perSecond: raw.TOKEN_QUOTA_PER_SECOND ?? null, perHour: raw.TOKEN_QUOTA_PER_HOUR ?? null, perDay: raw.TOKEN_QUOTA_PER_DAY ?? null, enforce: raw.TOKEN_QUOTA_ENFORCE ?? true };
  if (q.perSecond === null && q.perHour === null && q.perDay === null)
    throw new ConfigError('TOKEN_QUOTA_ENFORCE is set but no limit is: set TOKEN_QUOTA_PER_SECOND, TOKEN_QUOTA_PER_HOUR or TOKEN_QUOTA_PER_DAY too');
  return q;
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
    if (!raw.KEY_ENCRYPTION_KEY)
      throw new ConfigError('missing KEY_ENCRYPTION_KEY: NODE_ENV=production requires it; generate one with `node -e "console.log(crypto.randomBytes(32).toString(\'base64url\'))"`');
    const bits = Math.floor(estimateTokenEntropyBits(raw.ADMIN_TOKEN));
    if (bits < MIN_ADMIN_TOKEN_BITS)
      throw new ConfigError(
        `weak ADMIN_TOKEN: about ${bits} bits by its characters (a repeated character, a short alphabet or a repeated pattern); NODE_ENV=production requires at least ${MIN_ADMIN_TOKEN_BITS}; generate one with \`openssl rand -base64 48\``,
      );
    if (weakKeyEncryptionKey(raw.KEY_ENCRYPTION_KEY))
      throw new ConfigError(
        'weak KEY_ENCRYPTION_KEY: its 32 bytes have very few distinct values or repeat a block (all zeros, a pattern); NODE_ENV=production requires random bytes; generate one with `node -e "console.log(crypto.randomBytes(32).toString(\'base64url\'))"`',
      );
  }
  const tls = loadTls(raw.TLS_CERT_FILE, raw.TLS_KEY_FILE);
  // contract "Running it": no plain HTTP in production unless behind a trusted proxy (which terminates TLS).
  if (production && !tls && !raw.TRUST_PROXY) {
    throw new ConfigError(
      'no TLS: NODE_ENV=production serves no plain HTTP; set TLS_CERT_FILE and TLS_KEY_FILE (PEM) to serve HTTPS, or TRUST_PROXY=true when a reverse proxy in front terminates TLS',
    );
  }
  if (raw.CONSOLE_SESSION_IDLE > raw.CONSOLE_SESSION_MAX)
    throw new ConfigError(
      `invalid CONSOLE_SESSION_IDLE: ${raw.CONSOLE_SESSION_IDLE} seconds is longer than CONSOLE_SESSION_MAX (${raw.CONSOLE_SESSION_MAX} seconds), the absolute lifetime of a console session`,
    );
  const assertionAlgs = raw.ASSERTION_ALGS.split(',').filter(Boolean);
  for (const alg of assertionAlgs) {
    if (!ASYMMETRIC_ASSERTION_ALGS.has(alg))
      throw new ConfigError(`invalid ASSERTION_ALGS: ${JSON.stringify(alg)} is not an asymmetric JWS algorithm; allowed: ${[...ASYMMETRIC_ASSERTION_ALGS].join(', ')}`);
  }
  return {
    port: raw.PORT,
    adminPort: raw.ADMIN_PORT,
    host: raw.HOST,
    adminHost: raw.ADMIN_HOST,
    issuer,
    adminToken: raw.ADMIN_TOKEN ?? null,
    databaseUrl: raw.DATABASE_URL ?? null,
    databaseSchema: raw.DATABASE_SCHEMA,
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
    orgMaxClientsDefault: raw.ORG_MAX_CLIENTS_DEFAULT ?? null,
    trustProxy: raw.TRUST_PROXY,
    authFailureLimit: raw.AUTH_FAILURE_MAX === 0 ? null : { max: raw.AUTH_FAILURE_MAX, windowSeconds: raw.AUTH_FAILURE_WINDOW, blockSeconds: raw.AUTH_FAILURE_BLOCK },
    tls,
    logLevel: raw.LOG_LEVEL,
    logTokenSample: raw.LOG_TOKEN_SAMPLE,
    workers: raw.WORKERS === 'auto' ? Math.min(64, availableParallelism()) : raw.WORKERS,
    // Production sits behind a load balancer, which needs a moment to see /readyz fail and stop routing.
    shutdownDelay: raw.SHUTDOWN_DELAY ?? (production ? 5 : 0),
    shutdownTimeout: raw.SHUTDOWN_TIMEOUT,
    tokenQuotaDefault: loadQuotaDefault(raw),
    consoleSession: { idle: raw.CONSOLE_SESSION_IDLE, max: raw.CONSOLE_SESSION_MAX },
  };
}
