import t from 'tap';
import type { Test } from 'tap';
import { parseBasicCredentials, splitAuthorization } from '../../src/oauth/client-auth/client-secret-basic.js';
import { basicCredentials } from '../../src/protocol/index.js';
import { InvalidRequest } from '../../src/errors/oauth-errors.js';
import { OAuthError } from '../../src/errors/oauth-error.js';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** Asserts `fn` throws a 400 invalid_request (threat model C5) and returns its public description. */
function rejects(t: Test, fn: () => unknown, description = 'the Authorization header is malformed'): void {
  let thrown: unknown = null;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  t.ok(thrown instanceof InvalidRequest, 'throws InvalidRequest');
  if (thrown instanceof OAuthError) {
    t.equal(thrown.status, 400);
    t.same(thrown.toJSON(), { error: 'invalid_request', error_description: description });
  }
}

t.test('REQ-B1: percent-encoded ":" "%" "+" in the secret decode to themselves', async (t) => {
  // secret a:b%c+d, form-encoded as a%3Ab%25c%2Bd (RFC 6749 §2.3.1, App. B)
  t.same(parseBasicCredentials(b64('client-1:a%3Ab%25c%2Bd')), { clientId: 'client-1', clientSecret: 'a:b%c+d' });
});

t.test('REQ-B1: "+" decodes to a space in both halves', async (t) => {
  t.same(parseBasicCredentials(b64('my+client:s+e+c')), { clientId: 'my client', clientSecret: 's e c' });
  // %2B is a literal plus, + a space
  t.same(parseBasicCredentials(b64('c:%2B+%2B')), { clientId: 'c', clientSecret: '+ +' });
});

t.test('REQ-B1: RFC 6749 App. B vectors round-trip through form encoding', async (t) => {
  for (const [id, secret] of [
    [' %&+', 'an:identifier'],
    ['an:identifier', ' %&+'],
    ['x', '=?/#;@!*()\'"'],
  ] as const) {
    t.same(parseBasicCredentials(basicCredentials(id, secret).slice('Basic '.length)), { clientId: id, clientSecret: secret }, `${id} / ${secret}`);
  }
});

t.test('REQ-B1: split at the first ":" (an unencoded ":" stays in the secret)', async (t) => {
  t.same(parseBasicCredentials(b64('id:pa:ss')), { clientId: 'id', clientSecret: 'pa:ss' });
});

t.test('REQ-B1: a raw "%" or an undecodable escape is invalid_request', async (t) => {
  rejects(t, () => parseBasicCredentials(b64('id:%zz')));
  rejects(t, () => parseBasicCredentials(b64('id:100%')));
  rejects(t, () => parseBasicCredentials(b64('%zz:secret')));
  // percent-encoded invalid UTF-8 (a lone continuation byte)
  rejects(t, () => parseBasicCredentials(b64('id:%80')));
});

t.test('REQ-B3: missing password is invalid_request', async (t) => {
  rejects(t, () => parseBasicCredentials(b64('client-1:')), 'client_secret must be provided in the Authorization header');
});

t.test('REQ-B3: no colon is invalid_request', async (t) => {
  rejects(t, () => parseBasicCredentials(b64('client-1')));
  rejects(t, () => parseBasicCredentials(b64('client-1%3Asecret')));
});

t.test('REQ-T8: an empty client_id is invalid_request', async (t) => {
  rejects(t, () => parseBasicCredentials(b64(':secret')), 'the client_id is malformed');
});

t.test('REQ-B2: strict base64 — bad alphabet, bad padding, no padding, whitespace', async (t) => {
  const good = b64('id:secret'); // aWQ6c2VjcmV0
  t.same(parseBasicCredentials(good), { clientId: 'id', clientSecret: 'secret' });
  // base64url alphabet
  const withUrlAlphabet = Buffer.from('id:s?>~?', 'utf8').toString('base64url');
  t.match(withUrlAlphabet, /[-_]/, 'the fixture really contains a base64url character');
  rejects(t, () => parseBasicCredentials(withUrlAlphabet));
  rejects(t, () => parseBasicCredentials(good.slice(0, 4) + '*' + good.slice(5)));
  rejects(t, () => parseBasicCredentials(good + '!'));
  // "id:x" = aWQ6eA== : wrong padding and no padding
  t.equal(b64('id:x'), 'aWQ6eA==');
  t.same(parseBasicCredentials('aWQ6eA=='), { clientId: 'id', clientSecret: 'x' });
  rejects(t, () => parseBasicCredentials('aWQ6eA'), 'the Authorization header is malformed');
  rejects(t, () => parseBasicCredentials('aWQ6eA='));
  rejects(t, () => parseBasicCredentials('aWQ6eA==='));
  rejects(t, () => parseBasicCredentials('aWQ6e==='));
  rejects(t, () => parseBasicCredentials('aWQ6eA==aWQ6'));
  rejects(t, () => parseBasicCredentials('=aWQ6eA='));
  // whitespace inside or around the credentials
  rejects(t, () => parseBasicCredentials('aWQ6 eA=='));
  rejects(t, () => parseBasicCredentials('aWQ6eA== '));
  rejects(t, () => parseBasicCredentials('aWQ6eA==\n'));
  rejects(t, () => parseBasicCredentials(''));
});

t.test('REQ-JWT6/C5: base64 of invalid UTF-8 is invalid_request', async (t) => {
  const bytes = Buffer.concat([Buffer.from('id:'), Buffer.from([0xff, 0xfe, 0x41])]);
  rejects(t, () => parseBasicCredentials(bytes.toString('base64')));
});

t.test('REQ-B2: the scheme is case-insensitive ("basic", "BASIC")', async (t) => {
  t.same(splitAuthorization('basic aWQ6eA=='), { scheme: 'basic', credentials: 'aWQ6eA==' });
  t.same(splitAuthorization('BASIC aWQ6eA=='), { scheme: 'basic', credentials: 'aWQ6eA==' });
  t.same(splitAuthorization('Basic aWQ6eA=='), { scheme: 'basic', credentials: 'aWQ6eA==' });
  t.same(splitAuthorization('Bearer abc.def'), { scheme: 'bearer', credentials: 'abc.def' });
});

t.test('REQ-B2: exactly one space between scheme and credentials', async (t) => {
  rejects(t, () => splitAuthorization('Basic  aWQ6eA=='));
  rejects(t, () => splitAuthorization('Basic\taWQ6eA=='));
  rejects(t, () => splitAuthorization('BasicaWQ6eA=='));
  rejects(t, () => splitAuthorization('Basic'));
  rejects(t, () => splitAuthorization('Basic '));
  rejects(t, () => splitAuthorization(' Basic aWQ6eA=='));
  rejects(t, () => splitAuthorization(''));
  // a trailing space is part of the credentials, which the strict base64 check then refuses
  const { credentials } = splitAuthorization('Basic aWQ6eA== ');
  rejects(t, () => parseBasicCredentials(credentials));
});

t.test('REQ-T8: a client_id outside VSCHAR is invalid_request', async (t) => {
  rejects(t, () => parseBasicCredentials(b64('id%00x:secret')), 'the client_id is malformed');
  rejects(t, () => parseBasicCredentials(b64('id%09x:secret')), 'the client_id is malformed');
  rejects(t, () => parseBasicCredentials(b64('id%0Ax:secret')), 'the client_id is malformed');
  rejects(t, () => parseBasicCredentials(b64('id%7F:secret')), 'the client_id is malformed');
  rejects(t, () => parseBasicCredentials(b64('caf%C3%A9:secret')), 'the client_id is malformed');
  // raw non-ASCII bytes (valid UTF-8) in the client_id half
  rejects(t, () => parseBasicCredentials(b64('café:secret')), 'the client_id is malformed');
  // VSCHAR includes the space and every printable ASCII character
  t.same(parseBasicCredentials(b64('a+~%21:secret')), { clientId: 'a ~!', clientSecret: 'secret' });
});

t.test('REQ-T8: a secret outside VSCHAR is invalid_request', async (t) => {
  rejects(t, () => parseBasicCredentials(b64('id:sec%00ret')), 'the client_secret is malformed');
  rejects(t, () => parseBasicCredentials(b64('id:sec%0Dret')), 'the client_secret is malformed');
  rejects(t, () => parseBasicCredentials(b64('id:%E2%82%AC')), 'the client_secret is malformed');
});

t.test('REQ-T8: length caps — client_id ≤ 255, secret ≤ 512', async (t) => {
  const id255 = 'i'.repeat(255);
  const secret512 = 's'.repeat(512);
  t.same(parseBasicCredentials(b64(`${id255}:${secret512}`)), { clientId: id255, clientSecret: secret512 });
  rejects(t, () => parseBasicCredentials(b64(`${'i'.repeat(256)}:secret`)), 'the client_id is malformed');
  rejects(t, () => parseBasicCredentials(b64(`id:${'s'.repeat(513)}`)), 'the client_secret is malformed');
  // the cap applies after decoding: 255 × "%41" is 765 encoded characters but 255 decoded ones
  t.same(parseBasicCredentials(b64(`${'%41'.repeat(255)}:x`)), { clientId: 'A'.repeat(255), clientSecret: 'x' });
  // an over-long header is refused before decoding
  rejects(t, () => parseBasicCredentials(b64(`id:${'s'.repeat(4000)}`)));
});
