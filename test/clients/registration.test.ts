import t from 'tap';
import type { Test } from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { exportJWK } from 'jose';
import { parseClientMetadata, type MetadataPolicy } from '../../src/clients/registration.js';
import { isPrivateHost } from '../../src/lib/private-address.js';
import { InvalidClientMetadata } from '../../src/errors/oauth-errors.js';
import { clientKey } from '../fixtures/assertion.js';

const DEV: MetadataPolicy = { production: false, assertionAlgs: ['ES256', 'PS256', 'EdDSA', 'RS256'] };
const PROD: MetadataPolicy = { ...DEV, production: true };

async function rejects(t: Test, input: unknown, policy: MetadataPolicy, field: string, what: string): Promise<void> {
  let thrown: unknown = null;
  try {
    await parseClientMetadata(input, policy);
  } catch (err) {
    thrown = err;
  }
  t.ok(thrown instanceof InvalidClientMetadata, `${what}: invalid_client_metadata`);
  if (thrown instanceof InvalidClientMetadata) t.match(thrown.description, new RegExp(`^${field}: `), `${what}: names ${field}`);
}

t.test('REQ-D8: private, loopback, link-local and metadata hosts are recognised', async (t) => {
  const host = (url: string) => new URL(url).hostname;
  for (const url of [
    'https://localhost/j',
    'https://a.localhost/j',
    'https://printer.local/j',
    'https://metadata.google.internal/j',
    'https://127.0.0.1/j',
    'https://127.1.2.3/j',
    'https://10.0.0.1/j',
    'https://172.16.0.1/j',
    'https://172.31.255.255/j',
    'https://192.168.1.1/j',
    'https://169.254.169.254/j',
    'https://100.64.0.1/j',
    'https://0.0.0.0/j',
    'https://[::1]/j',
    'https://[::]/j',
    'https://[fd00::1]/j',
    'https://[fc00::1]/j',
    'https://[fe80::1]/j',
    'https://[::ffff:127.0.0.1]/j',
    'https://[::ffff:a9fe:a9fe]/j',
    // alternative IPv4 spellings are normalised by the URL parser before the check
    'https://2130706433/j',
    'https://0x7f.1/j',
    'https://0177.0.0.1/j',
    'https://LOCALHOST/j',
    'https://localhost./j',
    'https://metadata.google.internal./j',
  ])
    t.ok(isPrivateHost(host(url)), url);
  for (const url of ['https://keys.example.com/j', 'https://8.8.8.8/j', 'https://172.32.0.1/j', 'https://[2606:4700::1111]/j', 'https://192.169.0.1/j']) t.notOk(isPrivateHost(host(url)), url);
});

t.test('REQ-D8: in production a jwks_uri must be https and public', async (t) => {
  const pkj = { token_endpoint_auth_method: 'private_key_jwt' };
  await rejects(t, { ...pkj, jwks_uri: 'http://keys.example.com/jwks.json' }, PROD, 'jwks_uri', 'http in production');
  for (const uri of ['https://127.0.0.1/jwks.json', 'https://169.254.169.254/latest', 'https://localhost:8443/jwks', 'https://[::1]/jwks', 'https://10.1.2.3/jwks', 'https://2130706433/jwks']) {
    await rejects(t, { ...pkj, jwks_uri: uri }, PROD, 'jwks_uri', uri);
  }
  await rejects(t, { ...pkj, jwks_uri: 'not a url' }, PROD, 'jwks_uri', 'not a URL');
  await rejects(t, { ...pkj, jwks_uri: 'https://keys.example.com/jwks.json#frag' }, PROD, 'jwks_uri', 'fragment');
  const ok = await parseClientMetadata({ ...pkj, jwks_uri: 'https://keys.example.com/jwks.json' }, PROD);
  t.equal(ok.jwksUri, 'https://keys.example.com/jwks.json');
  // development allows http and loopback (local testing)
  const dev = await parseClientMetadata({ ...pkj, jwks_uri: 'http://127.0.0.1:9999/jwks.json' }, DEV);
  t.equal(dev.jwksUri, 'http://127.0.0.1:9999/jwks.json');
});

t.test('REQ-D6: key checks — public only, RSA ≥ 2048, allowed curves, unique kids', async (t) => {
  const pkj = { token_endpoint_auth_method: 'private_key_jwt' };
  const ec = await clientKey('ES256');
  const ed = await clientKey('EdDSA');
  const rsa = await clientKey('PS256');
  const ok = await parseClientMetadata({ ...pkj, jwks: { keys: [ec.publicJwk, ed.publicJwk, rsa.publicJwk] } }, DEV);
  t.equal(ok.jwks?.keys.length, 3);
  const { publicKey: secp256k1 } = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
  await rejects(t, { ...pkj, jwks: { keys: [{ ...(await exportJWK(secp256k1)), kid: 'k1' }] } }, DEV, 'jwks', 'secp256k1');
  const { publicKey: rsa2047 } = generateKeyPairSync('rsa', { modulusLength: 2040 });
  await rejects(t, { ...pkj, jwks: { keys: [{ ...(await exportJWK(rsa2047)), kid: 'r' }] } }, DEV, 'jwks', 'RSA 2040-bit');
  for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) await rejects(t, { ...pkj, jwks: { keys: [{ ...ec.publicJwk, [m]: 'AAAA' }] } }, DEV, 'jwks', `private member ${m}`);
  await rejects(t, { ...pkj, jwks: { keys: [ec.publicJwk, { ...ed.publicJwk, kid: ec.kid }] } }, DEV, 'jwks', 'duplicate kid across key types');
  await rejects(
    t,
    {
      ...pkj,
      jwks: {
        keys: [
          { ...ec.publicJwk, kid: undefined },
          { ...ed.publicJwk, kid: undefined },
        ],
      },
    },
    DEV,
    'jwks',
    'several keys without kid',
  );
  await rejects(t, { ...pkj, jwks: { keys: [{ ...ec.publicJwk, x: 'AAAA' }] } }, DEV, 'jwks', 'a point that cannot be imported');
  await rejects(t, { ...pkj, jwks: { keys: Array.from({ length: 21 }, (_, i) => ({ ...ec.publicJwk, kid: `k${i}` })) } }, DEV, 'jwks', '21 keys');
});

t.test('REQ-D9 / REQ-D10: unknown members and client-chosen identifiers are dropped', async (t) => {
  const meta = await parseClientMetadata({ client_id: 'mine', client_secret: 'mine', redirect_uris: ['https://x'], foo: 1, scope: 'a b' }, DEV);
  t.same(Object.keys(meta).sort(), [
    'accessTokenSigningAlg',
    'accessTokenTtl',
    'audiences',
    'clientName',
    'grantTypes',
    'jwks',
    'jwksUri',
    'scopes',
    'tokenEndpointAuthMethod',
    'tokenEndpointAuthSigningAlg',
  ]);
  t.same(meta.scopes, ['a', 'b']);
  t.equal(meta.tokenEndpointAuthMethod, 'client_secret_basic');
  t.same(meta.grantTypes, ['client_credentials']);
});
