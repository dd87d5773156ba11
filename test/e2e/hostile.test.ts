// Hostile input against a real tokenmill process, with raw node:http and node:net requests:
// oversized bodies and headers, chunked bodies, charsets, NUL bytes, prototype pollution, a burst
// of wrong secrets; and nothing secret in the logs afterwards.
import t, { type Test } from 'tap';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { sleep } from '../helpers/time.js';
import { basicAuth, registerClient, startServer, type ServerHandle } from './support.js';

// Real processes start slowly on a loaded machine (PGlite); the runner's default per-file limit is 30 s when run directly.
t.setTimeout(240_000);

const ADMIN_TOKEN = `hostile-admin-${randomBytes(24).toString('hex')}`;
const API = 'https://api.example.com';
const FORM = 'application/x-www-form-urlencoded';
const C4 = '{"error":"invalid_client","error_description":"client authentication failed"}';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends bytes on a fresh TCP connection and parses whatever HTTP/1.1 response comes back. Writing
 * stops as soon as the server answers (it may answer an oversized upload early and close).
 */
function rawHttp(port: number, chunks: (string | Buffer)[], { delayMs = 0, pauseAfterFirstMs = 0, timeoutMs = 10_000 } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const text = Buffer.concat(received).toString('latin1');
      const head = text.split('\r\n\r\n', 1)[0] ?? '';
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      if (!m) return reject(new Error(`no HTTP response: ${JSON.stringify(text.slice(0, 200))}`));
      const headers: Record<string, string> = {};
      for (const line of head.split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status: Number(m[1]), headers, body: text.slice(head.length + 4) });
    };
    const timer = setTimeout(() => {
      socket.destroy();
      finish();
    }, timeoutMs);
    socket.on('data', (d) => received.push(d));
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', () => {
      /* a reset after the response is fine; finish() reports what was received */
    });
    const send = async (): Promise<void> => {
      for (const [i, c] of chunks.entries()) {
        if (socket.destroyed || received.length > 0) break;
        socket.write(c);
        const pause = i === 0 && pauseAfterFirstMs ? pauseAfterFirstMs : delayMs;
        if (pause) await sleep(pause);
      }
    };
    socket.on('connect', () => void send());
  });
}

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http request on its own connection; a response that arrives before the upload ends still counts. */
function http(h: ServerHandle, opts: { method?: string; path: string; headers?: Record<string, string | number>; body?: string | Buffer; chunks?: (string | Buffer)[] }): Promise<Res> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest({ host: '127.0.0.1', port: h.port, path: opts.path, method: opts.method ?? 'POST', agent: false, headers: opts.headers }, (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    if (opts.chunks) {
      for (const c of opts.chunks) req.write(c);
      req.end();
    } else {
      req.end(opts.body);
    }
  });
}

const s = await startServer(t, { ADMIN_TOKEN });
const reg = await registerClient(s.url, ADMIN_TOKEN, { client_name: 'hostile', scope: 'api:read', audience: [API] });
const id: string = reg.client_id;
const secret: string = reg.client_secret;
const tokenHeaders = (extra: Record<string, string | number> = {}) => ({ authorization: basicAuth(id, secret), 'content-type': FORM, ...extra });

/** The RFC 6749 §5.2 JSON error shape with the C2 headers. */
function isOAuthError(t: Test, r: Res, status: number, error: string) {
  t.equal(r.status, status, `status ${status} (${r.body.slice(0, 160)})`);
  let body: any;
  try {
    body = JSON.parse(r.body);
  } catch {
    body = null;
  }
  t.equal(body?.error, error, `error ${error}`);
  t.match(String(r.headers['content-type']), /^application\/json/);
}

t.test('a legitimate request works (baseline)', async (t) => {
  const r = await http(s, { path: '/oauth2/token', headers: tokenHeaders(), body: 'grant_type=client_credentials' });
  t.equal(r.status, 200);
  t.match(JSON.parse(r.body).access_token, /^eyJ/);
});

t.test('100 KiB form body → 413', async (t) => {
  const body = `grant_type=client_credentials&pad=${'a'.repeat(100 * 1024)}`;
  const r = await http(s, { path: '/oauth2/token', headers: tokenHeaders({ 'content-length': Buffer.byteLength(body) }), body });
  isOAuthError(t, r, 413, 'invalid_request');
  t.equal(r.headers['cache-control'], 'no-store');
  t.equal(r.headers.pragma, 'no-cache');
});

t.test('a header over 16 KiB → 431', async (t) => {
  const r = await rawHttp(s.port, [
    `POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${'b'.repeat(17 * 1024)}\r\nContent-Type: ${FORM}\r\nContent-Length: 29\r\n\r\ngrant_type=client_credentials`,
  ]);
  t.equal(r.status, 431);
});

t.test('Transfer-Encoding: chunked with a 20 KiB body → 413', async (t) => {
  // Over a raw socket, chunk by chunk with pauses (no Content-Length ever sent), 5 × 4 KiB + the form.
  const piece = 'c'.repeat(4096);
  const head = `POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${basicAuth(id, secret)}\r\nContent-Type: ${FORM}\r\nTransfer-Encoding: chunked\r\n\r\n`;
  const opening = 'grant_type=client_credentials&pad=';
  const rawChunks = [head, `${opening.length.toString(16)}\r\n${opening}\r\n`, ...Array.from({ length: 5 }, () => `1000\r\n${piece}\r\n`), '0\r\n\r\n'];
  const raw = await rawHttp(s.port, rawChunks, { delayMs: 20 });
  isOAuthError(t, { status: raw.status, headers: raw.headers, body: raw.body }, 413, 'invalid_request');
  t.equal(raw.headers['transfer-encoding'], undefined, 'a plain, complete answer');
});

t.test('Content-Type with charset=latin1 → 400 invalid_request', async (t) => {
  const r = await http(s, { path: '/oauth2/token', headers: tokenHeaders({ 'content-type': `${FORM}; charset=latin1` }), body: 'grant_type=client_credentials' });
  isOAuthError(t, r, 400, 'invalid_request');
  const ok = await http(s, { path: '/oauth2/token', headers: tokenHeaders({ 'content-type': `${FORM.toUpperCase()}; Charset=UTF-8` }), body: 'grant_type=client_credentials' });
  t.equal(ok.status, 200, 'case-insensitive type and charset=UTF-8 are accepted');
});

t.test('NUL byte in client_id → 400 invalid_request, not 500', async (t) => {
  for (const body of [`grant_type=client_credentials&client_id=%00&client_secret=${secret}`, `grant_type=client_credentials&client_id=${id}%00&client_secret=${secret}`]) {
    const r = await http(s, { path: '/oauth2/token', headers: { 'content-type': FORM }, body });
    isOAuthError(t, r, 400, 'invalid_request');
  }
  // In Basic too (RFC 6749 App. B decoding yields a NUL).
  const basicNul = await http(s, {
    path: '/oauth2/token',
    headers: { 'content-type': FORM, authorization: `Basic ${Buffer.from(`%00:${secret}`).toString('base64')}` },
    body: 'grant_type=client_credentials',
  });
  isOAuthError(t, basicNul, 400, 'invalid_request');
  // And at introspection and revocation.
  for (const path of ['/oauth2/introspect', '/oauth2/revoke']) {
    const r = await http(s, { path, headers: { 'content-type': FORM }, body: `token=x&client_id=%00&client_secret=${secret}` });
    isOAuthError(t, r, 400, 'invalid_request');
  }
});

t.test('NUL in a client_assertion sub → 401 invalid_client, not 500', async (t) => {
  // An (unsigned-looking) assertion whose iss = sub = "\u0000": it must be refused before any lookup (REQ-T8, REQ-J13).
  const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const jwt = `${b64url({ alg: 'ES256', kid: 'k' })}.${b64url({ iss: '\u0000', sub: '\u0000', aud: s.issuer, jti: 'nul-sub', iat: now, exp: now + 60 })}.${Buffer.from('sig').toString('base64url')}`;
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: jwt }).toString();
  const r = await http(s, { path: '/oauth2/token', headers: { 'content-type': FORM }, body });
  isOAuthError(t, r, 401, 'invalid_client');
  t.equal(r.body, C4, 'C4 body');
  t.equal(r.headers['www-authenticate'], undefined, 'C3: no challenge for credentials in the body');
  // The same at introspection (REQ-J14).
  const intro = await http(s, { path: '/oauth2/introspect', headers: { 'content-type': FORM }, body: `token=x&${body.replace('grant_type=client_credentials&', '')}` });
  isOAuthError(t, intro, 401, 'invalid_client');
});

t.test('NUL in registered JWK members: a NUL kid → 400 invalid_client_metadata; an unknown member is dropped, never stored; never 500', async (t) => {
  const ec = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' };
  const register = (key: Record<string, string>) =>
    http(s, {
      path: '/oauth2/register',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [key] } }),
    });
  const nulKid = await register({ ...ec, kid: 'a\u0000b' });
  isOAuthError(t, nulKid, 400, 'invalid_client_metadata');
  t.equal(nulKid.headers['cache-control'], 'no-store');
  const extra = await register({ ...ec, kid: 'k', 'x-note': 'a\u0000b' });
  t.equal(extra.status, 201, 'an unknown JWK member is ignored');
  const stored = (JSON.parse(extra.body) as { jwks: { keys: Record<string, unknown>[] } }).jwks.keys[0];
  t.same(Object.keys(stored ?? {}).sort(), ['crv', 'kid', 'kty', 'x', 'y'], 'only the public key members are stored');
});

t.test('hostile RFC 7592 client URIs → OAuth errors with C2 headers, not 500', async (t) => {
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  // A client_id that cannot exist (NUL) is an unknown client: RFC 7592 §2 → 401 invalid_token.
  for (const method of ['GET', 'DELETE']) {
    const r = await http(s, { method, path: '/oauth2/register/%00', headers: auth });
    isOAuthError(t, r, 401, 'invalid_token');
    t.equal(r.headers['cache-control'], 'no-store', `${method}: C2 no-store`);
  }
  const put = await http(s, { method: 'PUT', path: '/oauth2/register/%00', headers: { ...auth, 'content-type': 'application/json' }, body: '{"client_id":"\\u0000"}' });
  isOAuthError(t, put, 401, 'invalid_token');
  // An undecodable escape in the path is a syntax fault (C5): an OAuth error, with the C2 headers.
  const bad = await http(s, { method: 'GET', path: '/oauth2/register/%FF', headers: auth });
  isOAuthError(t, bad, 400, 'invalid_request');
  t.equal(bad.headers['cache-control'], 'no-store', 'C2 no-store');
  t.equal(bad.headers.pragma, 'no-cache', 'C2 Pragma');
  const body = JSON.parse(bad.body) as Record<string, unknown>;
  t.same(
    Object.keys(body).filter((k) => k !== 'error' && k !== 'error_description'),
    [],
    'C1: only error and error_description',
  );
});

t.test('5 MB JSON registration body → 413', async (t) => {
  // With a Content-Length, over a raw socket in 64 KiB writes: the server may answer 413 and close
  // before the upload ends (a client writing on would see EPIPE); what matters is the answer.
  const body = Buffer.from(JSON.stringify({ client_name: 'big', pad: 'd'.repeat(5 * 1024 * 1024) }));
  const head = `POST /oauth2/register HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
  const pieces: Buffer[] = [];
  for (let i = 0; i < body.length; i += 64 * 1024) pieces.push(body.subarray(i, i + 64 * 1024));
  const raw = await rawHttp(s.port, [head, ...pieces], { pauseAfterFirstMs: 300, delayMs: 1 });
  const r: Res = { status: raw.status, headers: raw.headers, body: raw.body };
  isOAuthError(t, r, 413, 'invalid_request');
  t.equal(r.headers['cache-control'], 'no-store');
  t.equal(r.headers.pragma, 'no-cache');
  // Chunked, without a Content-Length, over a raw socket (the server may answer and close before
  // the upload ends; what matters is the answer).
  const piece = 'e'.repeat(8 * 1024);
  const headChunked = `POST /oauth2/register HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
  const opening = '{"client_name":"big","pad":"';
  const chunks = [headChunked, `${opening.length.toString(16)}\r\n${opening}\r\n`, ...Array.from({ length: 640 }, () => `${piece.length.toString(16)}\r\n${piece}\r\n`), '2\r\n"}\r\n0\r\n\r\n'];
  const chunked = await rawHttp(s.port, chunks, { delayMs: 10, timeoutMs: 20_000 });
  t.equal(chunked.status, 413, 'chunked 5 MB registration');
});

t.test('prototype pollution at registration → 400', async (t) => {
  for (const body of ['{"__proto__":{"x":1}}', '{"client_name":"p","__proto__":{"token_endpoint_auth_method":"none"}}', '{"constructor":{"prototype":{"x":1}}}']) {
    const r = await http(s, { path: '/oauth2/register', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body });
    isOAuthError(t, r, 400, 'invalid_request');
    t.equal(r.headers['cache-control'], 'no-store');
  }
  // Nothing leaked into later objects: a normal registration has exactly the expected members.
  const ok = await http(s, { path: '/oauth2/register', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: '{"client_name":"after","scope":"api:read"}' });
  t.equal(ok.status, 201);
  const meta = JSON.parse(ok.body);
  t.equal(meta.x, undefined);
  t.equal(meta.token_endpoint_auth_method, 'client_secret_basic');
  // Bracketed and polluting form keys are unknown parameters and ignored (REQ-T7).
  const form = await http(s, { path: '/oauth2/token', headers: tokenHeaders(), body: 'grant_type=client_credentials&__proto__[scope]=admin&constructor[prototype][x]=1&client_id[]=x&__proto__=y' });
  t.equal(form.status, 200, `polluting form keys are ignored (${form.body.slice(0, 120)})`);
});

t.test('50 concurrent wrong-secret requests: identical 401 answers', async (t) => {
  const body = 'grant_type=client_credentials';
  const wrong = basicAuth(id, `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`);
  const unknown = basicAuth('tmc_doesnotexist0000000000', secret);
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => http(s, { path: '/oauth2/token', headers: { 'content-type': FORM, authorization: i % 2 ? wrong : unknown }, body })));
  const statuses = [...new Set(results.map((r) => r.status))];
  t.same(statuses, [401], 'all 401');
  const bodies = [...new Set(results.map((r) => r.body))];
  t.same(bodies, [C4], 'byte-identical bodies (C4), for unknown clients and wrong secrets alike');
  const challenges = [...new Set(results.map((r) => r.headers['www-authenticate']))];
  t.same(challenges, [`Basic realm="${s.issuer}"`], 'identical challenge (C3)');
  const headerSets = [
    ...new Set(
      results.map((r) =>
        Object.keys(r.headers)
          .filter((k) => k !== 'date')
          .sort()
          .join(','),
      ),
    ),
  ];
  t.equal(headerSets.length, 1, 'the same header names on every answer');
  // The right secret still works afterwards (no global lock-out: REQ-A6).
  const ok = await http(s, { path: '/oauth2/token', headers: tokenHeaders(), body });
  t.equal(ok.status, 200);
});

t.test('credentials in odd places are refused and not logged', async (t) => {
  const inUrl = await http(s, { path: `/oauth2/token?client_secret=${secret}&client_id=${id}`, headers: { 'content-type': FORM }, body: 'grant_type=client_credentials' });
  isOAuthError(t, inUrl, 400, 'invalid_request');
  const tok = JSON.parse((await http(s, { path: '/oauth2/token', headers: tokenHeaders(), body: 'grant_type=client_credentials' })).body).access_token as string;
  const intro = await http(s, { path: `/oauth2/introspect?token=${tok}`, headers: tokenHeaders(), body: `token=${tok}` });
  isOAuthError(t, intro, 400, 'invalid_request');
  const assertionLike = await http(s, {
    path: '/oauth2/token',
    headers: { 'content-type': FORM },
    body: `grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=${tok}`,
  });
  isOAuthError(t, assertionLike, 401, 'invalid_client');
  const badBasic = await http(s, { path: '/oauth2/token', headers: { 'content-type': FORM, authorization: 'Basic tmsec_not_base64!' }, body: 'grant_type=client_credentials' });
  isOAuthError(t, badBasic, 400, 'invalid_request');
  const revoke = await http(s, { path: '/oauth2/revoke', headers: tokenHeaders(), body: `token=${tok}` });
  t.equal(revoke.status, 200);
});

t.test('the logs hold no secret, token or Basic credential', async (t) => {
  await sleep(200); // let the last request lines arrive
  const lines = s.lines();
  t.ok(lines.length > 20, `request lines were logged (${lines.length})`);
  for (const needle of ['tmsec_', 'eyJ', 'Basic ', secret, ADMIN_TOKEN]) {
    const hits = lines.filter((l) => l.includes(needle));
    t.same(
      hits.map((l) => l.slice(0, 200)),
      [],
      `no log line contains ${needle.slice(0, 12)}…`,
    );
  }
  t.notOk(
    lines.some((l) => /"level":50|"level":60/.test(l)),
    'no error or fatal log line (no 500s)',
  );
  // A database error object carries the statement's parameters (credential hashes, client input).
  t.same(
    lines.filter((l) => l.includes('"params":[')).map((l) => l.slice(0, 160)),
    [],
    'no SQL parameters in the logs',
  );
  const statuses = s
    .jsonLines()
    .filter((l) => l.msg === 'request')
    .map((l) => l.status);
  t.notOk(statuses.includes(500), 'no request ended in 500');
});
