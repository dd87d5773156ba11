// tokenmill/verify: token validation against a stand-in authorization server over real HTTP
// (REQ-AT5, REQ-JWT1..7, RFC 6750 §3 challenges).
import t from 'tap';
import { SignJWT, generateSecret } from 'jose';
import { createVerifier, VerifyError, VerifierConfigError, MAX_TOKEN_LENGTH } from '@tokenmill/verify';
import { StandInAS } from './fixtures/stand-in-as.js';
import { pollUntil } from '../helpers/time.js';
import { AUD, nowSec, verifyError } from './fixtures/util.js';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

t.test('token validation', async (t) => {
  const as = await new StandInAS().start();
  t.teardown(() => as.close());
  const v = createVerifier({ issuer: as.issuer, audience: AUD, cooldownDuration: 1000 });
  t.teardown(() => v.close());
  await v.ready();
  const realm = as.issuer;

  t.test('valid token returns its claims', async (t) => {
    const token = await as.mint({ claims: { sub: 'client-a', client_id: 'client-a' } });
    const claims = await v.verify(token);
    t.equal(claims.client_id, 'client-a');
    t.equal(claims.iss, as.issuer);
    t.equal(claims.scope, 'orders:read orders:write');
    t.same(await v.verify(token, { scope: 'orders:read' }), claims);
    t.same(await v.verify(token, { scope: ['orders:read', 'orders:write'] }), claims);
  });

  t.test('typ: at+jwt and application/at+jwt, case-insensitively', async (t) => {
    for (const typ of ['at+jwt', 'application/at+jwt', 'AT+JWT', 'Application/AT+JWT']) {
      t.equal(await verifyError(v, await as.mint({ typ })), null, `typ ${typ} accepted`);
    }
  });

  t.test('wrong or missing typ is refused', async (t) => {
    for (const typ of ['JWT', 'jwt', 'application/jwt', 'at+jwt2', 'application/at+jwt; x', null]) {
      const err = await verifyError(v, await as.mint({ typ }));
      t.equal(err?.status, 401, `typ ${String(typ)} refused`);
      t.equal(err?.code, 'invalid_token');
      t.match(err?.description, /typ must be at\+jwt/);
    }
  });

  t.test('alg outside the allow-list: RS384 key published in the JWKS', async (t) => {
    const k = await as.addKey('RS384');
    const err = await verifyError(v, await as.mint({}, k));
    t.equal(err?.status, 401);
    t.equal(err?.description, 'the access token signing algorithm is not allowed');
    // The same token passes a verifier whose allow-list includes RS384: the refusal is the allow-list.
    const v2 = createVerifier({ issuer: as.issuer, audience: AUD, algorithms: ['RS384'] });
    t.teardown(() => v2.close());
    t.equal(await verifyError(v2, await as.mint({}, k)), null);
  });

  t.test('none tokens are refused in any letter case', async (t) => {
    const payload = b64(as.claims());
    for (const alg of ['none', 'None', 'NONE', 'noNE']) {
      const header = b64({ alg, typ: 'at+jwt', kid: as.keys[0]?.kid });
      for (const token of [`${header}.${payload}.`, `${header}.${payload}.c2ln`]) {
        const err = await verifyError(v, token);
        t.equal(err?.status, 401, `${alg} ${token.endsWith('.') ? 'unsigned' : 'with junk signature'} refused`);
        t.equal(err?.code, 'invalid_token');
      }
    }
  });

  t.test('HS256 signed with a secret under a published kid is refused', async (t) => {
    const secret = await generateSecret('HS256');
    const token = await new SignJWT(as.claims()).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: as.keys[0]?.kid ?? '' }).sign(secret);
    const err = await verifyError(v, token);
    t.equal(err?.status, 401);
    t.equal(err?.description, 'the access token signing algorithm is not allowed');
    t.throws(() => createVerifier({ issuer: as.issuer, audience: AUD, algorithms: ['HS256' as never] }), TypeError);
    t.throws(() => createVerifier({ issuer: as.issuer, audience: AUD, algorithms: ['none' as never] }), TypeError);
  });

  t.test('signature by an unpublished key under a published kid is refused', async (t) => {
    const rogue = await as.addKey('ES256', as.keys[0]?.kid, false);
    const err = await verifyError(v, await as.mint({}, rogue));
    t.equal(err?.status, 401);
    t.equal(err?.description, 'the access token signature is invalid');
  });

  t.test('wrong iss is refused, also inside an array', async (t) => {
    for (const iss of ['https://evil.example', `${as.issuer}/`, [as.issuer], undefined]) {
      const err = await verifyError(v, await as.mint({ claims: { iss } }));
      t.equal(err?.status, 401, `iss ${JSON.stringify(iss)} refused`);
    }
  });

  t.test('aud must contain this resource server', async (t) => {
    t.equal((await verifyError(v, await as.mint({ claims: { aud: 'https://other.example.com' } })))?.description, 'the access token is not intended for this resource server');
    t.equal((await verifyError(v, await as.mint({ claims: { aud: ['https://other.example.com', 'x'] } })))?.status, 401);
    t.equal(await verifyError(v, await as.mint({ claims: { aud: ['https://other.example.com', AUD] } })), null);
    const v2 = createVerifier({ issuer: as.issuer, audience: ['urn:a', AUD] });
    t.teardown(() => v2.close());
    t.equal(await verifyError(v2, await as.mint()), null);
  });

  t.test('exp / nbf / iat with 30 s leeway', async (t) => {
    const now = nowSec();
    t.equal((await verifyError(v, await as.mint({ claims: { exp: now - 31, iat: now - 400 } })))?.description, 'the access token expired');
    t.equal(await verifyError(v, await as.mint({ claims: { exp: now - 10, iat: now - 400 } })), null, 'within leeway');
    t.equal((await verifyError(v, await as.mint({ claims: { nbf: now + 60 } })))?.description, 'the access token is not yet valid');
    t.equal(await verifyError(v, await as.mint({ claims: { nbf: now + 10 } })), null);
    t.equal((await verifyError(v, await as.mint({ claims: { iat: now + 120 } })))?.description, 'the access token has an invalid iat claim');
    t.equal((await verifyError(v, await as.mint({ claims: { exp: String(now + 60) } })))?.status, 401, 'string exp');
  });

  t.test('required claims', async (t) => {
    for (const claim of ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id']) {
      const err = await verifyError(v, await as.mint({ claims: { [claim]: undefined } }));
      t.equal(err?.status, 401, `missing ${claim}`);
    }
    t.equal((await verifyError(v, await as.mint({ claims: { client_id: 42 } })))?.status, 401, 'numeric client_id');
    t.equal((await verifyError(v, await as.mint({ claims: { scope: ['a'] } })))?.status, 401, 'array scope');
  });

  t.test('size and shape are checked before parsing', async (t) => {
    const jwksBefore = as.counts.jwks;
    const huge = `${'a'.repeat(MAX_TOKEN_LENGTH)}.b.c`;
    t.equal((await verifyError(v, huge))?.description, 'the access token is too large');
    t.equal((await verifyError(v, 'a.b.c.d.e'))?.description, 'malformed access token', 'JWE-shaped');
    t.equal((await verifyError(v, 'a.b'))?.status, 401);
    t.equal((await verifyError(v, 'a..c'))?.status, 401);
    t.equal((await verifyError(v, `${'.'.repeat(5000)}`))?.status, 401);
    t.equal((await verifyError(v, 'eyJ!.e30.c2ln'))?.status, 401);
    t.equal(as.counts.jwks, jwksBefore, 'no JWKS fetch for malformed tokens');
    const payload = b64(as.claims());
    const noKid = `${b64({ alg: 'ES256', typ: 'at+jwt' })}.${payload}.c2ln`;
    t.equal((await verifyError(v, noKid))?.description, 'the access token header lacks a valid kid');
    const crit = await new SignJWT(as.claims())
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: as.keys[0]?.kid ?? '', crit: ['x-ext'], 'x-ext': 1 })
      .sign(as.keys[0]!.privateKey, { crit: { 'x-ext': true } });
    t.equal((await verifyError(v, crit))?.status, 401, 'unknown crit refused');
  });

  t.test('unknown kid: one JWKS refetch, then success; a second miss within the cooldown does not refetch', async (t) => {
    // No sleeping past the cooldown: verify() is retried until the key is fetched, and the count of
    // JWKS requests says that the retries inside the cooldown (1 s for `v`) fetched nothing.
    const before = as.counts.jwks;
    const fresh = await as.addKey('ES256');
    const freshToken = await as.mint({}, fresh);
    t.ok((await pollUntil(async () => (await verifyError(v, freshToken)) === null, { timeoutMs: 30_000, intervalMs: 50 })).ok, 'token under the new kid accepted');
    t.equal(as.counts.jwks, before + 1, 'exactly one refetch');
    t.equal(await verifyError(v, await as.mint({}, fresh)), null, 'cached now');
    // Inside the cooldown: a verifier whose cooldown (60 s) no slow machine outlasts here.
    const strict = createVerifier({ issuer: as.issuer, audience: AUD, cooldownDuration: 60_000 });
    t.teardown(() => strict.close());
    await strict.ready();
    t.equal(await verifyError(strict, await as.mint({}, fresh)), null, 'the strict verifier has the JWKS');
    const fetched = as.counts.jwks;
    const other = await as.addKey('ES256');
    const err = await verifyError(strict, await as.mint({}, other));
    t.equal(err?.description, 'no signing key matches the access token', 'within the cooldown: refused');
    t.equal(as.counts.jwks, fetched, 'no refetch inside the cooldown (rate limit)');
    const otherToken = await as.mint({}, other);
    t.ok((await pollUntil(async () => (await verifyError(v, otherToken)) === null, { timeoutMs: 30_000, intervalMs: 50 })).ok, 'after the cooldown it is fetched');
    t.equal(as.counts.jwks, fetched + 1, 'once');
    const rogueKid = `${'x'.repeat(300)}`;
    t.equal((await verifyError(v, await as.mint({ kid: rogueKid }, other)))?.status, 401, 'over-long kid');
  });

  t.test('401 / 403 WWW-Authenticate values are exact', async (t) => {
    const missing = await verifyError(v, undefined);
    t.equal(missing?.status, 401);
    t.equal(missing?.wwwAuthenticate, `Bearer realm="${realm}"`);
    t.equal(missing?.code, 'invalid_request');
    t.equal((await verifyError(v, ''))?.wwwAuthenticate, `Bearer realm="${realm}"`);

    const expired = await verifyError(v, await as.mint({ claims: { exp: nowSec() - 100, iat: nowSec() - 400 } }));
    t.equal(expired?.status, 401);
    t.equal(expired?.wwwAuthenticate, `Bearer realm="${realm}", error="invalid_token", error_description="the access token expired"`);
    t.same(JSON.parse(JSON.stringify(expired)), { error: 'invalid_token', error_description: 'the access token expired' });

    const scope = await verifyError(v, await as.mint(), { scope: 'orders:read admin' });
    t.equal(scope?.status, 403);
    t.equal(scope?.code, 'insufficient_scope');
    t.equal(scope?.wwwAuthenticate, `Bearer realm="${realm}", error="insufficient_scope", error_description="the access token lacks a required scope", scope="orders:read admin"`);
    const noScope = await verifyError(v, await as.mint({ claims: { scope: undefined } }), { scope: ['orders:read'] });
    t.equal(noScope?.status, 403, 'token without scope claim');
    await t.rejects(v.verify(await as.mint(), { scope: 'bad"scope' }), TypeError, 'invalid required scope is a programming error');
  });

  t.test('descriptions never echo token content nor hold quote or backslash', async (t) => {
    const nasty = await as.mint({ claims: { iss: 'x"\\\r\n<script>', aud: 'y"\\' } });
    const err = await verifyError(v, nasty);
    t.ok(err);
    t.notMatch(err?.description ?? '', /["\\\r\n]|<script>/);
    t.notMatch(err?.wwwAuthenticate ?? '', /<script>|\\/);
  });
});

t.test('metadata issuer must equal the configured issuer', async (t) => {
  const as = await new StandInAS({ advertisedIssuer: 'https://someone-else.example' }).start();
  t.teardown(() => as.close());
  const v = createVerifier({ issuer: as.issuer, audience: AUD });
  t.teardown(() => v.close());
  await t.rejects(v.ready(), VerifierConfigError);
  await t.rejects(v.ready(), VerifierConfigError, 'stays refused');
  const err = await verifyError(v, await as.mint());
  t.equal(err?.status, 503);
  t.equal(err?.code, 'temporarily_unavailable');
  t.equal(err?.wwwAuthenticate, undefined);
  t.equal(as.counts.metadata, 1, 'no retry after a configuration error');
});

t.test('a missing revocation_feed_endpoint is a configuration error in polling mode', async (t) => {
  const as = await new StandInAS({ noFeedEndpoint: true }).start();
  t.teardown(() => as.close());
  const v = createVerifier({ issuer: as.issuer, audience: AUD, revocations: { clientId: 'a', clientSecret: 'b' } });
  t.teardown(() => v.close());
  await t.rejects(v.ready(), /revocation_feed_endpoint/);
});

t.test('JWKS unreachable: 503, not 401', async (t) => {
  const as = await new StandInAS().start();
  t.teardown(() => as.close());
  as.jwksDown = true;
  const v = createVerifier({ issuer: as.issuer, audience: AUD });
  t.teardown(() => v.close());
  await v.ready();
  const err = await verifyError(v, await as.mint());
  t.equal(err?.status, 503);
  t.equal(err?.code, 'temporarily_unavailable');
  t.equal(err?.retryAfter, 1);
  as.jwksDown = false;
  t.equal(await verifyError(v, await as.mint()), null, 'recovers');
});

t.test('authorization server unreachable at start: ready rejects, verify answers 503, recovers later', async (t) => {
  const as = new StandInAS();
  await as.start();
  const issuer = as.issuer;
  const token = await as.mint();
  await as.close();
  const v = createVerifier({ issuer, audience: AUD, timeoutDuration: 500 });
  t.teardown(() => v.close());
  await t.rejects(v.ready());
  const err = await verifyError(v, token);
  t.equal(err?.status, 503);
  t.ok(err instanceof VerifyError);
});

t.test('fetch injection is used for metadata, JWKS and the feed', async (t) => {
  const as = await new StandInAS().start();
  t.teardown(() => as.close());
  const seen = new Set<string>();
  const v = createVerifier({
    issuer: as.issuer,
    audience: AUD,
    revocations: { clientId: as.opts.feedClientId, clientSecret: as.opts.feedClientSecret },
    fetch: (input, init) => {
      seen.add(new URL(String(input instanceof Request ? input.url : input)).pathname);
      return fetch(input, init);
    },
  });
  t.teardown(() => v.close());
  await v.ready();
  t.equal(await verifyError(v, await as.mint()), null);
  t.same([...seen].sort(), ['/.well-known/jwks.json', '/.well-known/oauth-authorization-server', '/oauth2/revocations']);
});

t.test('close() during start-up returns promptly', async (t) => {
  const v = createVerifier({ issuer: 'http://10.255.255.1:9', audience: AUD, timeoutDuration: 30_000 });
  const t0 = performance.now();
  await v.close();
  t.ok(performance.now() - t0 < 1000, 'not held by the pending metadata request');
  await t.rejects(v.ready(), /closed/);
});

t.test('option validation', async (t) => {
  t.throws(() => createVerifier({ issuer: 'not a url', audience: AUD }), TypeError);
  t.throws(() => createVerifier({ issuer: 'https://a"b.example', audience: AUD }), TypeError);
  t.throws(() => createVerifier({ issuer: 'https://a.example', audience: [] }), TypeError);
  t.throws(() => createVerifier({ issuer: 'https://a.example', audience: AUD, clockTolerance: -1 }), TypeError);
  t.throws(() => createVerifier({ issuer: 'https://a.example', audience: AUD, revocations: { clientId: '', clientSecret: 'x' } }), TypeError);
  t.throws(() => createVerifier({ issuer: 'https://a.example', audience: AUD, revocations: { redisUrl: 'http://x' } }), TypeError);
});
