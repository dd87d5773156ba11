import t, { type Test } from 'tap';
import { InvalidRequest } from '../../src/errors/oauth-errors.js';
import { readParams } from '../../src/oauth/params.js';

/** Asserts fn throws an InvalidRequest (400 invalid_request) with exactly this description. */
function invalidRequest(t: Test, fn: () => unknown, description: string, label = description): void {
  let thrown: unknown = null;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  t.ok(thrown instanceof InvalidRequest, `${label}: throws InvalidRequest`);
  t.match(thrown, { status: 400, error: 'invalid_request', description }, label);
}

t.test('readParams: single values by get(), repeatable values as a list by getAll()', async (t) => {
  const p = readParams({ grant_type: 'client_credentials', resource: ['https://a.example', 'https://b.example'], scope: '' }, ['grant_type', 'resource', 'scope'], ['resource']);
  t.equal(p.get('grant_type'), 'client_credentials');
  t.strictSame(p.getAll('resource'), ['https://a.example', 'https://b.example']);
  t.equal(p.get('scope'), undefined, 'empty is omitted (REQ-T6)');
  t.strictSame(p.getAll('scope'), []);
  t.strictSame(readParams({ resource: 'https://a.example' }, ['resource'], ['resource']).getAll('resource'), ['https://a.example']);
});

t.test('readParams: get() of a repeatable parameter given twice throws rather than picking one', async (t) => {
  const p = readParams({ resource: ['https://a.example', 'https://b.example'] }, ['resource'], ['resource']);
  invalidRequest(t, () => p.get('resource'), 'the resource parameter is repeated');
});

t.test('readParams: a NUL, C0, DEL or C1 control character in any value is invalid_request', async (t) => {
  for (const bad of ['a\u0000b', 'a\u0000', '\u0000', 'a\nb', 'a\tb', 'a\u007fb', 'a\u009bb']) {
    invalidRequest(t, () => readParams({ scope: bad }, ['scope']), 'the scope is malformed', JSON.stringify(bad));
    invalidRequest(t, () => readParams({ resource: ['https://a.example', bad] }, ['resource'], ['resource']), 'the resource is malformed', `resource ${JSON.stringify(bad)}`);
  }
});
