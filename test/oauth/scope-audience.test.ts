import t from 'tap';
import type { Test } from 'tap';
import { resolveScopes } from '../../src/oauth/scope.js';
import { isScopeToken, parseScope } from '../../src/protocol/index.js';
import { isResourceIndicator, resolveAudience } from '../../src/oauth/audience.js';
import { OAuthError } from '../../src/errors/oauth-error.js';
import { InvalidRequest, InvalidScope, InvalidTarget } from '../../src/errors/oauth-errors.js';

const ISSUER = 'http://tokenmill.test';
const API = 'https://api.example.com';
const BILLING = 'https://billing.example.com/v1';

function throwsOAuth(t: Test, fn: () => unknown, cls: new (...args: never[]) => OAuthError, body: { error: string; error_description: string }): void {
  let thrown: unknown = null;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  t.ok(thrown instanceof cls, `throws ${cls.name}`);
  if (thrown instanceof OAuthError) {
    t.equal(thrown.status, 400);
    t.same(thrown.toJSON(), body);
  }
}

const scopeMalformed = { error: 'invalid_scope', error_description: 'the scope parameter is malformed' };
const scopeNotAllowed = { error: 'invalid_scope', error_description: 'the requested scope is not allowed for this client' };

t.test('REQ-G4 / contract: no scope means the client’s registered (default) scopes', async (t) => {
  t.same(resolveScopes(undefined, ['api:read', 'api:write']), ['api:read', 'api:write']);
  t.same(resolveScopes(undefined, []), []);
  // a copy: callers cannot mutate the client's list through the result
  const allowed = ['a'];
  const got = resolveScopes(undefined, allowed);
  got.push('b');
  t.same(allowed, ['a']);
});

t.test('REQ-G4: a subset of the allowed scopes is granted as requested', async (t) => {
  t.same(resolveScopes('api:read', ['api:read', 'api:write']), ['api:read']);
  t.same(resolveScopes('api:write api:read', ['api:read', 'api:write']), ['api:write', 'api:read']);
  t.same(resolveScopes('api:read api:read', ['api:read']), ['api:read'], 'duplicates collapse');
});

t.test('REQ-G4: a scope outside the allowed set is invalid_scope (rejected, never narrowed)', async (t) => {
  throwsOAuth(t, () => resolveScopes('api:admin', ['api:read']), InvalidScope, scopeNotAllowed);
  throwsOAuth(t, () => resolveScopes('api:read api:admin', ['api:read']), InvalidScope, scopeNotAllowed);
  throwsOAuth(t, () => resolveScopes('API:READ', ['api:read']), InvalidScope, scopeNotAllowed);
  throwsOAuth(t, () => resolveScopes('api:read', []), InvalidScope, scopeNotAllowed);
  // prototype names are not "allowed" just because every object has them
  throwsOAuth(t, () => resolveScopes('constructor', []), InvalidScope, scopeNotAllowed);
  throwsOAuth(t, () => resolveScopes('__proto__', []), InvalidScope, scopeNotAllowed);
});

t.test('REQ-G4: RFC 6749 §3.3 grammar violations are invalid_scope', async (t) => {
  for (const bad of ['a  b', 'a"b', 'a\\b', 'a ', ' a', 'a\tb', 'a\nb', 'é', 'a\u0000', ' ', '']) {
    t.equal(parseScope(bad), null, `parseScope(${JSON.stringify(bad)}) is null`);
    throwsOAuth(t, () => resolveScopes(bad, ['a', 'b', 'a"b', 'a\\b', 'é']), InvalidScope, scopeMalformed);
  }
});

t.test('REQ-G4: every %x21 / %x23-5B / %x5D-7E character is a scope-token character', async (t) => {
  let all = '';
  for (let c = 0x21; c <= 0x7e; c++) if (c !== 0x22 && c !== 0x5c) all += String.fromCharCode(c);
  t.ok(isScopeToken(all));
  t.same(parseScope(`${all} x`), [all, 'x']);
  t.notOk(isScopeToken('"'));
  t.notOk(isScopeToken('\\'));
  t.notOk(isScopeToken(' '));
  t.notOk(isScopeToken('\u007f'));
});

t.test('contract: no resource/audience means the client’s first audience', async (t) => {
  t.equal(resolveAudience(undefined, undefined, [API, BILLING], ISSUER), API);
});

t.test('contract: no audience registered falls back to the issuer', async (t) => {
  t.equal(resolveAudience(undefined, undefined, [], ISSUER), ISSUER);
});

t.test('REQ-G6: an allowed resource or audience is used as requested', async (t) => {
  t.equal(resolveAudience([BILLING], undefined, [API, BILLING], ISSUER), BILLING);
  t.equal(resolveAudience(undefined, BILLING, [API, BILLING], ISSUER), BILLING);
  // audience values need not be URIs (only resource indicators must)
  t.equal(resolveAudience(undefined, 'billing', ['billing'], ISSUER), 'billing');
});

t.test('REQ-G6: a resource that is not absolute, or has a fragment, is invalid_target', async (t) => {
  const body = { error: 'invalid_target', error_description: 'resource must be an absolute URI without a fragment' };
  for (const bad of ['api.example.com', '/v1/things', '//api.example.com', 'https://api.example.com#x', 'https://api.example.com/#', '']) {
    throwsOAuth(t, () => resolveAudience([bad], undefined, [bad, API], ISSUER), InvalidTarget, body);
  }
});

t.test('REQ-G6: two resources are invalid_target, even when both are allowed', async (t) => {
  throwsOAuth(t, () => resolveAudience([API, BILLING], undefined, [API, BILLING], ISSUER), InvalidTarget, {
    error: 'invalid_target',
    error_description: 'only one resource may be requested for this grant',
  });
  throwsOAuth(t, () => resolveAudience([API, API], undefined, [API], ISSUER), InvalidTarget, { error: 'invalid_target', error_description: 'only one resource may be requested for this grant' });
});

t.test('REQ-G6: a resource or audience not allowed for the client is invalid_target', async (t) => {
  const body = { error: 'invalid_target', error_description: 'the requested resource is not allowed for this client' };
  throwsOAuth(t, () => resolveAudience(['https://evil.example'], undefined, [API], ISSUER), InvalidTarget, body);
  throwsOAuth(t, () => resolveAudience(undefined, 'https://evil.example', [API], ISSUER), InvalidTarget, body);
  // the issuer fallback is a default, not a permission
  throwsOAuth(t, () => resolveAudience([ISSUER], undefined, [], ISSUER), InvalidTarget, body);
  throwsOAuth(t, () => resolveAudience(undefined, ISSUER, [], ISSUER), InvalidTarget, body);
  // simple string comparison: no normalisation of case or trailing slash
  throwsOAuth(t, () => resolveAudience(['https://API.example.com'], undefined, [API], ISSUER), InvalidTarget, body);
  throwsOAuth(t, () => resolveAudience([`${API}/`], undefined, [API], ISSUER), InvalidTarget, body);
});

t.test('REQ-G6: resource and audience together are invalid_request', async (t) => {
  throwsOAuth(t, () => resolveAudience([API], API, [API], ISSUER), InvalidRequest, { error: 'invalid_request', error_description: 'use either resource or audience, not both' });
});

t.test('RFC 8707 §2: isResourceIndicator', async (t) => {
  for (const ok of ['https://api.example.com', 'https://api.example.com/v1?x=1', 'urn:example:resource', 'http://localhost:8080/']) t.ok(isResourceIndicator(ok), ok);
  for (const bad of ['', 'api', '/relative', '//host/path', 'https://api.example.com#', 'https://a.example/#frag', 'not a uri']) t.notOk(isResourceIndicator(bad), JSON.stringify(bad));
});
