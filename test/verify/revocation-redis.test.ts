// tokenmill/verify Redis mode against a real Redis (TEST_REDIS_URL). The test plays the server's part:
// SET ${prefix}rev:jti:<jti> / ${prefix}rev:client:<id>, XADD ${prefix}revocations, PUBLISH ${prefix}rev:nudge.
import t from 'tap';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { createVerifier } from '@tokenmill/verify';
import type { Verifier } from '@tokenmill/verify';
import { StandInAS } from './fixtures/stand-in-as.js';
import { pollUntil, sleep } from '../helpers/time.js';
import { AUD, nowSec, untilRevoked, verifyError } from './fixtures/util.js';

const url = process.env.TEST_REDIS_URL;
const revokedDesc = 'the access token has been revoked';

if (!url) {
  if (process.env.CI) t.fail('TEST_REDIS_URL is required when CI is set (Redis-mode verifier suite)');
  else t.test('Redis-mode verifier suite', { skip: 'TEST_REDIS_URL unset' }, async () => {});
} else {
  await run(url);
}

async function run(redisUrl: string): Promise<void> {
  const prefix = `tmtest:${randomUUID()}:`;
  const redis = new Redis(redisUrl, { protocol: 2 });
  const as = await new StandInAS().start();
  const verifiers: Verifier[] = [];
  t.teardown(async () => {
    for (const v of verifiers) await v.close();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
    await redis.quit();
    await as.close();
  });

  const stream = `${prefix}revocations`;
  const claimsOf = (tok: string) => JSON.parse(Buffer.from(tok.split('.')[1] ?? '', 'base64url').toString()) as { jti: string; exp: number; iat: number };

  /** What the server does on a token revocation. */
  async function revokeToken(jti: string, exp: number): Promise<void> {
    const ttl = Math.max(1, exp - nowSec() + 30);
    await redis.multi().set(`${prefix}rev:jti:${jti}`, String(exp), 'EX', ttl).xadd(stream, '*', 'type', 'token', 'jti', jti, 'exp', String(exp)).exec();
    await redis.publish(`${prefix}rev:nudge`, '1');
  }
  /** What the server does on a client-wide revocation. */
  async function revokeClient(clientId: string, revokedBefore: number, until: number): Promise<void> {
    await redis
      .multi()
      .set(`${prefix}rev:client:${clientId}`, String(revokedBefore), 'EX', Math.max(1, until - nowSec() + 30))
      .xadd(stream, '*', 'type', 'client', 'client_id', clientId, 'revoked_before', String(revokedBefore), 'until', String(until))
      .exec();
    await redis.publish(`${prefix}rev:nudge`, '1');
  }
  function verifier(extra: { clockTolerance?: number; pruneInterval?: number } = {}): Verifier {
    const v = createVerifier({ issuer: as.issuer, audience: AUD, revocations: { redisUrl, keyPrefix: prefix }, ...extra });
    verifiers.push(v);
    return v;
  }

  // The server's seed marker: Redis holds every live revocation.
  await redis.set(`${prefix}rev:seeded`, 'seeded');

  // A revocation made before any verifier runs.
  const early = await as.mint();
  await revokeToken(claimsOf(early).jti, claimsOf(early).exp);

  t.test('initial full read, then a revoked jti is refused as the stream delivers it', async (t) => {
    const v = verifier();
    await v.ready();
    t.equal(v.stats().revocationMode, 'redis');
    t.equal((await verifyError(v, early))?.description, revokedDesc, 'revocation from before the start');
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const token = await as.mint();
      t.equal(await verifyError(v, token), null);
      await sleep(Math.random() * 300);
      const c = claimsOf(token);
      await revokeToken(c.jti, c.exp);
      // Pushed through the stream, no interval: the latency is printed below, not asserted (a
      // loaded machine can take longer); the outcome is that the revocation arrives on its own.
      const r = await untilRevoked(v, token);
      t.ok(r.ok, `refused (after ${r.elapsed.toFixed(1)} ms)`);
      latencies.push(r.elapsed);
    }
    t.comment(`revocation-to-refusal latency (Redis stream): max ${Math.max(...latencies).toFixed(1)} ms, mean ${(latencies.reduce((a, b) => a + b, 0) / latencies.length).toFixed(1)} ms`);
    t.equal(v.stats().syncHealthy, true);
  });

  t.test('client-wide revocation', async (t) => {
    const v = verifier();
    await v.ready();
    const now = nowSec();
    const older = await as.mint({ claims: { client_id: 'rc-1', sub: 'rc-1', iat: now - 20 } });
    const atCutoff = await as.mint({ claims: { client_id: 'rc-1', sub: 'rc-1', iat: now - 10 } });
    const newer = await as.mint({ claims: { client_id: 'rc-1', sub: 'rc-1', iat: now } });
    await revokeClient('rc-1', now - 10, now + 3600);
    const r = await untilRevoked(v, older);
    t.ok(r.ok, `older token refused (after ${r.elapsed.toFixed(1)} ms)`);
    t.equal(await verifyError(v, atCutoff), null);
    t.equal(await verifyError(v, newer), null);
  });

  t.test('stream trimmed past the last id: re-read whole (keys included)', async (t) => {
    const v = verifier();
    await v.ready();
    const snapshots = v.stats().snapshots;
    const token = await as.mint();
    const c = claimsOf(token);
    // Append and trim away in one transaction: the verifier can never read this entry from the stream.
    await redis.multi().set(`${prefix}rev:jti:${c.jti}`, String(c.exp), 'EX', 600).xadd(stream, '*', 'type', 'token', 'jti', c.jti, 'exp', String(c.exp)).xtrim(stream, 'MAXLEN', 0).exec();
    const r = await untilRevoked(v, token);
    t.ok(r.ok, `gap detected and repaired (after ${r.elapsed.toFixed(0)} ms)`);
    t.ok(v.stats().snapshots > snapshots, 'a full re-read happened');
    t.equal((await verifyError(v, early))?.description, revokedDesc, 'earlier revocations survive the re-read (from the keys)');
  });

  t.test('a verifier started after trimming reads the keys', async (t) => {
    const token = await as.mint();
    const c = claimsOf(token);
    await revokeToken(c.jti, c.exp);
    await redis.xtrim(stream, 'MAXLEN', 0);
    const v = verifier();
    await v.ready();
    t.equal((await verifyError(v, token))?.description, revokedDesc);
    t.equal((await verifyError(v, early))?.description, revokedDesc);
  });

  t.test('entries dropped after their exp', async (t) => {
    const v = verifier({ clockTolerance: 1, pruneInterval: 100 });
    await v.ready();
    const base = v.stats().revokedTokens;
    await revokeToken(`short-${randomUUID()}`, nowSec() + 1);
    t.ok((await pollUntil(() => v.stats().revokedTokens === base + 1, { timeoutMs: 15_000 })).ok);
    t.ok((await pollUntil(() => v.stats().revokedTokens === base, { timeoutMs: 20_000 })).ok, 'dropped');
  });

  t.test('seed marker missing: sync unhealthy, set kept, fails closed once stale', async (t) => {
    const v = createVerifier({ issuer: as.issuer, audience: AUD, maxStaleness: 300, revocations: { redisUrl, keyPrefix: prefix } });
    t.teardown(() => v.close());
    await v.ready();
    const token = await as.mint();
    t.equal(await verifyError(v, token), null);
    await redis.del(`${prefix}rev:seeded`); // Redis came back empty / was flushed
    t.ok((await pollUntil(() => !v.stats().syncHealthy, { timeoutMs: 15_000 })).ok, 'unhealthy without the marker');
    t.match(v.stats().lastSyncError, /rev:seeded/);
    t.equal((await verifyError(v, early))?.description, revokedDesc, 'known revocations still refused');
    t.ok((await pollUntil(async () => (await verifyError(v, token))?.status === 503, { timeoutMs: 15_000, intervalMs: 20 })).ok, '503 once stale');
    await redis.set(`${prefix}rev:seeded`, 'seeded');
    t.ok((await pollUntil(async () => (await verifyError(v, token)) === null, { timeoutMs: 30_000, intervalMs: 20 })).ok, 'accepted again once re-seeded');

    // A marker naming another Redis run (restart / failover before the server re-seeded) is refused
    // by a fresh connection.
    await redis.set(`${prefix}rev:seeded`, 'f'.repeat(40));
    const v2 = createVerifier({ issuer: as.issuer, audience: AUD, revocations: { redisUrl, keyPrefix: prefix } });
    t.teardown(() => v2.close());
    await t.rejects(v2.ready(), /re-seeded/);
    const info = await redis.info('server');
    await redis.set(`${prefix}rev:seeded`, /run_id:([0-9a-f]{40})/.exec(info)?.[1] ?? 'seeded');
    await v2.ready();
    t.equal((await verifyError(v2, early))?.description, revokedDesc);
    await redis.set(`${prefix}rev:seeded`, 'seeded');
  });

  t.test('Redis unreachable: ready rejects, verify fails closed', async (t) => {
    const v = createVerifier({ issuer: as.issuer, audience: AUD, revocations: { redisUrl: 'redis://127.0.0.1:1', keyPrefix: prefix } });
    t.teardown(() => v.close());
    await t.rejects(v.ready());
    const err = await verifyError(v, await as.mint());
    t.equal(err?.status, 503);
    t.equal(v.stats().syncHealthy, false);
  });
}
