// Registered metadata has bounds, so that the largest token a client can be issued stays well under
// the 8 KiB a verifier accepts (threat model REQ-JWT7): a 30 KB scope would otherwise mint tokens that
// every resource server refuses.
import t from 'tap';
import type { Test } from 'tap';
import { parseClientMetadata, type MetadataPolicy } from '../../src/clients/registration.js';
import { MAX_AUDIENCES, MAX_AUDIENCE_LENGTH, MAX_SCOPE_LENGTH, MAX_SCOPE_TOKENS, MAX_SCOPE_TOKEN_LENGTH } from '../../src/clients/metadata-bounds.js';
import { InvalidClientMetadata } from '../../src/errors/oauth-errors.js';
import { ADMIN_TOKEN, build } from '../helper.js';
import { admin, adminApp } from '../admin/support.js';

const DEV: MetadataPolicy = { production: false, assertionAlgs: ['ES256', 'PS256', 'EdDSA', 'RS256'] };

async function refusal(input: Record<string, unknown>): Promise<string | null> {
  try {
    await parseClientMetadata(input, DEV);
    return null;
  } catch (err) {
    return err instanceof InvalidClientMetadata ? (err.description ?? '') : `not invalid_client_metadata: ${String(err)}`;
  }
}

/** `count` distinct scope tokens of exactly `length` characters. */
const scopeTokens = (count: number, length: number): string[] => Array.from({ length: count }, (_, i) => `s${String(i).padStart(3, '0')}`.padEnd(length, 'x'));
/** `count` distinct audiences of exactly `length` characters. */
const audiences = (count: number, length: number): string[] => Array.from({ length: count }, (_, i) => `https://api${String(i).padStart(2, '0')}.example.com/`.padEnd(length, 'p'));

t.test('the bounds', async (t) => {
  t.equal(MAX_SCOPE_TOKEN_LENGTH, 128);
  t.equal(MAX_SCOPE_TOKENS, 100);
  t.equal(MAX_SCOPE_LENGTH, 2048);
  t.equal(MAX_AUDIENCES, 20);
  t.equal(MAX_AUDIENCE_LENGTH, 512);
});

t.test('scope: at the bounds accepted, past them refused naming the field', async (t) => {
  // 16 tokens of 128 characters joined by spaces: 2063 characters, over the total
  const atToken = scopeTokens(15, 128).join(' ');
  t.equal(await refusal({ scope: atToken }), null, '15 tokens of 128 characters (1934 characters)');
  t.equal(await refusal({ scope: scopeTokens(100, 19).join(' ') }), null, '100 tokens, 1999 characters');
  t.equal(await refusal({ scope: scopeTokens(1, 129)[0]! }), 'scope: each scope token must be at most 128 characters');
  t.equal(await refusal({ scope: scopeTokens(101, 4).join(' ') }), 'scope: at most 100 scope tokens');
  t.equal(await refusal({ scope: scopeTokens(16, 128).join(' ') }), 'scope: must be at most 2048 characters');
  t.equal(await refusal({ scope: 'a'.repeat(30_000) }), 'scope: must be at most 2048 characters', 'the 30 KB scope of the issue');
  // a repeated token counts once it is stored, but the string as sent is what is bounded
  t.equal(await refusal({ scope: Array.from({ length: 101 }, () => 'api:read').join(' ') }), 'scope: at most 100 scope tokens');
});

t.test('audience: at the bounds accepted, past them refused naming the field', async (t) => {
  t.equal(await refusal({ audience: audiences(20, 512) }), null, '20 audiences of 512 characters');
  t.equal(await refusal({ audience: audiences(21, 40) }), 'audience: at most 20 audiences');
  t.equal(await refusal({ audience: audiences(1, 513) }), 'audience: each audience must be at most 512 characters');
  t.equal(await refusal({ audience: 'https://api.example.com/'.padEnd(513, 'p') }), 'audience: each audience must be at most 512 characters', 'a single string audience too');
  // only printable ASCII (URIs and plain identifiers): bounds the encoded size and keeps bidi text out
  t.equal(await refusal({ audience: ['https://api.example.com/\u202efdp.exe'] }), 'audience: must be printable ASCII (a URI or identifier)');
  t.equal(await refusal({ audience: ['https://bücher.example/'] }), 'audience: must be printable ASCII (a URI or identifier)');
  t.equal(await refusal({ audience: ['a\u0085b'] }), 'audience: must be printable ASCII (a URI or identifier)');
});

t.test('client_name: 200 characters at most', async (t) => {
  t.equal(await refusal({ client_name: 'n'.repeat(200) }), null);
  t.equal(await refusal({ client_name: 'n'.repeat(201) }), 'client_name: must be a non-empty string of at most 200 characters');
});

async function expectAdmin400(t: Test, res: { statusCode: number; json(): unknown }, description: string): Promise<void> {
  t.equal(res.statusCode, 400);
  t.same(res.json(), { error: 'invalid_request', error_description: description });
}

t.test('the admin API and RFC 7591 registration apply the same bounds, and store nothing', async (t) => {
  const b = await build(t);
  const api = adminApp(b);
  const bigScope = 'a'.repeat(30_000);
  // (the admin API's 16 KiB body limit answers 413 before metadata is read; just past the bound it is the metadata check)
  await expectAdmin400(t, await admin(api, 'POST', '/admin/v1/clients', { client_name: 'big', scope: 'a'.repeat(2049) }), 'scope: must be at most 2048 characters');
  await expectAdmin400(t, await admin(api, 'POST', '/admin/v1/clients', { client_name: 'big', audience: audiences(21, 40) }), 'audience: at most 20 audiences');
  const ok = await admin(api, 'POST', '/admin/v1/clients', { client_name: 'small', scope: 'api:read' });
  t.equal(ok.statusCode, 201);
  const id = (ok.json() as { client: { client_id: string } }).client.client_id;
  await expectAdmin400(t, await admin(api, 'PATCH', `/admin/v1/clients/${id}`, { scope: scopeTokens(101, 4).join(' ') }), 'scope: at most 100 scope tokens');
  await expectAdmin400(t, await admin(api, 'PATCH', `/admin/v1/clients/${id}`, { audience: audiences(1, 513) }), 'audience: each audience must be at most 512 characters');
  t.equal(((await admin(api, 'GET', `/admin/v1/clients/${id}`)).json() as { scope: string; audience: string[] }).scope, 'api:read', 'unchanged');
  const registered = await b.app.inject({
    method: 'POST',
    url: '/oauth2/register',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ client_name: 'big', scope: bigScope }),
  });
  t.equal(registered.statusCode, 400);
  t.same(registered.json(), { error: 'invalid_client_metadata', error_description: 'scope: must be at most 2048 characters' });
  const { rows } = await b.rt.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM clients WHERE client_name = 'big'");
  t.equal(rows[0]?.n, 0, 'no oversized client was stored');
});
