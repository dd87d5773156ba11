// The largest token a client can be issued — every scope and the longest audience its metadata
// allows — verifies with tokenmill/verify and stays well under the verifier's 8 KiB cap
// (threat model REQ-JWT7), with room left for longer issuers, future claims and larger RSA signatures.
import t from 'tap';
import { createVerifier } from '@tokenmill/verify';
import { MAX_TOKEN_LENGTH } from '@tokenmill/verify';
import { MAX_AUDIENCES, MAX_AUDIENCE_LENGTH, MAX_SCOPE_LENGTH, MAX_SCOPE_TOKEN_LENGTH } from '../../src/clients/metadata-bounds.js';
import { ISSUER, basic, build, form, register } from '../helper.js';

const wallClock = { now: () => Date.now() };
/** Headroom kept under the cap for what the bounds do not cover (issuer length, org_id, RSA-4096 signatures). */
const HEADROOM = 2048;

/** Scope tokens of the maximal length, as many as fit in the maximal scope string. */
function maximalScope(): string {
  const tokens: string[] = [];
  while ((tokens.length + 1) * (MAX_SCOPE_TOKEN_LENGTH + 1) - 1 <= MAX_SCOPE_LENGTH) tokens.push(`s${tokens.length}:`.padEnd(MAX_SCOPE_TOKEN_LENGTH, 'x'));
  const scope = tokens.join(' ');
  // fill the rest of the budget with one shorter token
  const rest = MAX_SCOPE_LENGTH - scope.length - 1;
  return rest > 0 ? `${scope} ${'z'.repeat(rest)}` : scope;
}

// ES256 (the default) and PS256 (the largest signature of the algorithms a generated key can have)
for (const alg of ['ES256', 'PS256'] as const) {
  t.test(`${alg}: a token for a client with maximal metadata verifies and is under the cap`, async (t) => {
    const b = await build(t, { SIGNING_ALG: alg }, { clock: wallClock as never });
    const scope = maximalScope();
    t.equal(scope.length, MAX_SCOPE_LENGTH);
    const audiences = Array.from({ length: MAX_AUDIENCES }, (_, i) => `https://api${i}.example.com/`.padEnd(MAX_AUDIENCE_LENGTH, 'p'));
    const reg = await register(b.app, { client_name: 'n'.repeat(200), scope, audience: audiences, access_token_ttl: 86400 });
    const res = await b.app.inject({
      method: 'POST',
      url: '/oauth2/token',
      headers: { authorization: basic(reg.client_id, reg.client_secret!), 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ grant_type: 'client_credentials', resource: audiences[MAX_AUDIENCES - 1]! }),
    });
    t.equal(res.statusCode, 200, res.statusCode === 200 ? 'token issued' : res.body);
    const token = res.json().access_token as string;
    t.equal(res.json().scope, scope, 'every scope granted');
    t.ok(token.length <= MAX_TOKEN_LENGTH - HEADROOM, `${token.length} characters ≤ ${MAX_TOKEN_LENGTH} - ${HEADROOM}`);

    const inject: typeof fetch = async (input) => {
      const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
      if (url.origin !== ISSUER) throw new Error(`unexpected fetch ${url.href}`);
      const r = await b.app.inject({ method: 'GET', url: url.pathname + url.search });
      return new Response(r.body, { status: r.statusCode, headers: { 'content-type': String(r.headers['content-type'] ?? 'application/json') } });
    };
    const verifier = createVerifier({ issuer: ISSUER, audience: audiences[MAX_AUDIENCES - 1]!, fetch: inject, algorithms: [alg] });
    t.teardown(() => verifier.close());
    const claims = await verifier.verify(token, { scope: scope.split(' ') });
    t.equal(claims.client_id, reg.client_id);
    t.equal(claims.scope, scope);
    t.equal(claims.aud, audiences[MAX_AUDIENCES - 1]);
  });
}
