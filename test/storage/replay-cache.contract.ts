import type { ReplayCache } from '../../src/storage/types.js';
import type { TestContext } from '../helpers/backends.js';
import { sleepPast } from '../helpers/time.js';

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** The ReplayCache contract (memory and Redis). `open` returns an empty cache on the wall clock; claims carry the assertion's iat. */
export function replayCacheContract(t: TestContext, open: (t: TestContext) => Promise<ReplayCache>): void {
  t.test('a key can be claimed once until it expires', async (t) => {
    const c = await open(t);
    const now = nowSeconds();
    t.equal(await c.claim('client-a:jti-1', now + 300, now), true);
    t.equal(await c.claim('client-a:jti-1', now + 300, now), false);
    t.equal(await c.claim('client-a:jti-1', now + 900, now), false, 'a later expiry does not reopen it');
    t.equal(await c.claim('client-a:jti-2', now + 300, now), true);
    t.equal(await c.claim('client-b:jti-1', now + 300, now), true);
  });

  t.test('of many concurrent claims of one key exactly one wins', async (t) => {
    const c = await open(t);
    const now = nowSeconds();
    const results = await Promise.all(Array.from({ length: 25 }, () => c.claim('race', now + 300, now)));
    t.equal(results.filter((r) => r).length, 1);
    t.equal(results.length, 25);
  });

  t.test('a claim ends at its expiry', async (t) => {
    const c = await open(t);
    const exp = nowSeconds() + 1;
    t.equal(await c.claim('short', exp, exp), true);
    t.equal(await c.claim('short', exp, exp), false);
    await sleepPast(exp, 150); // Redis expires keys on its own clock
    t.equal(await c.claim('short', exp + 60, exp), true);
    t.equal(await c.claim('short', exp + 60, exp), false);
  });
}
