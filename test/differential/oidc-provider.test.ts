// Differential test: the same table of bad token requests against tokenmill (a real process) and
// node-oidc-provider v9 (in-process, client-credentials only, configured like
// bench/peer.mjs), with equivalent clients (same ids, secrets and key). Where the contract
// agrees with oidc-provider both must answer the same status and `error`; where the contract deliberately
// differs the row says why in `differs`, tokenmill is held to the contract and oidc-provider to the
// documented peer behaviour (so a stale annotation fails too).
import t from 'tap';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import { assertion, clientKey, type ClientKey } from '../fixtures/assertion.js';
import { freePort, registerClient, startServer } from '../e2e/support.js';
import { basicCredentials as basic } from '@tokenmill/verify/protocol';

// Real processes start slowly on a loaded machine (PGlite); the runner's default per-file limit is 30 s when run directly.
t.setTimeout(240_000);

const ADMIN_TOKEN = `diff-admin-${randomBytes(24).toString('base64url')}`;
const API = 'https://api.example.com';
const SCOPES = 'api:read api:write';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const C4_BODY = { error: 'invalid_client', error_description: 'client authentication failed' };
/** RFC 6749 §5.2 error_description charset (C1). */
const DESCRIPTION_CHARSET = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;

// ---- tokenmill (real process) and its clients -------------------------------------------------
const tm = await startServer(t, { ADMIN_TOKEN });
const key: ClientKey = await clientKey('ES256', 'diff-client-key');
const regBasic = await registerClient(tm.url, ADMIN_TOKEN, { client_name: 'diff basic', token_endpoint_auth_method: 'client_secret_basic', scope: SCOPES, audience: [API] });
const regPost = await registerClient(tm.url, ADMIN_TOKEN, { client_name: 'diff post', token_endpoint_auth_method: 'client_secret_post', scope: SCOPES, audience: [API] });
const regPk = await registerClient(tm.url, ADMIN_TOKEN, {
  client_name: 'diff pkjwt',
  token_endpoint_auth_method: 'private_key_jwt',
  token_endpoint_auth_signing_alg: 'ES256',
  jwks: { keys: [key.publicJwk] },
  scope: SCOPES,
  audience: [API],
});
const basicClient = { id: regBasic.client_id as string, secret: regBasic.client_secret as string };
const postClient = { id: regPost.client_id as string, secret: regPost.client_secret as string };
const pkClientId = regPk.client_id as string;

// ---- oidc-provider v9 in-process with the same clients -----------------------------------------
// oidc-provider ships no type declarations: a non-literal specifier keeps tsc from looking for them.
const oidcProviderModule = 'oidc-provider';
const { Provider, errors: opErrors } = (await import(oidcProviderModule)) as { Provider: new (issuer: string, config: unknown) => any; errors: Record<string, new (...args: any[]) => Error> };
const peerPort = await freePort();
const peerIssuer = `http://127.0.0.1:${peerPort}`;
const signing = await generateKeyPair('ES256', { extractable: true });
const provider = new Provider(peerIssuer, {
  clients: [
    {
      client_id: basicClient.id,
      client_secret: basicClient.secret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: SCOPES,
    },
    {
      client_id: postClient.id,
      client_secret: postClient.secret,
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: SCOPES,
    },
    {
      client_id: pkClientId,
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks: { keys: [key.publicJwk] },
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: SCOPES,
    },
  ],
  jwks: { keys: [{ ...(await exportJWK(signing.privateKey)), kid: 'peer-signing', alg: 'ES256', use: 'sig' }] },
  cookies: { keys: [randomBytes(16).toString('hex')] },
  scopes: [...SCOPES.split(' '), 'api:admin'],
  clientDefaults: { id_token_signed_response_alg: 'ES256', grant_types: ['client_credentials'], response_types: [] },
  clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
  enabledJWA: { clientAuthSigningAlgValues: ['ES256'] },
  routes: { token: '/oauth2/token' },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => API,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx: unknown, resourceIndicator: string) => {
        // bench/peer.mjs throws a plain Error here (→ 500 server_error); RFC 8707 says invalid_target.
        if (resourceIndicator !== API) throw new opErrors.InvalidTarget!('the requested resource is not allowed');
        return { scope: `${SCOPES} api:admin`, audience: API, accessTokenTTL: 3600, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } };
      },
    },
  },
});
const peerServer: Server = provider.listen(peerPort, '127.0.0.1');
await new Promise<void>((resolve, reject) => {
  peerServer.once('listening', () => resolve());
  peerServer.once('error', reject);
});
t.teardown(async () => {
  peerServer.closeAllConnections();
  await new Promise((r) => peerServer.close(r));
});

// ---- the table ----------------------------------------------------------------------------------
interface Side {
  name: 'tokenmill' | 'oidc-provider';
  issuer: string;
  tokenUrl: string;
}
const sides: Side[] = [
  { name: 'tokenmill', issuer: tm.issuer, tokenUrl: `${tm.url}/oauth2/token` },
  { name: 'oidc-provider', issuer: peerIssuer, tokenUrl: `${peerIssuer}/oauth2/token` },
];

interface Req {
  method?: string;
  headers?: Record<string, string>;
  /** a form (repeated keys as arrays) or a raw body */
  form?: Record<string, string | string[]>;
  raw?: string;
  contentType?: string;
  /** a query string appended to the token endpoint URL */
  query?: string;
}
interface Expect {
  status: number;
  error?: string;
}
interface Row {
  name: string;
  req: (s: Side) => Req | Promise<Req>;
  /** sent first on each side and expected to be 200 (e.g. the original of a replay) */
  prime?: (s: Side) => Req | Promise<Req>;
  /** what the contract requires of tokenmill */
  spec: Expect;
  /** where the contract deliberately differs from oidc-provider: why, and what oidc-provider answers */
  differs?: { reason: string; peer: Expect };
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
const cc = { grant_type: 'client_credentials' };
const withBasic = (extra: Record<string, string | string[]> = {}): Req => ({ headers: { authorization: basic(basicClient.id, basicClient.secret) }, form: { ...cc, ...extra } });
const pk = async (s: Side, o: Parameters<typeof assertion>[4] = {}, aud = s.issuer): Promise<Req> => ({
  form: { ...cc, client_assertion_type: ASSERTION_TYPE, client_assertion: await assertion(key, pkClientId, aud, now(), o) },
});

const rows: Row[] = [
  // Baselines: both servers accept the equivalent clients (otherwise the failures below would prove nothing).
  { name: 'baseline client_secret_basic', req: () => withBasic({ scope: 'api:read' }), spec: { status: 200 } },
  { name: 'baseline client_secret_post', req: () => ({ form: { ...cc, client_id: postClient.id, client_secret: postClient.secret } }), spec: { status: 200 } },
  { name: 'baseline private_key_jwt', req: (s) => pk(s), spec: { status: 200 } },

  // 1. method, content type
  {
    name: 'wrong method (GET)',
    req: () => ({ method: 'GET', headers: { authorization: basic(basicClient.id, basicClient.secret) } }),
    spec: { status: 405, error: 'invalid_request' },
    differs: { reason: 'contract: 405 invalid_request with Allow: POST (RFC 9110 §15.5.6); oidc-provider has no GET route and answers a plain-text 404', peer: { status: 404 } },
  },
  {
    name: 'charset=latin1',
    req: () => ({ headers: { authorization: basic(basicClient.id, basicClient.secret) }, form: cc, contentType: 'application/x-www-form-urlencoded; charset=latin1' }),
    spec: { status: 400, error: 'invalid_request' },
    differs: { reason: 'REQ-T2: UTF-8 only; oidc-provider ignores the charset parameter', peer: { status: 200 } },
  },
  {
    name: 'body of 100 KiB',
    req: () => withBasic({ padding: 'x'.repeat(100 * 1024) }),
    spec: { status: 413, error: 'invalid_request' },
    differs: { reason: 'C8/REQ-T3: an oversized body is 413; oidc-provider (56 KiB limit) answers 400 "failed to parse the request body"', peer: { status: 400, error: 'invalid_request' } },
  },
  {
    name: 'JSON body',
    req: () => ({ headers: { authorization: basic(basicClient.id, basicClient.secret) }, raw: JSON.stringify(cc), contentType: 'application/json' }),
    spec: { status: 400, error: 'invalid_request' },
  },
  // 2. parameter syntax
  { name: 'missing grant_type', req: () => ({ headers: { authorization: basic(basicClient.id, basicClient.secret) }, form: { scope: 'api:read' } }), spec: { status: 400, error: 'invalid_request' } },
  { name: 'repeated grant_type', req: () => withBasic({ grant_type: ['client_credentials', 'client_credentials'] }), spec: { status: 400, error: 'invalid_request' } },
  { name: 'empty scope = omitted', req: () => withBasic({ scope: '' }), spec: { status: 200 } },
  {
    name: 'client_secret in the query string',
    req: () => ({ form: { ...cc, client_id: postClient.id }, query: `client_secret=${encodeURIComponent(postClient.secret)}` }),
    spec: { status: 400, error: 'invalid_request' },
    differs: { reason: 'REQ-T4: credentials in the URL are refused outright; oidc-provider ignores the query and fails authentication', peer: { status: 401, error: 'invalid_client' } },
  },
  {
    name: 'NUL in body client_id',
    req: () => ({ form: { ...cc, client_id: '\u0000', client_secret: postClient.secret } }),
    spec: { status: 400, error: 'invalid_request' },
    differs: { reason: 'REQ-T8: a client_id outside VSCHAR is a syntax fault; oidc-provider checks VSCHAR only in Basic and answers invalid_client', peer: { status: 401, error: 'invalid_client' } },
  },
  { name: 'repeated scope', req: () => withBasic({ scope: ['api:read', 'api:read'] }), spec: { status: 400, error: 'invalid_request' } },
  // 3. grant type
  {
    name: 'unsupported grant_type',
    req: () => ({ headers: { authorization: basic(basicClient.id, basicClient.secret) }, form: { grant_type: 'password' } }),
    spec: { status: 400, error: 'unsupported_grant_type' },
  },
  {
    name: 'unsupported grant_type + wrong secret',
    req: () => ({ headers: { authorization: basic(basicClient.id, 'wrong-secret') }, form: { grant_type: 'password' } }),
    spec: { status: 400, error: 'unsupported_grant_type' },
    differs: { reason: 'C6: grant_type is checked before client authentication; oidc-provider authenticates first', peer: { status: 401, error: 'invalid_client' } },
  },
  // 4. client authentication
  {
    name: 'no credentials',
    req: () => ({ form: cc }),
    spec: { status: 401, error: 'invalid_client' },
    differs: { reason: 'RFC 6749 §5.2 and C3: "no client authentication included" is 401 invalid_client; oidc-provider answers 400 invalid_request', peer: { status: 400, error: 'invalid_request' } },
  },
  { name: 'client_id only (basic client)', req: () => ({ form: { ...cc, client_id: basicClient.id } }), spec: { status: 401, error: 'invalid_client' } },
  { name: 'unknown client (basic)', req: () => ({ headers: { authorization: basic('tmc_unknownunknownunknown0', basicClient.secret) }, form: cc }), spec: { status: 401, error: 'invalid_client' } },
  { name: 'unknown client (post)', req: () => ({ form: { ...cc, client_id: 'tmc_unknownunknownunknown0', client_secret: postClient.secret } }), spec: { status: 401, error: 'invalid_client' } },
  { name: 'wrong secret (basic)', req: () => ({ headers: { authorization: basic(basicClient.id, `${basicClient.secret}x`) }, form: cc }), spec: { status: 401, error: 'invalid_client' } },
  { name: 'wrong secret (post)', req: () => ({ form: { ...cc, client_id: postClient.id, client_secret: `${postClient.secret}x` } }), spec: { status: 401, error: 'invalid_client' } },
  { name: 'two methods: basic + body secret', req: () => withBasic({ client_secret: basicClient.secret }), spec: { status: 400, error: 'invalid_request' } },
  {
    name: 'two methods: basic + assertion',
    req: async (s) => ({ headers: { authorization: basic(basicClient.id, basicClient.secret) }, form: (await pk(s)).form! }),
    spec: { status: 400, error: 'invalid_request' },
  },
  { name: 'body client_id mismatch (basic)', req: () => withBasic({ client_id: postClient.id }), spec: { status: 400, error: 'invalid_request' } },
  { name: 'malformed Basic: no colon', req: () => ({ headers: { authorization: `Basic ${b64(basicClient.id)}` }, form: cc }), spec: { status: 400, error: 'invalid_request' } },
  { name: 'malformed Basic: bad base64', req: () => ({ headers: { authorization: 'Basic !!not*base64!!' }, form: cc }), spec: { status: 400, error: 'invalid_request' } },
  { name: 'malformed Basic: empty secret', req: () => ({ headers: { authorization: `Basic ${b64(`${basicClient.id}:`)}` }, form: cc }), spec: { status: 400, error: 'invalid_request' } },
  {
    name: 'malformed Basic: bad %-escape',
    req: () => ({ headers: { authorization: `Basic ${b64(`${basicClient.id}:${basicClient.secret}%zz`)}` }, form: cc }),
    spec: { status: 400, error: 'invalid_request' },
  },
  {
    name: 'basic client uses client_secret_post',
    req: () => ({ form: { ...cc, client_id: basicClient.id, client_secret: basicClient.secret } }),
    spec: { status: 401, error: 'invalid_client' },
    differs: { reason: 'REQ-A2: the registered method is enforced; oidc-provider lets _basic and _post stand in for each other', peer: { status: 200 } },
  },
  {
    name: 'post client uses client_secret_basic',
    req: () => ({ headers: { authorization: basic(postClient.id, postClient.secret) }, form: cc }),
    spec: { status: 401, error: 'invalid_client' },
    differs: { reason: 'REQ-A2 (as above)', peer: { status: 200 } },
  },
  // 4b. private_key_jwt
  { name: 'assertion: wrong aud', req: (s) => pk(s, {}, 'https://wrong.example.com'), spec: { status: 401, error: 'invalid_client' } },
  {
    name: 'assertion: aud = token endpoint URL',
    req: (s) => pk(s, {}, s.tokenUrl),
    spec: { status: 401, error: 'invalid_client' },
    differs: { reason: 'REQ-J4 (rfc7523bis): issuer identifier only; oidc-provider 9 also accepts the token endpoint URL', peer: { status: 200 } },
  },
  {
    name: 'assertion: aud = [issuer] (array)',
    req: (s) => pk(s, { aud: [s.issuer] }),
    spec: { status: 401, error: 'invalid_client' },
    differs: { reason: 'REQ-J4: aud must be a single string; oidc-provider accepts an array containing the issuer', peer: { status: 200 } },
  },
  {
    name: 'assertion: replayed jti',
    prime: async (s) => pk(s, { jti: `replay-${s.name}-${randomBytes(4).toString('hex')}` }),
    req: async () => lastPrimed!,
    spec: { status: 401, error: 'invalid_client' },
  },
  { name: 'assertion: aud = issuer + "/"', req: (s) => pk(s, {}, `${s.issuer}/`), spec: { status: 401, error: 'invalid_client' } },
  {
    name: 'assertion: typ at+jwt',
    req: (s) => pk(s, { typ: 'at+jwt' }),
    spec: { status: 401, error: 'invalid_client' },
    differs: { reason: 'REQ-J11: a typ of another JWT kind is refused; oidc-provider does not check the assertion typ', peer: { status: 200 } },
  },
  {
    name: 'assertion: alg none',
    req: (s) => ({
      form: {
        ...cc,
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: `${b64url({ alg: 'none' })}.${b64url({ iss: pkClientId, sub: pkClientId, aud: s.issuer, jti: randomBytes(8).toString('hex'), iat: now(), exp: now() + 60 })}.`,
      },
    }),
    spec: { status: 401, error: 'invalid_client' },
  },
  { name: 'assertion: no exp', req: (s) => pk(s, { exp: null }), spec: { status: 401, error: 'invalid_client' } },
  { name: 'assertion: expired', req: (s) => pk(s, { iat: now() - 600, exp: now() - 300 }), spec: { status: 401, error: 'invalid_client' } },
  {
    name: 'assertion: exp 1 h ahead',
    req: (s) => pk(s, { exp: now() + 3600 }),
    spec: { status: 401, error: 'invalid_client' },
    differs: { reason: 'contract/REQ-J5: exp at most 5 minutes ahead; oidc-provider has no lifetime cap', peer: { status: 200 } },
  },
  {
    name: 'assertion: unregistered key',
    req: async (s) => ({ form: { ...cc, client_assertion_type: ASSERTION_TYPE, client_assertion: await assertion(await clientKey('ES256', key.kid), pkClientId, s.issuer, now()) } }),
    spec: { status: 401, error: 'invalid_client' },
  },
  { name: 'assertion: iss != sub', req: (s) => pk(s, { iss: basicClient.id }), spec: { status: 401, error: 'invalid_client' } },
  {
    name: 'client_assertion_type wrong',
    req: async (s) => ({ form: { ...(await pk(s)).form!, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer' } }),
    spec: { status: 400, error: 'invalid_request' },
  },
  {
    name: 'client_assertion_type missing',
    req: async (s) => {
      const f = { ...(await pk(s)).form! };
      delete f.client_assertion_type;
      return { form: f };
    },
    spec: { status: 400, error: 'invalid_request' },
  },
  // 6. scope, 7. resource
  { name: 'scope not allowed for the client', req: () => withBasic({ scope: 'api:read api:admin' }), spec: { status: 400, error: 'invalid_scope' } },
  {
    name: 'scope unknown to the server',
    req: () => withBasic({ scope: 'api:read api:unknown' }),
    spec: { status: 400, error: 'invalid_scope' },
    differs: { reason: 'REQ-G4: reject rather than silently narrow; oidc-provider drops scopes it does not recognise', peer: { status: 200 } },
  },
  { name: 'resource not allowed', req: () => withBasic({ resource: 'https://other.example.com' }), spec: { status: 400, error: 'invalid_target' } },
  { name: 'resource not absolute', req: () => withBasic({ resource: 'api.example.com/x' }), spec: { status: 400, error: 'invalid_target' } },
  { name: 'two resources', req: () => withBasic({ resource: [API, 'https://other.example.com'] }), spec: { status: 400, error: 'invalid_target' } },
];

let lastPrimed: Req | null = null;

interface Res {
  status: number;
  error: string | undefined;
  body: any;
  text: string;
  headers: Headers;
}

async function send(s: Side, r: Req): Promise<Res> {
  const headers: Record<string, string> = { accept: 'application/json', ...r.headers };
  let body: string | undefined;
  if (r.form) {
    const sp = new URLSearchParams();
    for (const [k, v] of Object.entries(r.form)) for (const x of Array.isArray(v) ? v : [v]) sp.append(k, x);
    body = sp.toString();
    headers['content-type'] = r.contentType ?? 'application/x-www-form-urlencoded';
  } else if (r.raw !== undefined) {
    body = r.raw;
    headers['content-type'] = r.contentType ?? 'application/x-www-form-urlencoded';
  }
  const method = r.method ?? 'POST';
  const res = await fetch(r.query ? `${s.tokenUrl}?${r.query}` : s.tokenUrl, { method, headers, body: method === 'GET' || method === 'HEAD' ? undefined : body });
  const text = await res.text();
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, error: parsed?.error, body: parsed, text, headers: res.headers };
}

const fmt = (e: { status: number; error?: string | undefined }) => `${e.status}${e.error ? ` ${e.error}` : ''}`;
const table: string[] = [];

for (const row of rows) {
  t.test(row.name, async (t) => {
    const got: Partial<Record<Side['name'], Res>> = {};
    const sent: Partial<Record<Side['name'], Req>> = {};
    for (const s of sides) {
      if (row.prime) {
        const primed = await row.prime(s);
        const first = await send(s, primed);
        t.equal(first.status, 200, `${s.name}: the original request succeeds (${first.text.slice(0, 200)})`);
        lastPrimed = primed;
      }
      sent[s.name] = await row.req(s);
      got[s.name] = await send(s, sent[s.name]!);
    }
    const ours = got.tokenmill!;
    const peer = got['oidc-provider']!;

    // tokenmill against the contract
    t.equal(ours.status, row.spec.status, `tokenmill status (${ours.text.slice(0, 120)})`);
    t.equal(ours.error, row.spec.error, 'tokenmill error');
    t.equal(ours.headers.get('cache-control'), 'no-store', 'C2 Cache-Control');
    t.equal(ours.headers.get('pragma'), 'no-cache', 'C2 Pragma');
    t.match(ours.headers.get('content-type') ?? '', /^application\/json/, 'C1 JSON');
    if (row.spec.status >= 400) {
      t.same(
        Object.keys(ours.body ?? {}).filter((k) => k !== 'error' && k !== 'error_description'),
        [],
        'only error and error_description',
      );
      t.match(ours.body?.error_description ?? '', DESCRIPTION_CHARSET, 'C1 error_description charset');
    }
    if (row.spec.status === 401) {
      t.same(ours.body, C4_BODY, 'C4 identical invalid_client body');
      // C3: a challenge when the Authorization header was used or no credentials were sent; none for body credentials.
      const req = sent.tokenmill!;
      const inBody = ['client_secret', 'client_assertion', 'client_assertion_type'].some((k) => req.form?.[k] !== undefined);
      const challenged = req.headers?.authorization !== undefined || !inBody;
      t.equal(ours.headers.get('www-authenticate'), challenged ? `Basic realm="${tm.issuer}"` : null, challenged ? 'C3 challenge' : 'C3 no challenge for body credentials');
    }
    // oidc-provider challenges a 401 exactly when the Authorization header was used (lib/shared/client_auth.js).
    if (peer.status === 401) {
      const challenged = sent['oidc-provider']!.headers?.authorization !== undefined;
      t.equal(peer.headers.get('www-authenticate')?.startsWith('Basic ') ?? false, challenged, `oidc-provider ${challenged ? 'sends a Basic challenge' : 'sends no challenge'}`);
    }
    if (row.spec.status === 405) t.equal(ours.headers.get('allow'), 'POST', 'Allow: POST');
    if (row.spec.status === 200) {
      t.equal(ours.body?.token_type, 'Bearer');
      t.type(ours.body?.access_token, 'string');
    }

    // oidc-provider: the same where the contract agrees, the documented difference otherwise
    const peerExpected = row.differs?.peer ?? row.spec;
    t.equal(peer.status, peerExpected.status, `oidc-provider status${row.differs ? ' (documented difference)' : ' (agrees with the contract)'} (${peer.text.slice(0, 120)})`);
    t.equal(peer.error, peerExpected.error, 'oidc-provider error');
    if (peer.status === 200 || peer.status === 400 || peer.status === 401) t.equal(peer.headers.get('cache-control'), 'no-store', 'oidc-provider sends no-store too');

    const agree = ours.status === peer.status && ours.error === peer.error;
    const note = row.differs ? `differs: ${row.differs.reason}` : agree ? 'same' : 'UNEXPECTED MISMATCH';
    table.push(`| ${row.name.padEnd(38)} | ${fmt(ours).padEnd(27)} | ${fmt(peer).padEnd(27)} | ${note} |`);
  });
}

t.test('Pragma: no-cache (C2) is a deliberate difference', async (t) => {
  // RFC 6749 §5.1 requires Pragma: no-cache; oidc-provider sends only Cache-Control: no-store (lib/shared/no_cache.js).
  const ours = await send(sides[0]!, withBasic());
  const peer = await send(sides[1]!, withBasic());
  t.equal(ours.status, 200);
  t.equal(peer.status, 200);
  t.equal(ours.headers.get('pragma'), 'no-cache', 'tokenmill: Pragma: no-cache');
  t.equal(peer.headers.get('pragma'), null, 'oidc-provider: no Pragma');
  table.push(`| ${'Pragma header on 200'.padEnd(38)} | ${'no-cache'.padEnd(27)} | ${'(absent)'.padEnd(27)} | differs: C2 / RFC 6749 §5.1 require Pragma: no-cache |`);
});

t.test('print the table', async (t) => {
  t.comment(`| ${'request'.padEnd(38)} | ${'tokenmill'.padEnd(27)} | ${'oidc-provider'.padEnd(27)} | note |`);
  t.comment(`|${'-'.repeat(40)}|${'-'.repeat(29)}|${'-'.repeat(29)}|------|`);
  for (const line of table) t.comment(line);
  t.equal(table.length, rows.length + 1, 'every row ran');
});
