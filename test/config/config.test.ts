import t from 'tap';
import type { Test } from 'tap';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { ConfigSchema } from '../../src/config/schema.js';

// 32 bytes with no pattern (production refuses an all-zero or patterned key).
const KEK = 'q3Jx7Vd0LmT9wZk2Rb8sYc5nHf1uGe4pAi6oEj0lKa8';
const ADMIN = 'adm1n-t0ken-that-is-long-enough-0123456789-SECRETVALUE';

/** Asserts loadConfig(env) throws a ConfigError whose message names `variable`; returns the message. */
function configError(t: Test, env: Record<string, string>, variable: string): string {
  let thrown: unknown = null;
  try {
    loadConfig(env);
  } catch (err) {
    thrown = err;
  }
  t.ok(thrown instanceof ConfigError, `ConfigError for ${JSON.stringify(env)}`);
  const message = thrown instanceof Error ? thrown.message : '';
  t.match(message, variable, `the message names ${variable}: ${message}`);
  return message;
}

t.test('contract "Running it": defaults', async (t) => {
  const c = loadConfig({});
  t.equal(c.port, 8080, 'PORT 8080');
  t.equal(c.adminPort, 8081, 'ADMIN_PORT 8081');
  t.equal(c.host, '127.0.0.1', 'HOST 127.0.0.1');
  t.equal(c.issuer, 'http://127.0.0.1:8080', 'ISSUER http://127.0.0.1:$PORT');
  t.equal(c.adminToken, null, 'ADMIN_TOKEN generated at start, not configured');
  t.equal(c.databaseUrl, null, 'DATABASE_URL unset → PGlite');
  t.equal(c.redisUrl, null, 'REDIS_URL unset → in-process');
  t.equal(c.dataDir, './data', 'DATA_DIR ./data');
  t.equal(c.nodeEnv, 'development', 'NODE_ENV development');
  t.equal(c.production, false);
  t.equal(c.accessTokenTtl, 3600, 'token lifetime default 3600 s');
  t.equal(c.signingAlg, 'ES256', 'default algorithm ES256');
  t.equal(c.bodyLimit, 16 * 1024, 'form body limit 16 KiB');
  t.equal(c.assertionAudienceTokenEndpoint, false, 'token endpoint URL as aud is opt-in');
  t.notOk(
    c.assertionAlgs.some((a) => /^(none|HS)/i.test(a)),
    'assertion algorithms are asymmetric',
  );
  t.equal(c.trustProxy, false);
  t.ok(c.clientCacheTtl <= 60, 'client cache TTL ≤ 60 s (threat model §3.2)');
});

t.test('contract: ISSUER defaults to http://127.0.0.1:$PORT for a configured PORT', async (t) => {
  t.equal(loadConfig({ PORT: '9090' }).issuer, 'http://127.0.0.1:9090');
  t.equal(loadConfig({ PORT: '9090' }).port, 9090);
});

t.test('ISSUER is normalised (no trailing slash) and validated', async (t) => {
  t.equal(loadConfig({ ISSUER: 'https://auth.example.com/' }).issuer, 'https://auth.example.com');
  t.equal(loadConfig({ ISSUER: 'https://auth.example.com/tenant' }).issuer, 'https://auth.example.com/tenant');
  configError(t, { ISSUER: 'not a url' }, 'ISSUER');
  configError(t, { ISSUER: 'https://auth.example.com/?x=1' }, 'ISSUER');
  configError(t, { ISSUER: 'https://auth.example.com/#frag' }, 'ISSUER');
  configError(t, { ISSUER: 'ftp://auth.example.com' }, 'ISSUER');
});

t.test('an empty variable counts as unset', async (t) => {
  t.equal(loadConfig({ PORT: '', DATABASE_URL: '' }).port, 8080);
  t.equal(loadConfig({ PORT: '', DATABASE_URL: '' }).databaseUrl, null);
});

t.test('invalid PORT / ADMIN_PORT → ConfigError naming the variable', async (t) => {
  for (const bad of ['abc', '80.5', '-1', '65536', '8080x', '0x50']) configError(t, { PORT: bad }, 'PORT');
  configError(t, { ADMIN_PORT: 'nope' }, 'ADMIN_PORT');
});

t.test('DATABASE_URL must be postgres:// or postgresql://', async (t) => {
  t.equal(loadConfig({ DATABASE_URL: 'postgres://u:p@db/x' }).databaseUrl, 'postgres://u:p@db/x');
  t.equal(loadConfig({ DATABASE_URL: 'postgresql://db/x' }).databaseUrl, 'postgresql://db/x');
  configError(t, { DATABASE_URL: 'mysql://db/x' }, 'DATABASE_URL');
  configError(t, { DATABASE_URL: 'db.example.com:5432' }, 'DATABASE_URL');
});

t.test('REDIS_URL must be redis:// or rediss://', async (t) => {
  t.equal(loadConfig({ REDIS_URL: 'rediss://cache:6380' }).redisUrl, 'rediss://cache:6380');
  configError(t, { REDIS_URL: 'http://cache:6379' }, 'REDIS_URL');
  configError(t, { REDIS_URL: 'cache:6379' }, 'REDIS_URL');
});

t.test('REQ-O4: production requires an https ISSUER', async (t) => {
  configError(t, { NODE_ENV: 'production', ISSUER: 'http://auth.example.com', ADMIN_TOKEN: ADMIN, KEY_ENCRYPTION_KEY: KEK }, 'ISSUER');
  // the default issuer is http, so production without ISSUER fails too
  configError(t, { NODE_ENV: 'production', ADMIN_TOKEN: ADMIN, KEY_ENCRYPTION_KEY: KEK }, 'ISSUER');
});

t.test('contract: production requires ADMIN_TOKEN', async (t) => {
  configError(t, { NODE_ENV: 'production', ISSUER: 'https://auth.example.com', KEY_ENCRYPTION_KEY: KEK }, 'ADMIN_TOKEN');
});

t.test('contract: production requires KEY_ENCRYPTION_KEY', async (t) => {
  configError(t, { NODE_ENV: 'production', ISSUER: 'https://auth.example.com', ADMIN_TOKEN: ADMIN }, 'KEY_ENCRYPTION_KEY');
});

t.test('production with everything set loads', async (t) => {
  const c = loadConfig({ NODE_ENV: 'production', ISSUER: 'https://auth.example.com', ADMIN_TOKEN: ADMIN, KEY_ENCRYPTION_KEY: KEK, TRUST_PROXY: 'true' });
  t.equal(c.production, true);
  t.equal(c.issuer, 'https://auth.example.com');
  t.equal(c.adminToken, ADMIN);
  t.equal(c.keyEncryptionKey, KEK);
});

t.test('REQ-O1: an invalid ADMIN_TOKEN or KEY_ENCRYPTION_KEY is never echoed in the error', async (t) => {
  const shortToken = 'short-SECRETVALUE-xyz';
  const m1 = configError(t, { ADMIN_TOKEN: shortToken }, 'ADMIN_TOKEN');
  t.notMatch(m1, shortToken);
  t.notMatch(m1, 'SECRETVALUE');
  const badKek = 'not-a-valid-kek-SECRETVALUE';
  const m2 = configError(t, { KEY_ENCRYPTION_KEY: badKek }, 'KEY_ENCRYPTION_KEY');
  t.notMatch(m2, 'SECRETVALUE');
  // a valid ADMIN_TOKEN never appears in another variable's error either
  for (const env of [
    { ADMIN_TOKEN: ADMIN, PORT: 'x' },
    { ADMIN_TOKEN: ADMIN, NODE_ENV: 'production', ISSUER: 'https://a.example' },
    { ADMIN_TOKEN: ADMIN, NODE_ENV: 'production', ISSUER: 'http://a.example', KEY_ENCRYPTION_KEY: KEK },
    { ADMIN_TOKEN: ADMIN, ASSERTION_ALGS: 'HS256' },
    { ADMIN_TOKEN: ADMIN, ISSUER: 'nope' },
  ]) {
    let message = '';
    try {
      loadConfig(env);
    } catch (err) {
      message = (err as Error).message + String((err as Error).stack);
    }
    t.not(message, '', 'it fails');
    t.notMatch(message, ADMIN, `ADMIN_TOKEN not in: ${message.split('\n')[0]}`);
  }
});

t.test('REQ-J8: ASSERTION_ALGS takes asymmetric algorithms only', async (t) => {
  t.same(loadConfig({ ASSERTION_ALGS: 'ES256,PS256' }).assertionAlgs, ['ES256', 'PS256']);
  configError(t, { ASSERTION_ALGS: 'ES256,HS256' }, 'ASSERTION_ALGS');
  configError(t, { ASSERTION_ALGS: 'none' }, 'ASSERTION_ALGS');
  configError(t, { ASSERTION_ALGS: 'NONE' }, 'ASSERTION_ALGS');
});

t.test('booleans and bounded integers', async (t) => {
  t.equal(loadConfig({ ASSERTION_AUDIENCE_TOKEN_ENDPOINT: 'true' }).assertionAudienceTokenEndpoint, true);
  t.equal(loadConfig({ ASSERTION_AUDIENCE_TOKEN_ENDPOINT: 'false' }).assertionAudienceTokenEndpoint, false);
  configError(t, { ASSERTION_AUDIENCE_TOKEN_ENDPOINT: 'maybe' }, 'ASSERTION_AUDIENCE_TOKEN_ENDPOINT');
  configError(t, { BODY_LIMIT: '100' }, 'BODY_LIMIT');
  configError(t, { ACCESS_TOKEN_TTL: '0' }, 'ACCESS_TOKEN_TTL');
  configError(t, { ACCESS_TOKEN_TTL: '86401' }, 'ACCESS_TOKEN_TTL');
  configError(t, { SIGNING_ALG: 'HS256' }, 'SIGNING_ALG');
  configError(t, { NODE_ENV: 'staging' }, 'NODE_ENV');
});

t.test('SECRET_TTL: never by default in development, 90 days in production, seconds or never when set', async (t) => {
  t.equal(loadConfig({}).secretTtl, null);
  t.equal(loadConfig({ SECRET_TTL: '3600' }).secretTtl, 3600);
  t.equal(loadConfig({ SECRET_TTL: 'never' }).secretTtl, null);
  const production = { NODE_ENV: 'production', ISSUER: 'https://auth.example.com', ADMIN_TOKEN: ADMIN, KEY_ENCRYPTION_KEY: KEK, TRUST_PROXY: 'true' };
  t.equal(loadConfig(production).secretTtl, 90 * 86400);
  t.equal(loadConfig({ ...production, SECRET_TTL: 'never' }).secretTtl, null, 'never stays possible in production, explicitly');
  t.throws(() => loadConfig({ SECRET_TTL: 'soon' }), /SECRET_TTL/);
  t.throws(() => loadConfig({ SECRET_TTL: '0' }), /SECRET_TTL/);
});

t.test('an invalid value is explained in words: the allowed values, the range, the shape (exact messages)', async (t) => {
  const cases: [Record<string, string>, string][] = [
    [{ SIGNING_ALG: 'HS256' }, 'SIGNING_ALG must be one of ES256, RS256, PS256, EdDSA (got "HS256")'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV must be one of development, production, test (got "staging")'],
    [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "verbose")'],
    [{ PORT: 'abc' }, 'PORT must be an integer between 0 and 65535 (got "abc")'],
    [{ PORT: '65536' }, 'PORT must be an integer between 0 and 65535 (got "65536")'],
    [{ PORT: '80.5' }, 'PORT must be an integer between 0 and 65535 (got "80.5")'],
    [{ ADMIN_PORT: 'nope' }, 'ADMIN_PORT must be an integer between 0 and 65535 (got "nope")'],
    [{ ACCESS_TOKEN_TTL: '0' }, 'ACCESS_TOKEN_TTL must be an integer between 1 and 86400 (got "0")'],
    [{ KEY_ROTATION_INTERVAL: '-1' }, 'KEY_ROTATION_INTERVAL must be an integer of at least 0 (got "-1")'],
    [{ SHUTDOWN_TIMEOUT: '0' }, 'SHUTDOWN_TIMEOUT must be an integer between 1 and 300 (got "0")'],
    [{ TRUST_PROXY: 'yes' }, 'TRUST_PROXY must be true or false (got "yes")'],
    [{ ASSERTION_AUDIENCE_TOKEN_ENDPOINT: 'maybe' }, 'ASSERTION_AUDIENCE_TOKEN_ENDPOINT must be true or false (got "maybe")'],
    [{ SECRET_TTL: 'soon' }, 'SECRET_TTL must be an integer between 1 and 315360000, or never (got "soon")'],
    [{ REDIS_KEY_PREFIX: 'my prefix' }, 'REDIS_KEY_PREFIX must be 1 to 64 characters from A-Z, a-z, 0-9 and : { } _ . - (got "my prefix")'],
    [{ ASSERTION_ALGS: 'ES256, PS256' }, 'ASSERTION_ALGS must be a comma-separated list of JWS algorithm names without spaces (got "ES256, PS256")'],
  ];
  for (const [env, expected] of cases) t.equal(configError(t, env, Object.keys(env)[0]!), expected);
});

t.test('AUTH_FAILURE_*: the failed-authentication limit, its defaults, off, and exact errors', async (t) => {
  t.same(loadConfig({}).authFailureLimit, { max: 30, windowSeconds: 60, blockSeconds: 60 }, 'on by default: 30 failures per 60 s, then 60 s blocked');
  t.same(loadConfig({ AUTH_FAILURE_MAX: '5', AUTH_FAILURE_WINDOW: '10', AUTH_FAILURE_BLOCK: '900' }).authFailureLimit, { max: 5, windowSeconds: 10, blockSeconds: 900 });
  t.equal(loadConfig({ AUTH_FAILURE_MAX: '0' }).authFailureLimit, null, 'AUTH_FAILURE_MAX=0 turns it off');
  t.equal(loadConfig({ AUTH_FAILURE_MAX: '' }).authFailureLimit?.max, 30, 'empty is unset');
  const cases: [Record<string, string>, string][] = [
    [{ AUTH_FAILURE_MAX: '-1' }, 'AUTH_FAILURE_MAX must be an integer between 0 and 1000000 (got "-1")'],
    [{ AUTH_FAILURE_MAX: 'many' }, 'AUTH_FAILURE_MAX must be an integer between 0 and 1000000 (got "many")'],
    [{ AUTH_FAILURE_MAX: '1000001' }, 'AUTH_FAILURE_MAX must be an integer between 0 and 1000000 (got "1000001")'],
    [{ AUTH_FAILURE_WINDOW: '0' }, 'AUTH_FAILURE_WINDOW must be an integer between 1 and 86400 (got "0")'],
    [{ AUTH_FAILURE_WINDOW: '1m' }, 'AUTH_FAILURE_WINDOW must be an integer between 1 and 86400 (got "1m")'],
    [{ AUTH_FAILURE_BLOCK: '86401' }, 'AUTH_FAILURE_BLOCK must be an integer between 1 and 86400 (got "86401")'],
  ];
  for (const [env, expected] of cases) t.equal(configError(t, env, Object.keys(env)[0]!), expected);
});

t.test('booleans are true or false, in any case', async (t) => {
  t.equal(loadConfig({ TRUST_PROXY: 'TRUE' }).trustProxy, true);
  t.equal(loadConfig({ TRUST_PROXY: 'False' }).trustProxy, false);
  for (const bad of ['yes', 'no', '1', '0', 'on']) t.equal(configError(t, { TRUST_PROXY: bad }, 'TRUST_PROXY'), `TRUST_PROXY must be true or false (got "${bad}")`);
});

t.test('REQ-O1: a secret variable with an invalid value says "(value hidden)", never the value', async (t) => {
  const cases: [Record<string, string>, string][] = [
    [{ ADMIN_TOKEN: 'short-SECRETVALUE' }, 'ADMIN_TOKEN must be at least 32 characters (value hidden)'],
    [{ KEY_ENCRYPTION_KEY: 'not-a-valid-kek-SECRETVALUE' }, 'KEY_ENCRYPTION_KEY must be 32 random bytes in base64url (43 characters) (value hidden)'],
    [{ DATABASE_URL: 'mysql://app:SECRETVALUE@db/x' }, 'DATABASE_URL must be a postgres:// or postgresql:// URL (value hidden)'],
    [{ REDIS_URL: 'http://:SECRETVALUE@cache:6379' }, 'REDIS_URL must be a redis:// or rediss:// URL (value hidden)'],
  ];
  for (const [env, expected] of cases) {
    const message = configError(t, env, Object.keys(env)[0]!);
    t.equal(message, expected);
    t.notMatch(message, 'SECRETVALUE');
  }
});

t.test('no variable answers a bad value with a validator phrase ("Expected …")', async (t) => {
  for (const name of Object.keys(ConfigSchema.properties)) {
    for (const bad of ['bogus value!', '-7', 'x'.repeat(70)]) {
      let message = '';
      try {
        loadConfig({ [name]: bad });
      } catch (err) {
        message = (err as Error).message;
      }
      if (message === '' || !message.startsWith(name)) continue; // accepted, or refused by a later check
      t.match(message, new RegExp(`^${name} must .+ \\((got ".*"|value hidden)\\)$`), `${name}=${JSON.stringify(bad.slice(0, 12))}: ${message}`);
      t.notMatch(message, /Expected/, `${name}: no validator phrase`);
    }
  }
});

t.test('SHUTDOWN_DELAY: 0 in development, 5 s in production, seconds when set', async (t) => {
  t.equal(loadConfig({}).shutdownDelay, 0);
  t.equal(loadConfig({ SHUTDOWN_DELAY: '7' }).shutdownDelay, 7);
  const production = { NODE_ENV: 'production', ISSUER: 'https://auth.example.com', ADMIN_TOKEN: ADMIN, KEY_ENCRYPTION_KEY: KEK, TRUST_PROXY: 'true' };
  t.equal(loadConfig(production).shutdownDelay, 5);
  t.equal(loadConfig({ ...production, SHUTDOWN_DELAY: '0' }).shutdownDelay, 0, 'off in production, explicitly');
  t.equal(configError(t, { SHUTDOWN_DELAY: 'soon' }, 'SHUTDOWN_DELAY'), 'SHUTDOWN_DELAY must be an integer between 0 and 300 (got "soon")');
});

t.test('CONSOLE_SESSION_IDLE / CONSOLE_SESSION_MAX: defaults, bounds, idle not longer than the lifetime', async (t) => {
  t.same(loadConfig({}).consoleSession, { idle: 900, max: 43200 });
  t.same(loadConfig({ CONSOLE_SESSION_IDLE: '60', CONSOLE_SESSION_MAX: '300' }).consoleSession, { idle: 60, max: 300 });
  for (const bad of ['59', '86401', '15m', '1.5']) configError(t, { CONSOLE_SESSION_IDLE: bad }, 'CONSOLE_SESSION_IDLE');
  for (const bad of ['299', '604801', 'never']) configError(t, { CONSOLE_SESSION_MAX: bad }, 'CONSOLE_SESSION_MAX');
  t.equal(
    configError(t, { CONSOLE_SESSION_IDLE: '3600', CONSOLE_SESSION_MAX: '1800' }, 'CONSOLE_SESSION_IDLE'),
    'invalid CONSOLE_SESSION_IDLE: 3600 seconds is longer than CONSOLE_SESSION_MAX (1800 seconds), the absolute lifetime of a console session',
  );
});
