import { createHash } from 'node:crypto';
import type { Client, ClientSecret } from '../../src/clients/client.js';
import type { ClientStore } from '../../src/storage/types.js';
import type { TestContext } from '../helpers/backends.js';

const T0 = 1_700_000_000_000;
const sha = (s: string): Buffer => createHash('sha256').update(s).digest();

function secret(secretId: string, over: Partial<ClientSecret> = {}): ClientSecret {
  return { secretId, hash: sha(secretId), prefix: `tmsec_${secretId.slice(0, 4)}`, createdAt: T0, expiresAt: null, lastUsedAt: null, ...over };
}

function client(clientId: string, over: Partial<Client> = {}): Client {
  return {
    clientId,
    clientName: `client ${clientId}`,
    tokenQuota: null,
    status: 'active',
    tokenEndpointAuthMethod: 'client_secret_basic',
    tokenEndpointAuthSigningAlg: null,
    accessTokenSigningAlg: null,
    grantTypes: ['client_credentials'],
    scopes: ['read', 'write'],
    audiences: ['https://api.example.com', 'https://other.example.com'],
    accessTokenTtl: null,
    jwks: null,
    jwksUri: null,
    registrationAccessTokenHash: sha(`rat-${clientId}`),
    secrets: [secret(`${clientId}-s1`)],
    tokensRevokedBefore: null,
    createdAt: T0,
    updatedAt: T0,
    orgId: null,
    ...over,
  };
}

const JWKS = { keys: [{ kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', kid: 'k1', use: 'sig' }] };

/** The ClientStore contract: every implementation must pass it. `open` returns an empty store. */
export function clientStoreContract(t: TestContext, open: (t: TestContext) => Promise<ClientStore>): void {
  t.test('create then get returns the client exactly as stored', async (t) => {
    const s = await open(t);
    const c = client('c1', {
      tokenEndpointAuthMethod: 'private_key_jwt',
      tokenEndpointAuthSigningAlg: 'ES256',
      accessTokenSigningAlg: 'PS256',
      accessTokenTtl: 600,
      jwks: JWKS,
      tokensRevokedBefore: 1_700_000_123,
      secrets: [secret('c1-a', { expiresAt: T0 + 5000, lastUsedAt: T0 + 10 }), secret('c1-b', { createdAt: T0 + 1 })],
      createdAt: T0 + 7,
      updatedAt: T0 + 8,
    });
    await s.create(c);
    const got = await s.get('c1');
    t.strictSame(got, c);
    t.ok(got && Buffer.isBuffer(got.secrets[0]?.hash), 'secret hashes come back as Buffers');
    t.ok(got && Buffer.isBuffer(got.registrationAccessTokenHash), 'registration token hash comes back as a Buffer');
    t.equal(await s.get('nope'), null);
  });

  t.test('create refuses a duplicate client_id and is atomic', async (t) => {
    const s = await open(t);
    await s.create(client('c1'));
    await t.rejects(s.create(client('c1', { clientName: 'again', secrets: [] })));
    t.equal((await s.get('c1'))?.clientName, 'client c1');
    // the second secret collides with c1's: nothing of c2 may remain
    await t.rejects(s.create(client('c2', { secrets: [secret('c2-s1'), secret('c1-s1')] })));
    t.equal(await s.get('c2'), null);
    t.strictSame((await s.get('c1'))?.secrets, [secret('c1-s1')]);
  });

  t.test('update applies the patch, bumps updatedAt and leaves the rest', async (t) => {
    const s = await open(t);
    const c = client('c1');
    await s.create(c);
    const updated = await s.update('c1', { clientName: 'renamed', status: 'disabled', scopes: ['read'], accessTokenTtl: 120, jwks: JWKS }, T0 + 999);
    const expected: Client = { ...c, clientName: 'renamed', status: 'disabled', scopes: ['read'], accessTokenTtl: 120, jwks: JWKS, updatedAt: T0 + 999 };
    t.strictSame(updated, expected);
    t.strictSame(await s.get('c1'), expected);
    t.strictSame(await s.update('c1', { jwks: null, clientName: null }, T0 + 1000), { ...expected, jwks: null, clientName: null, updatedAt: T0 + 1000 });
    t.equal((await s.update('c1', { tokensRevokedBefore: 1_700_000_500 }, T0 + 1001))?.tokensRevokedBefore, 1_700_000_500);
    t.equal(await s.update('nope', { clientName: 'x' }, T0), null);
  });

  t.test('tokenQuota: stored, read back, replaced and cleared (null = the configured default)', async (t) => {
    const s = await open(t);
    const quota = { perSecond: null, perHour: 1000, perDay: 20000, enforce: true };
    await s.create(client('q1', { tokenQuota: quota }));
    t.strictSame((await s.get('q1'))?.tokenQuota, quota);
    const other = { perSecond: 5, perHour: null, perDay: null, enforce: false };
    t.strictSame((await s.update('q1', { tokenQuota: other }, T0 + 1))?.tokenQuota, other);
    t.strictSame((await s.update('q1', { clientName: 'kept' }, T0 + 2))?.tokenQuota, other, 'a patch without it leaves it');
    t.equal((await s.update('q1', { tokenQuota: null }, T0 + 3))?.tokenQuota, null);
  });

  t.test('delete removes the client and its secrets', async (t) => {
    const s = await open(t);
    await s.create(client('c1'));
    t.equal(await s.delete('c1'), true);
    t.equal(await s.get('c1'), null);
    t.equal(await s.delete('c1'), false);
    // the secret id is free again: the secrets went with the client
    await s.create(client('c1'));
    t.strictSame((await s.get('c1'))?.secrets, [secret('c1-s1')]);
  });

  t.test('list pages in (createdAt, clientId) order and filters', async (t) => {
    const s = await open(t);
    await s.create(client('e', { createdAt: T0 + 1 }));
    await s.create(client('a', { createdAt: T0 + 3, clientName: 'a_%x', status: 'disabled' }));
    await s.create(client('d', { createdAt: T0 + 1, clientName: 'abx', tokenEndpointAuthMethod: 'private_key_jwt', secrets: [], jwks: JWKS }));
    await s.create(client('b', { createdAt: T0 + 2 }));
    await s.create(client('c', { createdAt: T0 + 0 }));
    const seen: string[][] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<ClientStore['list']>> = await s.list(2, cursor);
      seen.push(page.items.map((c) => c.clientId));
      cursor = page.nextCursor;
    } while (cursor !== null && seen.length < 10);
    t.strictSame(seen, [['c', 'd'], ['e', 'b'], ['a']]);
    const all = await s.list(10, null);
    t.equal(all.nextCursor, null);
    t.strictSame(
      all.items.find((c) => c.clientId === 'b'),
      client('b', { createdAt: T0 + 2 }),
      'listed clients carry their secrets',
    );
    t.strictSame(
      (await s.list(10, null, { status: 'disabled' })).items.map((c) => c.clientId),
      ['a'],
    );
    t.strictSame(
      (await s.list(10, null, { authMethod: 'private_key_jwt' })).items.map((c) => c.clientId),
      ['d'],
    );
    t.strictSame(
      (await s.list(10, null, { namePrefix: 'a_%' })).items.map((c) => c.clientId),
      ['a'],
      'LIKE wildcards in the prefix are literal',
    );
    t.strictSame(
      (await s.list(10, null, { namePrefix: 'client ' })).items.map((c) => c.clientId),
      ['c', 'e', 'b'],
    );
    await t.rejects(s.list(2, 'not-a-cursor'));
  });

  t.test('signingAlgsInUse lists the distinct per-client algorithms', async (t) => {
    const s = await open(t);
    t.strictSame(await s.signingAlgsInUse(), []);
    await s.create(client('a', { accessTokenSigningAlg: 'RS256' }));
    await s.create(client('b'));
    await s.create(client('c', { accessTokenSigningAlg: 'EdDSA' }));
    await s.create(client('d', { accessTokenSigningAlg: 'RS256' }));
    t.strictSame(await s.signingAlgsInUse(), ['EdDSA', 'RS256']);
    await s.delete('c');
    t.strictSame(await s.signingAlgsInUse(), ['RS256']);
  });

  t.test('addSecret, deleteSecret', async (t) => {
    const s = await open(t);
    await s.create(client('c1'));
    await s.create(client('c2'));
    await s.addSecret('c1', secret('c1-s2', { createdAt: T0 + 1, expiresAt: T0 + 60_000 }));
    t.strictSame((await s.get('c1'))?.secrets, [secret('c1-s1'), secret('c1-s2', { createdAt: T0 + 1, expiresAt: T0 + 60_000 })]);
    t.equal(await s.deleteSecret('c1', 'c2-s1'), false, "one client cannot delete another's secret");
    t.equal(await s.deleteSecret('c1', 'c1-s1'), true);
    t.equal(await s.deleteSecret('c1', 'c1-s1'), false);
    t.strictSame(
      (await s.get('c1'))?.secrets.map((x) => x.secretId),
      ['c1-s2'],
    );
    t.strictSame(
      (await s.get('c2'))?.secrets.map((x) => x.secretId),
      ['c2-s1'],
    );
  });

  t.test('expireSecrets only ever brings an expiry forward', async (t) => {
    const s = await open(t);
    await s.create(client('c1', { secrets: [secret('never'), secret('later', { expiresAt: T0 + 9000 }), secret('sooner', { expiresAt: T0 + 100 })] }));
    await s.create(client('c2', { secrets: [secret('other')] }));
    await s.expireSecrets('c1', ['never', 'later', 'sooner', 'other'], T0 + 500);
    await s.expireSecrets('c1', [], T0);
    t.strictSame(
      (await s.get('c1'))?.secrets.map((x) => [x.secretId, x.expiresAt]),
      [
        ['later', T0 + 500],
        ['never', T0 + 500],
        ['sooner', T0 + 100],
      ],
    );
    t.equal((await s.get('c2'))?.secrets[0]?.expiresAt, null, "another client's secret is untouched");
  });

  t.test('touchSecrets records last use and never goes back in time', async (t) => {
    const s = await open(t);
    await s.create(client('c1', { secrets: [secret('a'), secret('b', { lastUsedAt: T0 + 50 })] }));
    await s.touchSecrets(
      new Map([
        ['a', T0 + 10],
        ['b', T0 + 20],
        ['unknown', T0],
      ]),
    );
    await s.touchSecrets(new Map());
    t.strictSame(
      (await s.get('c1'))?.secrets.map((x) => [x.secretId, x.lastUsedAt]),
      [
        ['a', T0 + 10],
        ['b', T0 + 50],
      ],
    );
    await s.touchSecrets(new Map([['b', T0 + 70]]));
    t.equal((await s.get('c1'))?.secrets[1]?.lastUsedAt, T0 + 70);
  });
}
