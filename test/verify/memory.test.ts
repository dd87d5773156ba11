// tokenmill/verify: memory held per 100,000 revoked tokens, and bounded memory (entries leave at exp).
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createVerifier } from '../../src/verify/index.js';
import { DenySet } from '../../src/verify/deny-set.js';
import { StandInAS } from './fixtures/stand-in-as.js';
import { AUD, nowSec, waitFor } from './fixtures/util.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heap(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

const N = 100_000;
/** A UUID as a flat string (randomUUID() returns a cons-string tree that V8 flattens later, skewing heap deltas). */
const flatUUID = () => JSON.parse(`"${randomUUID()}"`) as string;
const mib = (b: number) => `${(b / 1024 / 1024).toFixed(2)} MiB`;

t.test('DenySet alone: bytes per 100k revoked jtis', async (t) => {
  const jtis = Array.from({ length: N }, flatUUID);
  const now = nowSec();
  const before = heap();
  const set = new DenySet(0);
  // Copy the strings as JSON.parse would hand them over (fresh, flat strings).
  for (const j of jtis) set.addToken(JSON.parse(`"${j}"`) as string, now + 2, now);
  const after = heap();
  t.equal(set.tokens.size, N);
  t.equal(jtis.length, N); // keeps the source strings alive across the measurement
  t.comment(`DenySet with ${N} UUID jtis: ${mib(after - before)} (${((after - before) / N).toFixed(0)} B per entry)`);
  t.equal(set.prune(now + 3), N);
  t.equal(set.tokens.size, 0);
});

t.test('verifier synced from the feed: 100k revoked tokens, then 0 after their exp', async (t) => {
  const as = await new StandInAS({ pageSize: 10_000 }).start();
  t.teardown(() => as.close());
  const v = createVerifier({
    issuer: as.issuer,
    audience: AUD,
    clockTolerance: 0,
    pruneInterval: 200,
    revocations: { clientId: as.opts.feedClientId, clientSecret: as.opts.feedClientSecret },
  });
  t.teardown(() => v.close());
  await v.ready();
  const exp = nowSec() + 6;
  for (let i = 0; i < N; i++) as.revokeToken(flatUUID(), exp);
  const before = heap();
  const ms = await waitFor(() => v.stats().revokedTokens === N, 5000, 20);
  t.ok(ms >= 0, `100k entries synced in ${ms.toFixed(0)} ms`);
  t.equal(v.stats().revokedTokens, N);
  const after = heap();
  t.comment(`verifier deny set, ${N} revoked tokens via the feed: ${mib(after - before)} (${((after - before) / N).toFixed(0)} B per entry)`);
  const token = await as.mint();
  const t0 = performance.now();
  for (let i = 0; i < 1000; i++) await v.verify(token);
  t.comment(`verify() with 100k entries in the deny set: ${((performance.now() - t0) / 1000).toFixed(3)} ms per call`);
  const gone = await waitFor(() => v.stats().revokedTokens === 0, 10_000, 50);
  t.ok(gone >= 0, 'every entry dropped once exp passed');
  t.equal(v.stats().revokedTokens, 0);
  t.comment(`heap after the entries expired: ${mib(heap() - before)} relative to before the sync`);
});
