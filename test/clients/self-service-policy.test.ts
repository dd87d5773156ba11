// The RFC 7592 self-service policy on its own: an allow-list of fields that grant nothing; every other
// field the server understands must be echoed unchanged or omitted; anything else is ignored and never
// reaches the stored client, so a privileged field added later is safe without touching the policy.
import t from 'tap';
import { SELF_SERVICE_FIELDS, selfServiceMetadata, selfServicePatch } from '../../src/clients/self-service-policy.js';
import { InvalidClientMetadata } from '../../src/errors/oauth-errors.js';
import type { ClientMetadata } from '../../src/clients/registration.js';

/** the stored client's privileged fields (what self-service cannot change) */
const privileged = {
  token_endpoint_auth_method: 'client_secret_basic',
  grant_types: ['client_credentials'],
  response_types: [],
  scope: 'api:read api:write',
  audience: ['https://a.example.com', 'https://b.example.com'],
  access_token_ttl: 300,
};
const stored = {
  client_id: 'tmc_x',
  client_id_issued_at: 1,
  client_secret_expires_at: 0,
  registration_client_uri: 'http://tokenmill.test/oauth2/register/tmc_x',
  client_name: 'old',
  ...privileged,
};

function refusal(body: Record<string, unknown>, from: Record<string, unknown> = stored): string | null {
  try {
    selfServiceMetadata(from, body);
    return null;
  } catch (err) {
    return err instanceof InvalidClientMetadata ? (err.description ?? '') : `unexpected ${String(err)}`;
  }
}
const refused = (field: string): string => `${field}: cannot be changed by the client itself (RFC 7592 section 2.2); an administrator changes it through the admin API`;

t.test('the allow-list is exactly the fields that grant nothing', async (t) => {
  t.same([...SELF_SERVICE_FIELDS].sort(), ['client_name', 'contacts', 'jwks', 'jwks_uri']);
});

t.test('privileged fields come from the stored metadata; self-service fields from the request', async (t) => {
  const out = selfServiceMetadata(stored, { client_id: 'tmc_x', client_name: 'new', contacts: ['ops@example.com'] });
  t.same(out, { client_name: 'new', contacts: ['ops@example.com'], ...privileged });
  // an omitted self-service field is removed (RFC 7592 §2.2 replace semantics)
  t.notOk('client_name' in selfServiceMetadata(stored, { client_id: 'tmc_x' }));
});

t.test('a changed privileged value is refused, naming the field; an echo is not', async (t) => {
  t.equal(refusal({ scope: 'api:read api:write tokenmill:admin' }), refused('scope'));
  t.equal(refusal({ scope: 'api:write api:read' }), null, 'the same scopes in another order');
  t.equal(refusal({ audience: ['https://b.example.com', 'https://a.example.com'] }), refused('audience'), 'the first audience is the default: order matters');
  t.equal(refusal({ access_token_ttl: 301 }), refused('access_token_ttl'));
  t.equal(refusal({ access_token_ttl: '300' }), refused('access_token_ttl'), 'a string is not the stored number');
  t.equal(refusal({ access_token_ttl: null }), refused('access_token_ttl'), 'null asks to delete a stored value');
  t.equal(refusal({ access_token_signing_alg: 'RS256' }), refused('access_token_signing_alg'), 'a field the stored metadata does not hold');
  t.equal(refusal({ access_token_signing_alg: null }), null, 'null echoes an unset field');
  t.equal(refusal({ token_endpoint_auth_signing_alg: 'ES256' }), refused('token_endpoint_auth_signing_alg'));
  t.equal(refusal({ token_endpoint_auth_method: 'private_key_jwt' }), refused('token_endpoint_auth_method'));
  t.equal(refusal({ grant_types: ['client_credentials'], response_types: [] }), null);
  t.equal(refusal({ grant_types: ['client_credentials', 'refresh_token'] }), refused('grant_types'));
  t.equal(refusal({ response_types: ['code'] }), refused('response_types'));
});

t.test('a privileged field the policy has never heard of is refused when the stored metadata shows it', async (t) => {
  const withOrg = { ...stored, org_id: 'org_a' };
  t.equal(refusal({ org_id: 'org_b' }, withOrg), refused('org_id'));
  t.equal(refusal({ org_id: null }, withOrg), refused('org_id'));
  t.equal(refusal({ org_id: 'org_a' }, withOrg), null);
  t.equal(selfServiceMetadata(withOrg, {}).org_id, 'org_a', 'kept when omitted');
});

t.test('unknown and server-issued members are ignored and never passed on', async (t) => {
  const out = selfServiceMetadata(stored, { token_quota: { per_second: 1e9, enforce: false }, is_admin: true, client_id_issued_at: 5, registration_access_token: 'tmrat_x', client_secret: 'tmsec_x' });
  for (const k of ['token_quota', 'is_admin', 'client_id_issued_at', 'registration_access_token', 'client_secret', 'client_id', 'registration_client_uri', 'client_secret_expires_at'])
    t.notOk(k in out, k);
});

t.test('the patch holds only self-service fields, whatever the validated metadata says', async (t) => {
  const meta: ClientMetadata = {
    clientName: 'n',
    tokenEndpointAuthMethod: 'private_key_jwt',
    tokenEndpointAuthSigningAlg: 'ES256',
    accessTokenSigningAlg: 'RS256',
    grantTypes: ['client_credentials'],
    scopes: ['tokenmill:admin'],
    audiences: ['x'],
    accessTokenTtl: 86400,
    jwks: { keys: [] },
    jwksUri: null,
  };
  t.same(Object.keys(selfServicePatch(meta)).sort(), ['clientName', 'jwks', 'jwksUri']);
});

t.test('property: whatever the body, the result is refused or keeps every privileged field as stored', async (t) => {
  const fields = [
    'client_id',
    'client_name',
    'contacts',
    'jwks',
    'jwks_uri',
    'scope',
    'audience',
    'access_token_ttl',
    'access_token_signing_alg',
    'token_endpoint_auth_signing_alg',
    'token_endpoint_auth_method',
    'grant_types',
    'response_types',
    'org_id',
    'token_quota',
    'registration_client_uri',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
  ];
  const values: unknown[] = [
    null,
    '',
    'x',
    'api:read',
    'api:write api:read',
    'tokenmill:admin',
    0,
    300,
    86400,
    '300',
    [],
    ['client_credentials'],
    ['https://a.example.com', 'https://b.example.com'],
    ['https://b.example.com'],
    { keys: [] },
    { per_second: 1 },
    true,
  ];
  const withOrg: Record<string, unknown> = { ...stored, org_id: 'org_a' };
  let seed = 7;
  const next = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  let accepted = 0;
  for (let i = 0; i < 2000; i++) {
    const body: Record<string, unknown> = {};
    for (let k = next(6); k > 0; k--) Object.defineProperty(body, fields[next(fields.length)]!, { value: values[next(values.length)], enumerable: true, configurable: true, writable: true });
    let out: Record<string, unknown>;
    try {
      out = selfServiceMetadata(withOrg, body);
    } catch (err) {
      if (!(err instanceof InvalidClientMetadata)) t.fail(`unexpected error for ${JSON.stringify(body)}: ${String(err)}`);
      continue;
    }
    accepted++;
    for (const [field, value] of Object.entries(withOrg)) {
      if (['client_name', 'contacts', 'jwks', 'jwks_uri', 'client_id', 'client_id_issued_at', 'client_secret_expires_at', 'registration_client_uri'].includes(field)) continue;
      if (JSON.stringify(out[field]) !== JSON.stringify(value)) t.fail(`${field} changed by ${JSON.stringify(body)}`);
    }
    for (const field of Object.keys(out)) if (!(field in withOrg) && !['client_name', 'contacts', 'jwks', 'jwks_uri'].includes(field)) t.fail(`${field} passed on from ${JSON.stringify(body)}`);
  }
  t.ok(accepted > 100, `${accepted} of 2000 random bodies accepted (the property is not vacuous)`);
  t.equal(({} as Record<string, unknown>).org_id, undefined, 'Object.prototype untouched');
});
