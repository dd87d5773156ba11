import type { KeyStore, StoredKey } from '../../src/storage/types.js';
import type { TestContext } from '../helpers/backends.js';
import { sleep } from '../helpers/time.js';

const T0 = 1_700_000_000_000;

function key(kid: string, over: Partial<StoredKey> = {}): StoredKey {
  return {
    kid,
    alg: 'ES256',
    publicJwk: { kty: 'EC', crv: 'P-256', x: `x-${kid}`, y: `y-${kid}`, kid, alg: 'ES256', use: 'sig' },
    privateJwe: `eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..iv.${kid}.tag`,
    origin: 'generated',
    createdAt: T0,
    activatesAt: T0 + 1000,
    retiresAt: null,
    removeAt: null,
    ...over,
  };
}

/** The KeyStore contract. `open` returns an empty store. */
export function keyStoreContract(t: TestContext, open: (t: TestContext) => Promise<KeyStore>): void {
  t.test('insert and list in (activatesAt, kid) order, exactly as stored', async (t) => {
    const s = await open(t);
    const b = key('b', { activatesAt: T0 + 5000, origin: 'imported', retiresAt: T0 + 9000, removeAt: T0 + 12_000 });
    const c = key('c');
    const a = key('a', { alg: 'RS256', publicJwk: { kty: 'RSA', n: 'n-a', e: 'AQAB', kid: 'a' } });
    await s.insert(b);
    await s.insert(c);
    await s.insert(a);
    t.strictSame(await s.list(), [a, c, b]);
  });

  t.test('inserting an existing kid keeps the stored key', async (t) => {
    const s = await open(t);
    await s.insert(key('a'));
    await s.insert(key('a', { alg: 'PS256', activatesAt: T0 }));
    t.strictSame(await s.list(), [key('a')]);
  });

  t.test('setRetirement and delete', async (t) => {
    const s = await open(t);
    await s.insert(key('a'));
    await s.insert(key('b', { activatesAt: T0 + 2000 }));
    await s.setRetirement('a', T0 + 3000, T0 + 6000);
    t.strictSame(await s.list(), [key('a', { retiresAt: T0 + 3000, removeAt: T0 + 6000 }), key('b', { activatesAt: T0 + 2000 })]);
    await s.delete('a');
    await s.delete('nope');
    t.strictSame(await s.list(), [key('b', { activatesAt: T0 + 2000 })]);
  });

  t.test('withLock returns what fn returns and rolls fn back when it throws', async (t) => {
    const s = await open(t);
    t.equal(
      await s.withLock(async (locked) => {
        await locked.insert(key('a'));
        return (await locked.list()).length;
      }),
      1,
    );
    await t.rejects(
      s.withLock(async (locked) => {
        await locked.insert(key('b'));
        throw new Error('boom');
      }),
      { message: 'boom' },
    );
    t.strictSame(
      (await s.list()).map((k) => k.kid),
      ['a'],
    );
  });

  t.test('withLock serialises two concurrent callers', async (t) => {
    const s = await open(t);
    const log: string[] = [];
    // Check-then-act, as key generation does: without the lock both callers would insert.
    const caller = (name: string) =>
      s.withLock(async (locked) => {
        log.push(`${name} in`);
        const existing = await locked.list();
        await sleep(100);
        if (existing.length === 0) await locked.insert(key(name));
        log.push(`${name} out`);
        return existing.length;
      });
    const results = await Promise.all([caller('first'), caller('second')]);
    t.strictSame(results.slice().sort(), [0, 1], 'the second caller saw the first one’s key');
    t.equal(log.length, 4);
    t.equal(log[0]?.replace(/ in$/, ' out'), log[1], 'the first caller left before the second entered');
    t.equal(log[2]?.replace(/ in$/, ' out'), log[3]);
    t.equal((await s.list()).length, 1);
  });
}
