// REQ-D8: in production a client's jwks_uri is fetched only from public addresses, checked when
// the connection is made (a name that passed registration may later resolve to an internal host).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { PrivateAddressError, publicOnlyFetch, publicOnlyLookup } from '../../src/lib/public-fetch.js';
import { fakeResolver } from '../helpers/fake-resolver.js';

function lookupOnce(lookup: ReturnType<typeof publicOnlyLookup>, hostname: string, all: boolean): Promise<{ err: NodeJS.ErrnoException | null; result: unknown }> {
  return new Promise((resolve) => {
    lookup(hostname, { all }, (err: NodeJS.ErrnoException | null, address: unknown, family?: number) => resolve({ err, result: all ? address : { address, family } }));
  });
}

t.test('publicOnlyLookup passes public addresses through, in both callback forms', async (t) => {
  const lookup = publicOnlyLookup(fakeResolver({ 'keys.example.com': ['93.184.216.34', '2606:2800:220:1::1'] }));
  t.strictSame(await lookupOnce(lookup, 'keys.example.com', false), { err: null, result: { address: '93.184.216.34', family: 4 } });
  const all = await lookupOnce(lookup, 'keys.example.com', true);
  t.equal(all.err, null);
  t.strictSame(all.result, [
    { address: '93.184.216.34', family: 4 },
    { address: '2606:2800:220:1::1', family: 6 },
  ]);
});

t.test('publicOnlyLookup refuses a name with any private, loopback or link-local address', async (t) => {
  const lookup = publicOnlyLookup(
    fakeResolver({
      'rebound.example.com': ['127.0.0.1'],
      'mixed.example.com': ['93.184.216.34', '10.0.0.7'],
      'metadata.example.com': ['169.254.169.254'],
      'v6.example.com': ['::1'],
    }),
  );
  for (const host of ['rebound.example.com', 'mixed.example.com', 'metadata.example.com', 'v6.example.com']) {
    for (const all of [false, true]) {
      const { err } = await lookupOnce(lookup, host, all);
      t.type(err, PrivateAddressError, `${host} (all: ${all})`);
      t.equal(err?.code, 'EPRIVATEADDR');
    }
  }
  const { err } = await lookupOnce(lookup, 'unknown.example.com', false);
  t.equal(err?.code, 'ENOTFOUND', 'resolver errors pass through');
});

interface JwksServer {
  port: number;
  requests: IncomingMessage[];
}

async function jwksServer(t: Test, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<JwksServer> {
  const requests: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as AddressInfo).port, requests };
}

const init = () => ({ headers: new Headers({ accept: 'application/json' }), signal: AbortSignal.timeout(5000) });
const JWKS = JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', kid: 'k1' }] });

t.test('publicOnlyFetch refuses a literal private address and a name resolving to one, before connecting', async (t) => {
  const srv = await jwksServer(t, (_req, res) => res.end(JWKS));
  const fetchJwks = publicOnlyFetch(fakeResolver({ 'jwks.example.test': ['127.0.0.1'] }));
  await t.rejects(fetchJwks(`http://127.0.0.1:${srv.port}/jwks`, init()), { name: 'PrivateAddressError', code: 'EPRIVATEADDR' });
  await t.rejects(fetchJwks(`http://localhost.:${srv.port}/jwks`, init()), { name: 'PrivateAddressError', code: 'EPRIVATEADDR' });
  await t.rejects(fetchJwks(`http://jwks.example.test:${srv.port}/jwks`, init()), {
    name: 'PrivateAddressError',
    code: 'EPRIVATEADDR',
    message: 'jwks.example.test resolves to a private, loopback or link-local address',
  });
  t.equal(srv.requests.length, 0, 'the internal server was never reached');
});

t.test('publicOnlyFetch returns the JWKS of an allowed host, sends GET with the given headers, follows no redirect and caps the size', async (t) => {
  let mode: 'ok' | 'redirect' | 'huge' = 'ok';
  const srv = await jwksServer(t, (_req, res) => {
    if (mode === 'redirect') {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' });
      res.end();
    } else if (mode === 'huge') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('x'.repeat(600 * 1024));
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JWKS);
    }
  });
  // Every address allowed, so the local test server stands in for a public one.
  const fetchJwks = publicOnlyFetch(fakeResolver({ 'jwks.example.test': ['127.0.0.1'] }), () => false);
  const res = await fetchJwks(`http://jwks.example.test:${srv.port}/jwks`, init());
  t.equal(res.status, 200);
  t.strictSame(await res.json(), JSON.parse(JWKS));
  t.equal(srv.requests[0]?.method, 'GET');
  t.equal(srv.requests[0]?.headers.accept, 'application/json');

  mode = 'redirect';
  const redirected = await fetchJwks(`http://jwks.example.test:${srv.port}/jwks`, init());
  t.equal(redirected.status, 302, 'a redirect is returned as such (jose treats it as a failed fetch)');
  t.equal(srv.requests.length, 2, 'and not followed');

  mode = 'huge';
  await t.rejects(fetchJwks(`http://jwks.example.test:${srv.port}/jwks`, init()), { message: 'the JWKS response is too large' });
});
