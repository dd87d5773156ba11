// @tokenmill/verify keeps bounded memory: revoked entries synced from the feed leave the deny set at
// their exp (the memory per entry is measured by bench/verify-memory.mjs, not here).
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { createVerifier } from '@tokenmill/verify';
import { StandInAS } from './fixtures/stand-in-as.js';
import { pollUntil } from '../helpers/time.js';
import { AUD, nowSec } from './fixtures/util.js';

t.test('entries synced from the feed are dropped once their exp has passed', async (t) => {
  const as = await new StandInAS({ pageSize: 10_000 }).start();
  t.teardown(() => as.close());
  const v = createVerifier({
    issuer: as.issuer,
    audience: AUD,
    clockTolerance: 0,
    pruneInterval: 100,
    revocations: { clientId: as.opts.feedClientId, clientSecret: as.opts.feedClientSecret },
  });
  t.teardown(() => v.close());
  await v.ready();
  const N = 2_000;
  const exp = nowSec() + 8;
  for (let i = 0; i < N; i++) as.revokeToken(randomUUID(), exp);
  t.ok((await pollUntil(() => v.stats().revokedTokens === N, { timeoutMs: 30_000, intervalMs: 20 })).ok, 'every revocation synced');
  t.equal(v.stats().revokedTokens, N);
  t.ok((await pollUntil(() => v.stats().revokedTokens === 0, { timeoutMs: 60_000, intervalMs: 50 })).ok, 'every entry dropped after exp');
  t.equal(v.stats().revokedTokens, 0);
});
