// Standard OAuth clients against a real tokenmill process: openid-client v6 for the grant,
// introspection and revocation, oauth4webapi's RFC 9068 validator and jose for every token.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import * as oauth from 'oauth4webapi';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, type JWTPayload } from 'jose';
import { basicAuth, fetchJson, registerClient, startServer } from './support.js';

// Real processes start slowly on a loaded machine (PGlite); the runner's default per-file limit is 30 s when run directly.
t.setTimeout(240_000);

const ADMIN_TOKEN = `e2e-admin-${randomBytes(24).toString('base64url')}`;
const API = 'https://api.example.com';
const REPORTS = 'https://reports.example.com';
const SECRET_SHAPE = /^tmsec_[0-9A-Za-z]{49}$/;

/** oauth4webapi's RFC 6749 §2.3.1 encoding (encodeURIComponent plus -_.!~*'() escaped, %20 → +). */
const formUrlEncode = (v: string): string => encodeURIComponent(v).replace(/[-_.!~*'()]|%20/g, (s) => (s === '%20' ? '+' : `%${s.charCodeAt(0).toString(16).toUpperCase()}`));

interface Captured {
  url: string;
  method: string;
  headers: Headers;
  body: string;
  status: number;
  responseHeaders: Headers;
}

/** A customFetch that records every request openid-client makes and the response headers. */
function recorder(): { log: Captured[]; fetch: client.CustomFetch } {
  const log: Captured[] = [];
  const fetchImpl: client.CustomFetch = async (url, options) => {
    const headers = new Headers(options.headers as ConstructorParameters<typeof Headers>[0]);
    const body = options.body === undefined || options.body === null ? '' : String(options.body);
    const res = await fetch(url, options as RequestInit);
    log.push({ url, method: options.method, headers, body, status: res.status, responseHeaders: res.headers });
    return res;
  };
  return { log, fetch: fetchImpl };
}

const srv = await startServer(t, { ADMIN_TOKEN });
const issuer = srv.issuer;
const issuerUrl = new URL(issuer);

// Authorization server metadata through oauth4webapi's own discovery (RFC 8414).
const as = await oauth.processDiscoveryResponse(issuerUrl, await oauth.discoveryRequest(issuerUrl, { algorithm: 'oauth2', [oauth.allowInsecureRequests]: true }));
const remoteJwks = createRemoteJWKSet(new URL(as.jwks_uri!));

/** A grant without parameters (every registered scope), introspected as active, revoked, then inactive. */
async function fullScopeGrantRevoked(t: Test, config: client.Configuration, id: string): Promise<void> {
  const r2 = await client.clientCredentialsGrant(config);
  t.equal(r2.scope, 'api:read api:write');
  await validate(t, r2.access_token, API, { clientId: id, scope: 'api:read api:write' });
  const intro = await client.tokenIntrospection(config, r2.access_token);
  t.equal(intro.active, true);
  t.equal(intro.client_id, id);
  await client.tokenRevocation(config, r2.access_token);
  t.same({ ...(await client.tokenIntrospection(config, r2.access_token)) }, { active: false });
}

/**
 * Validates an access token as a resource server would: oauth4webapi's RFC 9068 validator and
 * jose's jwtVerify against the remote JWKS, and checks both agree on the claims.
 */
async function validate(t: Test, token: string, audience: string, expected: { clientId: string; scope: string }): Promise<JWTPayload> {
  const request = new Request(`${API}/resource`, { headers: { authorization: `Bearer ${token}` } });
  const claims = await oauth.validateJwtAccessToken(as, request, audience, { [oauth.allowInsecureRequests]: true });
  const { payload, protectedHeader } = await jwtVerify(token, remoteJwks, {
    issuer,
    audience,
    typ: 'at+jwt',
    algorithms: ['ES256', 'RS256', 'PS256', 'EdDSA'],
    requiredClaims: ['iss', 'sub', 'client_id', 'aud', 'exp', 'iat', 'jti'],
  });
  t.equal(protectedHeader.typ, 'at+jwt', 'typ at+jwt');
  t.equal(protectedHeader.alg, 'ES256', 'default algorithm ES256');
  t.type(protectedHeader.kid, 'string', 'kid present');
  t.equal(payload.iss, issuer, 'iss is the issuer');
  t.equal(payload.sub, expected.clientId, 'sub is the client_id');
  t.equal(payload.client_id, expected.clientId, 'client_id claim');
  t.equal(payload.aud, audience, 'aud is the single requested audience');
  t.equal(payload.scope, expected.scope, 'scope claim');
  t.equal(payload.exp! - payload.iat!, 3600, 'default lifetime 3600 s');
  t.ok(Math.abs(payload.iat! - Date.now() / 1000) < 60, 'iat is now');
  t.match(payload.jti, /^[A-Za-z0-9_-]{16,}$/, 'jti');
  t.same(claims, payload, 'oauth4webapi and jose see the same claims');
  // The validator must be able to say no: the same token for another audience is refused by both.
  await t.rejects(oauth.validateJwtAccessToken(as, request, 'https://elsewhere.example.com', { [oauth.allowInsecureRequests]: true }), 'oauth4webapi refuses a foreign audience');
  await t.rejects(jwtVerify(token, remoteJwks, { issuer, audience: 'https://elsewhere.example.com', typ: 'at+jwt' }), 'jose refuses a foreign audience');
  return payload;
}

t.test('authorization server metadata as discovered by oauth4webapi', async (t) => {
  t.equal(as.issuer, issuer);
  t.equal(as.token_endpoint, `${issuer}/oauth2/token`);
  t.equal(as.introspection_endpoint, `${issuer}/oauth2/introspect`);
  t.equal(as.revocation_endpoint, `${issuer}/oauth2/revoke`);
  t.equal(as.registration_endpoint, `${issuer}/oauth2/register`);
  t.equal(as.jwks_uri, `${issuer}/.well-known/jwks.json`);
  t.same(as.grant_types_supported, ['client_credentials']);
  t.same([...(as.token_endpoint_auth_methods_supported ?? [])].sort(), ['client_secret_basic', 'client_secret_post', 'private_key_jwt']);
  t.notOk(
    (as.token_endpoint_auth_signing_alg_values_supported ?? []).some((a) => a.toLowerCase() === 'none' || a.startsWith('HS')),
    'no none/HS* for assertions',
  );
  const oidc = await fetchJson(`${issuer}/.well-known/openid-configuration`);
  t.equal(oidc.status, 200);
  t.equal(oidc.body.issuer, issuer, 'openid-configuration alias carries the same issuer');
});

t.test('client_secret_basic with openid-client (RFC 6749 §2.3.1 encoded credentials)', async (t) => {
  const reg = await registerClient(srv.url, ADMIN_TOKEN, { client_name: 'e2e basic', token_endpoint_auth_method: 'client_secret_basic', scope: 'api:read api:write', audience: [API, REPORTS] });
  t.match(reg.client_id, /^tmc_[0-9A-Za-z]+$/);
  t.match(reg.client_secret, SECRET_SHAPE, 'generated secret is tmsec_ + base62');
  t.equal(reg.token_endpoint_auth_method, 'client_secret_basic');
  t.equal(reg.client_secret_expires_at, 0);
  const id: string = reg.client_id;
  const secret: string = reg.client_secret;

  const rec = recorder();
  const config = await client.discovery(issuerUrl, id, {}, client.ClientSecretBasic(secret), { execute: [client.allowInsecureRequests], [client.customFetch]: rec.fetch });
  t.equal(config.serverMetadata().issuer, issuer);

  // With scope and resource.
  const r1 = await client.clientCredentialsGrant(config, { scope: 'api:read', resource: API });
  t.equal(r1.token_type, 'bearer', 'token_type Bearer (normalised by openid-client)');
  t.equal(r1.expires_in, 3600);
  t.equal(r1.scope, 'api:read');
  t.equal(r1.refresh_token, undefined, 'no refresh token (RFC 6749 §4.4.3)');
  await validate(t, r1.access_token, API, { clientId: id, scope: 'api:read' });

  // The credentials went out form-urlencoded: `_` became %5F, which the server must decode.
  const tokenCall = rec.log.find((c) => c.url === `${issuer}/oauth2/token`);
  t.ok(tokenCall, 'token request recorded');
  const auth = tokenCall!.headers.get('authorization') ?? '';
  t.match(auth, /^Basic [A-Za-z0-9+/]+=*$/);
  const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
  t.equal(decoded, `${formUrlEncode(id)}:${formUrlEncode(secret)}`, 'openid-client sent form-urlencoded halves');
  t.not(decoded, `${id}:${secret}`, 'the encoded form differs from the raw credentials');
  t.match(decoded, /%5F/, 'the underscore was percent-encoded');
  t.notOk(new URLSearchParams(tokenCall!.body).has('client_secret'), 'no secret in the body');
  t.equal(tokenCall!.responseHeaders.get('cache-control'), 'no-store');
  t.equal(tokenCall!.responseHeaders.get('pragma'), 'no-cache');

  // Without parameters: every registered scope, the default (first) audience.
  const r2 = await client.clientCredentialsGrant(config);
  t.equal(r2.scope, 'api:read api:write');
  await validate(t, r2.access_token, API, { clientId: id, scope: 'api:read api:write' });

  // Another registered audience.
  const r3 = await client.clientCredentialsGrant(config, { resource: REPORTS });
  await validate(t, r3.access_token, REPORTS, { clientId: id, scope: 'api:read api:write' });

  // A scope not allowed: openid-client surfaces the RFC 6749 §5.2 error.
  const scopeErr = await client.clientCredentialsGrant(config, { scope: 'admin' }).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(scopeErr instanceof client.ResponseBodyError, 'ResponseBodyError');
  t.equal((scopeErr as client.ResponseBodyError).status, 400);
  t.equal((scopeErr as client.ResponseBodyError).error, 'invalid_scope');
  const targetErr = await client.clientCredentialsGrant(config, { resource: 'https://not-registered.example.com' }).then(
    () => null,
    (e: unknown) => e,
  );
  t.equal((targetErr as client.ResponseBodyError).status, 400);
  t.equal((targetErr as client.ResponseBodyError).error, 'invalid_target');

  // Introspection (RFC 7662) with the same client authentication.
  const intro = await client.tokenIntrospection(config, r1.access_token);
  t.equal(intro.active, true);
  t.equal(intro.client_id, id);
  t.equal(intro.sub, id);
  t.equal(intro.scope, 'api:read');
  t.equal(intro.iss, issuer);
  t.equal(intro.aud, API);
  t.equal(intro.token_type, 'Bearer');
  const claims = decodeJwt(r1.access_token);
  t.equal(intro.jti, claims.jti);
  t.equal(intro.exp, claims.exp);
  t.equal(intro.iat, claims.iat);
  const introCall = rec.log.findLast((c) => c.url === `${issuer}/oauth2/introspect`);
  t.equal(introCall?.status, 200);
  t.equal(introCall?.responseHeaders.get('cache-control'), 'no-store');
  t.equal(introCall?.responseHeaders.get('pragma'), 'no-cache');
  t.match(introCall?.headers.get('authorization') ?? '', /^Basic /, 'introspection authenticated with Basic');

  // Revocation (RFC 7009), then the token is inactive; the others stay active.
  await client.tokenRevocation(config, r1.access_token);
  const revokeCall = rec.log.findLast((c) => c.url === `${issuer}/oauth2/revoke`);
  t.equal(revokeCall?.status, 200);
  t.equal(revokeCall?.responseHeaders.get('cache-control'), 'no-store');
  const after = await client.tokenIntrospection(config, r1.access_token);
  t.same({ ...after }, { active: false }, 'revoked: {"active":false} and nothing else');
  t.equal((await client.tokenIntrospection(config, r2.access_token)).active, true, 'another token of the client is still active');
  // Revoking again, or revoking garbage, is still 200 (RFC 7009 §2.2).
  await client.tokenRevocation(config, r1.access_token);
  await client.tokenRevocation(config, 'not-a-token');
  t.same({ ...(await client.tokenIntrospection(config, 'not-a-token')) }, { active: false });

  // Raw Basic headers: unencoded (the halves decode to themselves) and fully percent-encoded both work.
  const raw = (authorization: string) =>
    fetchJson(`${issuer}/oauth2/token`, { method: 'POST', headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });
  const plain = await raw('Basic ' + Buffer.from(`${id}:${secret}`).toString('base64'));
  t.equal(plain.status, 200, 'unencoded Basic credentials');
  const pct = (s: string) => [...Buffer.from(s)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  const over = await raw('Basic ' + Buffer.from(`${pct(id)}:${pct(secret)}`).toString('base64'));
  t.equal(over.status, 200, 'every character percent-encoded');
  // A `+` is a space after form decoding, so a secret with `+` instead of `_` must fail …
  const plus = await raw('Basic ' + Buffer.from(`${id}:${secret.replace('_', '+')}`).toString('base64'));
  t.equal(plus.status, 401);
  t.same(plus.body, { error: 'invalid_client', error_description: 'client authentication failed' });
  t.equal(plus.headers.get('www-authenticate'), `Basic realm="${issuer}"`);
  // … and an undecodable escape is a syntax fault (REQ-B1).
  const bad = await raw('Basic ' + Buffer.from(`${id}:${secret}%zz`).toString('base64'));
  t.equal(bad.status, 400);
  t.equal(bad.body?.error, 'invalid_request');
  // Helper-built header (the same encoding) for completeness.
  t.equal((await raw(basicAuth(id, secret))).status, 200);
});

t.test('client_secret_post with openid-client', async (t) => {
  const reg = await registerClient(srv.url, ADMIN_TOKEN, { client_name: 'e2e post', token_endpoint_auth_method: 'client_secret_post', scope: 'api:read api:write', audience: [API] });
  t.match(reg.client_secret, SECRET_SHAPE);
  t.equal(reg.token_endpoint_auth_method, 'client_secret_post');
  const id: string = reg.client_id;
  const secret: string = reg.client_secret;

  const rec = recorder();
  const config = await client.discovery(issuerUrl, id, {}, client.ClientSecretPost(secret), { execute: [client.allowInsecureRequests], [client.customFetch]: rec.fetch });
  const r1 = await client.clientCredentialsGrant(config, { scope: 'api:read', resource: API });
  t.equal(r1.scope, 'api:read');
  await validate(t, r1.access_token, API, { clientId: id, scope: 'api:read' });
  const call = rec.log.find((c) => c.url === `${issuer}/oauth2/token`)!;
  const body = new URLSearchParams(call.body);
  t.equal(body.get('client_id'), id);
  t.equal(body.get('client_secret'), secret);
  t.equal(call.headers.get('authorization'), null, 'no Authorization header');

  await fullScopeGrantRevoked(t, config, id);

  // REQ-A2: the registered method is enforced; the same secret over Basic is invalid_client (401).
  const basicConfig = await client.discovery(issuerUrl, id, {}, client.ClientSecretBasic(secret), { execute: [client.allowInsecureRequests] });
  const err = await client.clientCredentialsGrant(basicConfig).then(
    () => null,
    (e: unknown) => e,
  );
  // A 401 with a challenge surfaces in openid-client as a WWWAuthenticateChallengeError.
  t.ok(err instanceof client.WWWAuthenticateChallengeError, 'refused with a WWW-Authenticate challenge');
  const challengeErr = err as client.WWWAuthenticateChallengeError;
  t.equal(challengeErr.status, 401);
  t.same(challengeErr.cause, [{ scheme: 'basic', parameters: { realm: issuer } }], 'Basic realm="<issuer>"');
  t.same(await challengeErr.response.json(), { error: 'invalid_client', error_description: 'client authentication failed' });
});

t.test('openid-client: a wrong secret with client_secret_post is an OAuth invalid_client error, not a challenge error', async (t) => {
  const reg = await registerClient(srv.url, ADMIN_TOKEN, { client_name: 'e2e post wrong', token_endpoint_auth_method: 'client_secret_post', scope: 'api:read', audience: [API] });
  const id: string = reg.client_id;
  const rec = recorder();
  const wrong = await client.discovery(issuerUrl, id, {}, client.ClientSecretPost(`${reg.client_secret as string}x`), { execute: [client.allowInsecureRequests], [client.customFetch]: rec.fetch });
  for (const [what, call] of [
    ['token', () => client.clientCredentialsGrant(wrong, { scope: 'api:read' })],
    ['introspection', () => client.tokenIntrospection(wrong, 'not-a-token')],
    ['revocation', () => client.tokenRevocation(wrong, 'not-a-token')],
  ] as const) {
    const err: unknown = await (call as () => Promise<unknown>)().then(
      () => null,
      (e: unknown) => e,
    );
    t.notOk(err instanceof client.WWWAuthenticateChallengeError, `${what}: not a WWWAuthenticateChallengeError`);
    t.ok(err instanceof client.ResponseBodyError, `${what}: a ResponseBodyError (${(err as Error | null)?.constructor.name})`);
    const bodyErr = err as client.ResponseBodyError;
    t.equal(bodyErr.status, 401, `${what}: 401`);
    t.equal(bodyErr.error, 'invalid_client', `${what}: error invalid_client`);
    t.equal(bodyErr.error_description, 'client authentication failed', `${what}: error_description`);
    const call_ = rec.log[rec.log.length - 1]!;
    t.equal(call_.headers.get('authorization'), null, `${what}: the credentials went in the body`);
    t.equal(call_.responseHeaders.get('www-authenticate'), null, `${what}: no WWW-Authenticate`);
  }
});

t.test('private_key_jwt (ES256) with openid-client', async (t) => {
  const kid = `e2e-${randomBytes(4).toString('hex')}`;
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const reg = await registerClient(srv.url, ADMIN_TOKEN, {
    client_name: 'e2e pkjwt',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [jwk] },
    scope: 'api:read api:write',
    audience: [API],
  });
  t.equal(reg.token_endpoint_auth_method, 'private_key_jwt');
  t.equal(reg.client_secret, undefined, 'no secret for private_key_jwt');
  t.equal(reg.client_secret_expires_at, undefined);
  t.same(reg.jwks, { keys: [jwk] }, 'the public key as stored');
  const id: string = reg.client_id;

  const rec = recorder();
  const config = await client.discovery(issuerUrl, id, {}, client.PrivateKeyJwt({ key: privateKey, kid }), { execute: [client.allowInsecureRequests], [client.customFetch]: rec.fetch });
  const r1 = await client.clientCredentialsGrant(config, { scope: 'api:read', resource: API });
  t.equal(r1.scope, 'api:read');
  await validate(t, r1.access_token, API, { clientId: id, scope: 'api:read' });

  const call = rec.log.find((c) => c.url === `${issuer}/oauth2/token`)!;
  const body = new URLSearchParams(call.body);
  t.equal(body.get('client_assertion_type'), 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
  const assertion = body.get('client_assertion')!;
  const aClaims = decodeJwt(assertion);
  t.equal(aClaims.aud, issuer, 'openid-client signs aud = issuer identifier (rfc7523bis)');
  t.equal(aClaims.iss, id);
  t.equal(decodeProtectedHeader(assertion).kid, kid);

  // The same assertion again is a replay: 401 invalid_client (REQ-J7).
  const replay = await fetchJson(`${issuer}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: call.body });
  t.equal(replay.status, 401, 'replayed assertion refused');
  t.same(replay.body, { error: 'invalid_client', error_description: 'client authentication failed' });
  t.equal(replay.headers.get('www-authenticate'), null, 'no challenge: the assertion was in the body (C3)');

  // Introspection and revocation with assertions too (aud is still the issuer: REQ-J14).
  await fullScopeGrantRevoked(t, config, id);
  t.equal((await client.tokenIntrospection(config, r1.access_token)).active, true);
});

t.test('tokens of one client are not introspectable or revocable by another', async (t) => {
  const a = await registerClient(srv.url, ADMIN_TOKEN, { client_name: 'a', scope: 'api:read', audience: ['https://a.example.com'] });
  const b = await registerClient(srv.url, ADMIN_TOKEN, { client_name: 'b', scope: 'api:read', audience: ['https://b.example.com'] });
  const ca = await client.discovery(issuerUrl, a.client_id, {}, client.ClientSecretBasic(a.client_secret), { execute: [client.allowInsecureRequests] });
  const cb = await client.discovery(issuerUrl, b.client_id, {}, client.ClientSecretBasic(b.client_secret), { execute: [client.allowInsecureRequests] });
  const tokenA = (await client.clientCredentialsGrant(ca)).access_token;
  await validate(t, tokenA, 'https://a.example.com', { clientId: a.client_id, scope: 'api:read' });
  t.same({ ...(await client.tokenIntrospection(cb, tokenA)) }, { active: false }, 'REQ-I5: a foreign token is inactive for b');
  const err = await client.tokenRevocation(cb, tokenA).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(err instanceof client.ResponseBodyError, 'REQ-R4: refused');
  t.equal((err as client.ResponseBodyError).status, 400);
  t.equal((err as client.ResponseBodyError).error, 'invalid_request');
  t.equal((await client.tokenIntrospection(ca, tokenA)).active, true, 'still active for its owner');
});
