// LOG_TOKEN_SAMPLE (issue 15, the request log line on the token path): with N > 1 only one
// successful token request in N writes its request line (marked "sample": N); refusals and every
// other request are still logged, and tokenmill_token_requests_total still counts every success.
// The default (1) logs every request: request-log-fields.test.ts.
import t from 'tap';
import { loadConfig } from '../../src/config/load.js';
import { basic, build, register, tokenRequest } from '../helper.js';
import { parseMetrics, sampleValue } from '../helpers/prometheus.js';

interface Line {
  msg: string;
  path?: string;
  status?: number;
  client_id?: string;
  error?: string;
  sample?: number;
}

t.test('LOG_TOKEN_SAMPLE=5: the 1st, 6th and 11th of 12 successes are logged; refusals always; all counted', async (t) => {
  const b = await build(t, { LOG_TOKEN_SAMPLE: '5' });
  const adminApp = b.apps.admin ?? b.app;
  const lines = (): Line[] => b.logs.map((l) => JSON.parse(l) as Line).filter((l) => l.msg === 'request' && l.path === '/oauth2/token');
  const c = await register(b.app, { client_name: 'sampled' });
  const auth = basic(c.client_id, c.client_secret as string);
  const before = lines().length;
  for (let i = 0; i < 12; i++) t.equal((await tokenRequest(b.app, { grant_type: 'client_credentials' }, { authorization: auth })).statusCode, 200);
  const successes = lines().slice(before);
  t.equal(successes.length, 3, 'one line in five');
  t.same(
    successes.map((l) => [l.status, l.client_id, l.sample]),
    Array.from({ length: 3 }, () => [200, c.client_id, 5]),
    'each sampled line says what it stands for',
  );

  const refusedBefore = lines().length;
  for (let i = 0; i < 3; i++) {
    t.equal((await tokenRequest(b.app, { grant_type: 'client_credentials', scope: 'not-registered' }, { authorization: auth })).statusCode, 400);
    t.equal((await tokenRequest(b.app, { grant_type: 'client_credentials' }, { authorization: basic(c.client_id, 'tmsec_wrong') })).statusCode, 401);
  }
  const refusals = lines().slice(refusedBefore);
  t.same(
    refusals.map((l) => [l.status, l.error, 'sample' in l]),
    Array.from({ length: 3 }, () => [
      [400, 'invalid_scope', false],
      [401, 'invalid_client', false],
    ]).flat(),
    'every refusal is logged, unsampled',
  );

  const jwks = await b.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  t.equal(jwks.statusCode, 200);
  t.equal(b.logs.filter((l) => l.includes('"path":"/.well-known/jwks.json"')).length, 1, 'other routes are not sampled');

  const metrics = await adminApp.inject({ method: 'GET', url: '/metrics' });
  t.equal(metrics.statusCode, 200);
  t.equal(sampleValue(parseMetrics(metrics.body), 'tokenmill_token_requests_total', { auth_method: 'client_secret_basic', result: 'success' }), 12, 'the metric counts every success');
});

t.test('LOG_TOKEN_SAMPLE: 1 by default; not a positive integer up to 1,000,000 is refused at start', async (t) => {
  t.equal(loadConfig({}).logTokenSample, 1);
  t.equal(loadConfig({ LOG_TOKEN_SAMPLE: '100' }).logTokenSample, 100);
  for (const bad of ['0', '-1', '1.5', 'all', '1000001']) t.throws(() => loadConfig({ LOG_TOKEN_SAMPLE: bad }), /^LOG_TOKEN_SAMPLE must /, `LOG_TOKEN_SAMPLE=${bad}`);
});
