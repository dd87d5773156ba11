import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Test } from 'tap';

/** A tap test context (what `t.test` hands its callback). */
export type TestContext = Test;

const VARIABLES = { postgres: 'TEST_DATABASE_URL', redis: 'TEST_REDIS_URL' } as const;

/**
 * The URL of a test backend from the environment, or null when it is not set. In CI (`CI` truthy)
 * a missing URL fails the test, naming the variable; elsewhere the test is skipped with a message
 * saying what to set, so a newcomer's run says what it did not cover.
 */
export function backendOrSkip(t: TestContext, backend: 'postgres' | 'redis'): string | null {
  const variable = VARIABLES[backend];
  const url = process.env[variable];
  if (url) return url;
  const message = `${variable} is not set: ${backend} suites need it (e.g. ${backend === 'postgres' ? 'postgres://postgres@127.0.0.1:5432/postgres' : 'redis://127.0.0.1:6379'})`;
  if (isCi()) t.fail(message);
  else t.skip(message, () => {});
  return null;
}

function isCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

function requireEnv(variable: string): string {
  const value = process.env[variable];
  if (!value) throw new Error(`${variable} is not set (call backendOrSkip first)`);
  return value;
}

/**
 * Creates a uniquely named database (`tokenmill_test_<random>`) on the server of `TEST_DATABASE_URL`
 * and returns its URL; the database is dropped (WITH (FORCE)) when the test ends.
 */
export async function pgTestDatabase(t: TestContext): Promise<string> {
  const adminUrl = requireEnv(VARIABLES.postgres);
  const name = `tokenmill_test_${randomBytes(6).toString('hex')}`;
  await withAdmin(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  t.teardown(async () => {
    try {
      await withAdmin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    } catch (err) {
      console.error(`# could not drop test database ${name}: ${(err as Error).message}`);
      throw err;
    }
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withAdmin(url: string, fn: (c: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await fn(client);
  } finally {
    await client.end();
  }
}

/** A unique key prefix `tmtest:<random>:`; every key under it is deleted when the test ends. */
export function redisTestPrefix(t: TestContext): string {
  const url = requireEnv(VARIABLES.redis);
  const prefix = `tmtest:${randomBytes(6).toString('hex')}:`;
  t.teardown(() => deleteRedisPrefix(url, prefix));
  return prefix;
}

/** Deletes every key starting with `prefix` (SCAN + DEL): a restart without persistence, for one prefix. */
export async function deleteRedisPrefix(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}
