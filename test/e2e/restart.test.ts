// Restart and shutdown of a real tokenmill process: state kept in DATA_DIR across a SIGTERM and a
// new start (generated admin token, signing keys, clients, revocations), secrets kept out of the
// logs, a SIGTERM in the middle of 200 concurrent token requests, and a deterministic drain.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { assertion, clientKey } from '../fixtures/assertion.js';
import { basicAuth, fetchJson, registerClient, startServer, type ServerHandle } from './support.js';

// Real processes start slowly on a loaded machine (PGlite); the runner's default per-file limit is 30 s when run directly.
t.setTimeout(240_000);

const API = 'https://api.example.com';
const ADMIN_SHAPE = /tmadm_[0-9A-Za-z]{49}/g;

async function token(h: ServerHandle, id: string, secret: string, extra: Record<string, string> = {}) {
  return fetchJson(`${h.url}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: basicAuth(id, secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...extra }).toString(),
  });
}

async function introspect(h: ServerHandle, authorization: string, tok: string) {
  return fetchJson(`${h.url}/oauth2/introspect`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: tok }).toString(),
  });
}

/** Lines (stdout and stderr) that contain `needle`, split into JSON log lines and the rest. */
function linesWith(h: ServerHandle, needle: string): { json: string[]; other: string[] } {
  const json: string[] = [];
  const other: string[] = [];
  for (const l of h.lines()) {
    if (!l.includes(needle)) continue;
    let isJson: boolean;
    try {
      isJson = typeof JSON.parse(l) === 'object';
    } catch {
      isJson = false;
    }
    (isJson ? json : other).push(l);
  }
  return { json, other };
}

t.test('development start without ADMIN_TOKEN, then a restart on the same DATA_DIR', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tokenmill-restart-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));

  // ---- first start -----------------------------------------------------------------------------
  const s1 = await startServer(t, { DATA_DIR: dataDir });
  const banner = s1.stdout();
  const tokens = [...new Set(banner.match(ADMIN_SHAPE) ?? [])];
  t.equal(tokens.length, 1, 'exactly one generated admin token on stdout');
  const adminToken = tokens[0]!;
  t.match(adminToken, /^tmadm_[0-9A-Za-z]{49}$/);
  t.equal(banner.split('generated an admin token').length - 1, 1, 'the banner is printed once');
  t.notOk(
    s1.stderrLines().some((l) => l.includes(adminToken)),
    'not on stderr',
  );

  const reg = await registerClient(s1.url, adminToken, { client_name: 'restart', scope: 'api:read api:write', audience: [API] });
  const id: string = reg.client_id;
  const secret: string = reg.client_secret;
  const wrongAdmin = await fetchJson(`${s1.url}/oauth2/register`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}x`, 'content-type': 'application/json' }, body: '{}' });
  t.equal(wrongAdmin.status, 401, 'a different bearer token is refused');

  const first = await token(s1, id, secret, { scope: 'api:read' });
  t.equal(first.status, 200);
  const oldToken: string = first.body.access_token;
  const doomed = await token(s1, id, secret);
  t.equal(doomed.status, 200);
  const revoke = await fetchJson(`${s1.url}/oauth2/revoke`, {
    method: 'POST',
    headers: { authorization: basicAuth(id, secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: doomed.body.access_token }).toString(),
  });
  t.equal(revoke.status, 200, 'a second token is revoked before the restart');
  const jwks1 = (await fetchJson(`${s1.url}/.well-known/jwks.json`)).body as JSONWebKeySet;
  t.ok(jwks1.keys.length >= 1);
  t.equal((await introspect(s1, `Bearer ${adminToken}`, oldToken)).body?.active, true, 'admin-token introspection works');

  const stop1 = await s1.stop('SIGTERM');
  t.same(stop1, { code: 0, signal: null }, 'SIGTERM: exit 0');
  // The admin token appears in the banner only, never in a JSON log line (REQ-O1).
  const seen1 = linesWith(s1, adminToken);
  t.same(seen1.json, [], 'no JSON log line holds the admin token');
  t.ok(seen1.other.length >= 1 && seen1.other.every((l) => !l.startsWith('{')), 'only banner lines hold it');
  t.ok(
    s1.jsonLines().some((l) => l.msg === 'request' && l.path === '/oauth2/register' && l.status === 201),
    'the registration was logged (without the token)',
  );

  // ---- second start on the same DATA_DIR, same ports (same issuer) ------------------------------
  const s2 = await startServer(t, { DATA_DIR: dataDir, PORT: String(s1.port), ADMIN_PORT: String(s1.adminPort) });
  t.equal(s2.issuer, s1.issuer, 'same issuer');
  t.notMatch(s2.stdout(), /tmadm_/, 'no admin token printed at the second start');
  t.notMatch(s2.stdout(), /generated an admin token/, 'no banner at the second start');

  const reg2 = await registerClient(s2.url, adminToken, { client_name: 'after restart', scope: 'api:read', audience: [API] });
  t.match(reg2.client_id, /^tmc_/, 'the same admin token still registers clients');

  const jwks2 = (await fetchJson(`${s2.url}/.well-known/jwks.json`)).body as JSONWebKeySet;
  const { payload, protectedHeader } = await jwtVerify(oldToken, createLocalJWKSet(jwks2), { issuer: s1.issuer, audience: API, typ: 'at+jwt' });
  t.equal(payload.client_id, id, 'the old token verifies against the new JWKS');
  t.ok(
    jwks2.keys.some((k) => k.kid === protectedHeader.kid),
    'its kid is still published',
  );
  t.same(jwks2.keys.map((k) => k.kid).sort(), jwks1.keys.map((k) => k.kid).sort(), 'the same signing keys (none regenerated)');

  const again = await token(s2, id, secret, { scope: 'api:write' });
  t.equal(again.status, 200, 'the client still gets tokens with the same secret');
  const { payload: p2 } = await jwtVerify(again.body.access_token, createLocalJWKSet(jwks2), { issuer: s1.issuer, audience: API, typ: 'at+jwt' });
  t.equal(p2.scope, 'api:write');

  const intro = await introspect(s2, basicAuth(id, secret), oldToken);
  t.equal(intro.status, 200);
  t.equal(intro.body.active, true, 'introspection of the old token is active');
  t.equal(intro.body.jti, payload.jti);
  const introRevoked = await introspect(s2, basicAuth(id, secret), doomed.body.access_token);
  t.same(introRevoked.body, { active: false }, 'the revocation made before the restart still holds');

  const stop2 = await s2.stop('SIGTERM');
  t.same(stop2, { code: 0, signal: null });
  t.same(linesWith(s2, adminToken).json, [], 'no JSON log line of the second run holds the admin token');
  t.same(linesWith(s2, adminToken).other, [], 'nor any other line');
  for (const l of [...s1.lines(), ...s2.lines()]) {
    if (l.includes(secret) || l.includes(oldToken.slice(0, 40))) {
      t.fail(`a secret or token was logged: ${l.slice(0, 120)}`);
      break;
    }
  }
});

interface Outcome {
  kind: 'status' | 'error';
  status?: number;
  code?: string;
}

/** One token request on its own connection (no keep-alive pool), so transport failures are visible. */
function rawToken(h: ServerHandle, authorization: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const body = 'grant_type=client_credentials';
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: h.port,
        path: '/oauth2/token',
        method: 'POST',
        agent: false,
        headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), connection: 'close' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ kind: 'status', status: res.statusCode ?? 0 }));
        res.on('error', (e: NodeJS.ErrnoException) => resolve({ kind: 'error', code: e.code ?? e.message }));
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ kind: 'error', code: e.code ?? e.message }));
    req.end(body);
  });
}

t.test('SIGTERM while 200 token requests are in flight', async (t) => {
  const adminToken = `restart-admin-${'x'.repeat(32)}`;
  const s = await startServer(t, { ADMIN_TOKEN: adminToken });
  const reg = await registerClient(s.url, adminToken, { client_name: 'load', scope: 'api:read', audience: [API] });
  const authorization = basicAuth(reg.client_id, reg.client_secret);
  t.equal((await rawToken(s, authorization)).status, 200, 'warm-up request');

  let done = 0;
  const outcomes = Array.from({ length: 200 }, () =>
    rawToken(s, authorization).then((o) => {
      done++;
      return o;
    }),
  );
  // Signal as soon as the first answers arrive, while most requests are still in flight.
  while (done < 5) await new Promise((r) => setImmediate(r));
  const pendingAtSignal = 200 - done;
  const exit = s.stop('SIGTERM');
  const results = await Promise.all(outcomes);
  const info = await exit;

  const tally = new Map<string, number>();
  for (const r of results) {
    const k = r.kind === 'status' ? String(r.status) : `error:${r.code}`;
    tally.set(k, (tally.get(k) ?? 0) + 1);
  }
  t.comment(`pending at SIGTERM: ${pendingAtSignal}; outcomes: ${JSON.stringify(Object.fromEntries(tally))}`);
  t.ok(pendingAtSignal > 0, 'SIGTERM was sent while requests were in flight');
  const bad = results.filter((r) => r.kind === 'status' && r.status !== 200 && r.status !== 503);
  t.same(bad, [], 'every answered request is 200 or 503, nothing else');
  t.ok(
    results.some((r) => r.kind === 'status' && r.status === 200),
    'some requests completed with 200',
  );
  t.same(info, { code: 0, signal: null }, 'the process exited 0');
  t.ok(
    s.jsonLines().some((l) => l.msg === 'stopped'),
    'it logged a clean stop',
  );
});

/** One raw HTTP/1.1 connection on which requests are written at chosen moments (pipelining). */
function pipelinedConnection(port: number) {
  const socket = connect(port, '127.0.0.1');
  let buffer = '';
  const waiters: (() => void)[] = [];
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => {
    buffer += d;
    for (const w of waiters.splice(0)) w();
  });
  socket.on('error', () => {});
  const opened = new Promise<void>((r) => socket.once('connect', () => r()));
  /** Parses complete responses out of the buffer (Content-Length bodies only). */
  const responses = (): RawResponse[] => {
    const out: RawResponse[] = [];
    let rest = buffer;
    for (;;) {
      const end = rest.indexOf('\r\n\r\n');
      if (end < 0) break;
      const head = rest.slice(0, end);
      const headers: Record<string, string> = {};
      for (const line of head.split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      const length = Number(headers['content-length'] ?? 0);
      if (rest.length < end + 4 + length) break;
      out.push({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), headers, body: rest.slice(end + 4, end + 4 + length) });
      rest = rest.slice(end + 4 + length);
    }
    return out;
  };
  return {
    opened,
    write: (text: string) => socket.write(text),
    responses,
    async waitFor(n: number, timeoutMs: number): Promise<RawResponse[]> {
      const deadline = Date.now() + timeoutMs;
      while (responses().length < n && Date.now() < deadline && !socket.destroyed) {
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
      return responses();
    },
    close: () => socket.destroy(),
  };
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

t.test('SIGTERM drains a request held up by a slow jwks_uri; a request pipelined behind it gets 503', async (t) => {
  const adminToken = `drain-admin-${'y'.repeat(32)}`;
  // The client's JWKS, served slowly from a server of ours, keeps its token request in flight.
  const key = await clientKey('ES256', 'drain-key');
  let jwksHits = 0;
  const jwksServer = createServer((_req, res) => {
    jwksHits++;
    setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [key.publicJwk] })), 1500);
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => jwksServer.close(() => r())));
  const jwksPort = (jwksServer.address() as { port: number }).port;

  const s = await startServer(t, { ADMIN_TOKEN: adminToken });
  const reg = await registerClient(s.url, adminToken, {
    client_name: 'slow keys',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks_uri: `http://127.0.0.1:${jwksPort}/jwks`,
    scope: 'api:read',
    audience: [API],
  });
  const basicReg = await registerClient(s.url, adminToken, { client_name: 'second', scope: 'api:read', audience: [API] });

  const body1 = new URLSearchParams({
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: await assertion(key, reg.client_id, s.issuer, Math.floor(Date.now() / 1000)),
  }).toString();
  const body2 = 'grant_type=client_credentials';
  const conn = pipelinedConnection(s.port);
  await conn.opened;
  conn.write(`POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body1.length}\r\n\r\n${body1}`);
  // Wait until tokenmill is fetching the client's keys: the request is in flight.
  const deadline = Date.now() + 10_000;
  while (jwksHits === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.equal(jwksHits, 1, 'the token request is waiting on the jwks_uri');
  const exit = s.stop('SIGTERM');
  await new Promise((r) => setTimeout(r, 300)); // the shutdown has begun; the first request is still waiting
  t.equal(conn.responses().length, 0, 'no answer yet to the in-flight request');
  // A new connection is refused now …
  const fresh = await fetch(`${s.url}/healthz`).then(
    (r) => `status ${r.status}`,
    (e: Error & { cause?: { code?: string } }) => e.cause?.code ?? e.message,
  );
  t.ok(fresh === 'ECONNREFUSED' || fresh === 'status 503', `no new work is accepted after SIGTERM (${fresh})`);
  // … and a request pipelined on the busy connection is answered 503.
  conn.write(
    `POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${basicAuth(basicReg.client_id, basicReg.client_secret)}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body2.length}\r\n\r\n${body2}`,
  );
  const [first, second] = await conn.waitFor(2, 15_000);
  conn.close();
  const info = await exit;

  t.equal(first?.status, 200, `the in-flight request completed after SIGTERM (${first?.body.slice(0, 80)})`);
  t.match(first ? JSON.parse(first.body).access_token : '', /^eyJ/, 'with a token');
  t.equal(second?.status, 503, 'the request that arrived during the drain is 503');
  t.equal(second?.headers.connection, 'close', 'with Connection: close');
  // contract "Failure behaviour": every token response, errors included, carries no-store and Pragma (C2);
  // errors are RFC 6749 §5.2 JSON (C1), a 503 is temporarily_unavailable with Retry-After (C7).
  t.equal(second?.headers['cache-control'], 'no-store', 'C2: Cache-Control: no-store on the 503');
  t.equal(second?.headers.pragma, 'no-cache', 'C2: Pragma: no-cache on the 503');
  const errBody = second ? (JSON.parse(second.body) as Record<string, unknown>) : {};
  t.equal(errBody.error, 'temporarily_unavailable', 'C1/C7: error temporarily_unavailable');
  t.same(
    Object.keys(errBody).filter((k) => k !== 'error' && k !== 'error_description'),
    [],
    'C1: only error and error_description',
  );
  t.ok(second?.headers['retry-after'], 'C7: Retry-After');
  t.same(info, { code: 0, signal: null }, 'exit 0 after the drain');
});
