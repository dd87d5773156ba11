// tokenmill/verify: revocation deny set kept in sync by polling the stand-in's revocation feed.
import t from 'tap';
import type { Test } from 'tap';
import { createVerifier } from '@tokenmill/verify';
import type { VerifierOptions } from '@tokenmill/verify';
import { StandInAS } from './fixtures/stand-in-as.js';
import { pollUntil, sleep } from '../helpers/time.js';
import { AUD, nowSec, untilRevoked, verifyError } from './fixtures/util.js';

// Latency is a property of the poll cycle, so it is asserted in polls, not milliseconds: a
// revocation is refused once the first poll that began after it has been answered, i.e. within
// two feed requests (one may already be in flight when the revocation is made). On an idle machine
// that is under one second at the default 500 ms interval; the measured times are printed.
async function refusedWithinPolls(as: StandInAS, v: Parameters<typeof untilRevoked>[0], token: string, polls: number): Promise<{ ok: boolean; elapsed: number; polls: number }> {
  const before = as.counts.feed;
  const r = await untilRevoked(v, token);
  const used = as.counts.feed - before;
  return { ok: r.ok && used <= polls, elapsed: r.elapsed, polls: used };
}

async function setup(t: Test, opts: Partial<VerifierOptions> = {}, asOpts: ConstructorParameters<typeof StandInAS>[0] = {}) {
  const as = await new StandInAS(asOpts).start();
  t.teardown(() => as.close());
  const v = createVerifier({
    issuer: as.issuer,
    audience: AUD,
    revocations: { clientId: as.opts.feedClientId, clientSecret: as.opts.feedClientSecret },
    ...opts,
  });
  t.teardown(() => v.close());
  return { as, v };
}

const revokedDesc = 'the access token has been revoked';

t.test('a revoked jti is refused from the next poll of the feed', async (t) => {
  const { as, v } = await setup(t);
  await v.ready();
  t.equal(as.counts.feedUnauthorized, 0, 'Basic credentials with : + % space and non-ASCII are form-encoded correctly');
  t.equal(as.feedSince[0], undefined, 'first poll omits since');
  t.ok(
    as.feedSince.slice(1).every((s) => typeof s === 'string'),
    'later polls send the cursor',
  );
  const latencies: number[] = [];
  for (let i = 0; i < 5; i++) {
    const token = await as.mint();
    t.equal(await verifyError(v, token), null, 'valid before revocation');
    const claims = await v.verify(token);
    await sleep(Math.random() * 500); // land anywhere in the poll cycle
    as.revokeToken(claims.jti, claims.exp);
    const r = await refusedWithinPolls(as, v, token, 2);
    t.ok(r.ok, `refused within two polls (${r.polls} polls, ${r.elapsed.toFixed(0)} ms)`);
    latencies.push(r.elapsed);
    const err = await verifyError(v, token);
    t.equal(err?.wwwAuthenticate, `Bearer realm="${as.issuer}", error="invalid_token", error_description="the access token has been revoked"`);
  }
  t.comment(`revocation-to-refusal latency (poll, 500 ms interval): max ${Math.max(...latencies).toFixed(0)} ms, mean ${(latencies.reduce((a, b) => a + b, 0) / latencies.length).toFixed(0)} ms`);
  const s = v.stats();
  t.equal(s.revocationMode, 'poll');
  t.equal(s.revokedTokens, 5);
  t.equal(s.syncHealthy, true);
  t.equal(s.stale, false);
  t.ok(s.lastSyncAt !== null && s.lastSyncAt <= Date.now(), 'lastSyncAt is set');
});

t.test('revocations made before the verifier started are honoured once ready', async (t) => {
  const as = await new StandInAS().start();
  t.teardown(() => as.close());
  const token = await as.mint();
  const { jti, exp } = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { jti: string; exp: number };
  as.revokeToken(jti, exp);
  const v = createVerifier({ issuer: as.issuer, audience: AUD, revocations: { clientId: as.opts.feedClientId, clientSecret: as.opts.feedClientSecret } });
  t.teardown(() => v.close());
  // No ready(): verify waits for the first sync by itself.
  t.equal((await verifyError(v, token))?.description, revokedDesc);
});

t.test('client-wide revocation refuses tokens with iat < revoked_before only', async (t) => {
  const { as, v } = await setup(t);
  await v.ready();
  const now = nowSec();
  const older = await as.mint({ claims: { client_id: 'client-b', sub: 'client-b', iat: now - 20 } });
  const atCutoff = await as.mint({ claims: { client_id: 'client-b', sub: 'client-b', iat: now - 10 } });
  const newer = await as.mint({ claims: { client_id: 'client-b', sub: 'client-b', iat: now } });
  const otherClient = await as.mint({ claims: { client_id: 'client-c', sub: 'client-c', iat: now - 20 } });
  as.revokeClient('client-b', now - 10, now + 3600);
  const r = await refusedWithinPolls(as, v, older, 2);
  t.ok(r.ok, `older token refused within two polls (${r.polls} polls, ${r.elapsed.toFixed(0)} ms)`);
  t.equal(await verifyError(v, atCutoff), null, 'iat == revoked_before accepted');
  t.equal(await verifyError(v, newer), null, 'iat > revoked_before accepted');
  t.equal(await verifyError(v, otherClient), null, 'other client unaffected');
  t.equal(v.stats().revokedClients, 1);
  // A later client-wide revocation moves the cutoff forward.
  as.revokeClient('client-b', now + 1, now + 3600);
  t.ok((await untilRevoked(v, newer)).ok, 'newer token refused after the second revocation');
});

t.test('has_more pages are followed at once', async (t) => {
  const { as, v } = await setup(t, {}, { pageSize: 2 });
  await v.ready();
  const tokens = await Promise.all(Array.from({ length: 7 }, () => as.mint()));
  for (const tok of tokens) {
    const c = JSON.parse(Buffer.from(tok.split('.')[1] ?? '', 'base64url').toString()) as { jti: string; exp: number };
    as.revokeToken(c.jti, c.exp);
  }
  // One poll in flight, then the 4 pages of the next (has_more followed without waiting for the interval).
  const r = await refusedWithinPolls(as, v, tokens[6] ?? '', 1 + 4);
  t.ok(r.ok, `last of 7 (4 pages) refused within one poll cycle (${r.polls} feed requests, ${r.elapsed.toFixed(0)} ms)`);
  t.equal(v.stats().revokedTokens, 7);
});

t.test('snapshot replaces the set', async (t) => {
  const { as, v } = await setup(t);
  await v.ready();
  const x = await as.mint();
  const y = await as.mint();
  const cx = await v.verify(x);
  as.revokeToken(cx.jti, cx.exp);
  t.ok((await untilRevoked(v, x)).ok, 'x revoked');
  const snapshotsBefore = v.stats().snapshots;
  // The server drops x from its set (only a snapshot can tell) and forgets every cursor.
  as.forget((e) => e.kind === 'token' && e.jti === cx.jti);
  const cy = await v.verify(y);
  as.revokeToken(cy.jti, cy.exp);
  as.forgetCursors();
  t.ok((await untilRevoked(v, y)).ok, 'y revoked through the snapshot');
  t.equal(await verifyError(v, x), null, 'x no longer in the set: the snapshot replaced it');
  t.equal(v.stats().revokedTokens, 1);
  t.equal(v.stats().snapshots, snapshotsBefore + 1);
});

t.test('multi-page snapshot is applied whole', async (t) => {
  const { as, v } = await setup(t, {}, { pageSize: 3 });
  await v.ready();
  const tokens = await Promise.all(Array.from({ length: 8 }, () => as.mint()));
  const jtis = tokens.map((tok) => JSON.parse(Buffer.from(tok.split('.')[1] ?? '', 'base64url').toString()) as { jti: string; exp: number });
  for (const c of jtis) as.revokeToken(c.jti, c.exp);
  t.ok((await pollUntil(() => v.stats().revokedTokens === 8, { timeoutMs: 15_000 })).ok);
  as.forget((e) => e.kind === 'token' && e.jti === jtis[0]?.jti);
  as.forgetCursors();
  t.ok((await pollUntil(() => v.stats().revokedTokens === 7, { timeoutMs: 15_000 })).ok);
  t.equal(v.stats().revokedTokens, 7, 'snapshot over 3 pages holds 7 entries');
  t.equal(await verifyError(v, tokens[0] ?? ''), null);
  for (const tok of tokens.slice(1)) t.equal((await verifyError(v, tok))?.description, revokedDesc);
});

t.test('feed outage: keep the set, back off, report health, recover with a stale cursor', async (t) => {
  const { as, v } = await setup(t, { maxStaleness: 60_000 });
  await v.ready();
  const a = await as.mint();
  const ca = await v.verify(a);
  as.revokeToken(ca.jti, ca.exp);
  t.ok((await untilRevoked(v, a)).ok);
  as.feedDown = true;
  t.ok((await pollUntil(() => !v.stats().syncHealthy, { timeoutMs: 15_000 })).ok, 'sync reported unhealthy');
  t.equal((await verifyError(v, a))?.description, revokedDesc, 'set kept during the outage');
  const fresh = await as.mint();
  t.equal(await verifyError(v, fresh), null, 'within maxStaleness: still verifying');
  // Backoff: after failures the verifier polls less often than its 500 ms interval (base·2^(n-1),
  // ±20 % jitter, capped at 5 s). Observed as the gaps between four consecutive failing polls; the
  // bound is a lower one (twice the interval on average), which a slow machine can only exceed.
  const pollTimes: number[] = [];
  let lastCount = as.counts.feed;
  const seen = await pollUntil(
    () => {
      if (as.counts.feed !== lastCount) {
        lastCount = as.counts.feed;
        pollTimes.push(performance.now());
      }
      return pollTimes.length >= 4;
    },
    { timeoutMs: 60_000, intervalMs: 5 },
  );
  const gaps = pollTimes.slice(1).map((at, i) => at - (pollTimes[i] ?? at));
  t.comment(`gaps between failing polls: ${gaps.map((g) => g.toFixed(0)).join(', ')} ms`);
  t.ok(seen.ok && gaps.reduce((a, g) => a + g, 0) / gaps.length >= 1000, 'backoff: failing polls are further apart than the poll interval');
  // While the feed is down: another revocation, and the log is trimmed so the verifier's cursor is stale.
  const b = await as.mint();
  const cb = await v.verify(b);
  as.revokeToken(cb.jti, cb.exp);
  as.trim();
  as.feedDown = false;
  t.ok((await untilRevoked(v, b)).ok, 'caught up through a snapshot after the outage');
  t.equal((await verifyError(v, a))?.description, revokedDesc, 'older revocation still present');
  t.equal(v.stats().syncHealthy, true);
  t.ok(v.stats().snapshots >= 1);
});

t.test('a restarted verifier catches up', async (t) => {
  const as = await new StandInAS().start();
  t.teardown(() => as.close());
  const rev = { clientId: as.opts.feedClientId, clientSecret: as.opts.feedClientSecret };
  const v1 = createVerifier({ issuer: as.issuer, audience: AUD, revocations: rev });
  await v1.ready();
  const a = await as.mint();
  const ca = await v1.verify(a);
  await v1.close();
  // While no verifier runs: a revocation, and the server forgets the old cursors.
  as.revokeToken(ca.jti, ca.exp);
  as.forgetCursors();
  const v2 = createVerifier({ issuer: as.issuer, audience: AUD, revocations: rev });
  t.teardown(() => v2.close());
  await v2.ready();
  t.equal((await verifyError(v2, a))?.description, revokedDesc);
  t.equal((await verifyError(v1, a))?.status, 503, 'the closed verifier refuses with 503');
});

t.test('failClosed: stale revocation data turns verification into 503', async (t) => {
  const { as, v } = await setup(t, { maxStaleness: 400 });
  await v.ready();
  const token = await as.mint();
  t.equal(await verifyError(v, token), null);
  as.feedDown = true;
  const stale = await pollUntil(async () => (await verifyError(v, token))?.status === 503, { timeoutMs: 20_000, intervalMs: 20 });
  t.ok(stale.ok, `503 once stale (after ${stale.elapsed.toFixed(0)} ms)`);
  const err = await verifyError(v, token);
  t.equal(err?.code, 'temporarily_unavailable');
  t.equal(err?.retryAfter, 1);
  t.equal(v.stats().stale, true);
  as.feedDown = false;
  t.ok((await pollUntil(async () => (await verifyError(v, token)) === null, { timeoutMs: 30_000, intervalMs: 20 })).ok, 'accepted again after recovery');

  const { as: as2, v: open } = await setup(t, { maxStaleness: 200, failClosed: false });
  await open.ready();
  as2.feedDown = true;
  t.ok((await pollUntil(() => open.stats().stale, { timeoutMs: 15_000 })).ok);
  t.equal(await verifyError(open, await as2.mint()), null, 'failClosed: false accepts on stale data');
});

t.test('wrong feed credentials: ready rejects, verify fails closed', async (t) => {
  const as = await new StandInAS().start();
  t.teardown(() => as.close());
  const errors: string[] = [];
  const v = createVerifier({
    issuer: as.issuer,
    audience: AUD,
    revocations: { clientId: as.opts.feedClientId, clientSecret: 'wrong' },
    onSyncError: (e) => errors.push(e.message),
  });
  t.teardown(() => v.close());
  await t.rejects(v.ready(), /HTTP 401/);
  t.equal((await verifyError(v, await as.mint()))?.status, 503);
  t.ok(errors.includes('revocation feed: HTTP 401'));
  t.notOk(
    errors.some((e) => e.includes('wrong')),
    'secret never in error messages',
  );
});

t.test('entries are dropped after their exp (+ clock tolerance)', async (t) => {
  const { as, v } = await setup(t, { clockTolerance: 1, pruneInterval: 100 });
  await v.ready();
  const now = nowSec();
  as.revokeToken('short-lived-jti', now + 1);
  as.revokeToken('long-lived-jti', now + 3600);
  as.revokeClient('client-z', now, now + 1);
  t.ok((await pollUntil(() => v.stats().revokedTokens === 2 && v.stats().revokedClients === 1, { timeoutMs: 15_000 })).ok, 'synced');
  t.ok((await pollUntil(() => v.stats().revokedTokens === 1 && v.stats().revokedClients === 0, { timeoutMs: 20_000 })).ok, 'short-lived entries dropped');
  // An already-expired entry is never stored: once a later revocation has arrived, the expired one
  // (published before it) has been through the verifier too.
  as.revokeToken('expired-jti', now - 100);
  as.revokeToken('marker-jti', now + 3600);
  t.ok((await pollUntil(() => v.stats().revokedTokens === 2, { timeoutMs: 15_000 })).ok, 'the later revocation synced');
  t.equal(v.stats().revokedTokens, 2, 'the expired one was not stored');
});
