// The real `tokenmill` binary against a stand-in admin API and issuer on 127.0.0.1 that answer
// with hostile strings (the server may hold such values from before they were refused, or be
// another server altogether): nothing that moves the cursor, recolours or reorders the terminal is
// printed raw, in tables, details, JSON or errors. And secrets can be given on stdin (`-`), so
// they never sit in the process list.
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { ROOT, inheritedEnv } from '../helpers/server-process.js';

t.setTimeout(120_000);

const BIN = join(ROOT, 'bin/tokenmill.js');
const ADMIN_TOKEN = 'stdin-admin-token-7Gq2LmXv9RtYp4Wz8Kc1Nd6Fh3Js5Ub0';
const EVIL = 'evil\u009b31m\u001b[2J\u202Egnp.exe\u2066\u200f\u061c';
const RAW = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;

const client = {
  client_id: 'tmc_evil',
  client_name: EVIL,
  status: 'active',
  token_endpoint_auth_method: 'client_secret_basic',
  token_endpoint_auth_signing_alg: null,
  access_token_signing_alg: null,
  grant_types: ['client_credentials'],
  scope: 'api:read',
  audience: ['https://api.example.com'],
  access_token_ttl: null,
  jwks: null,
  jwks_uri: null,
  created_at: '2026-11-23T18:23:45.123Z',
  updated_at: '2026-11-23T18:23:45.123Z',
  last_used_at: null,
  secrets: [{ secret_id: 'sec_1', prefix: 'tmsec_ab', created_at: '2026-11-23T18:23:45.123Z', expires_at: null, last_used_at: null, status: 'active' }],
};

interface Seen {
  authorization: string | undefined;
  body: string;
  url: string;
}
const seen: Seen[] = [];
const server: Server = createServer((req: IncomingMessage, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    seen.push({ authorization: req.headers.authorization, body, url: req.url ?? '' });
    res.setHeader('content-type', 'application/json');
    if (req.url?.startsWith('/admin/v1/clients/tmc_evil')) return res.end(JSON.stringify(client));
    if (req.url?.startsWith('/admin/v1/clients')) return res.end(JSON.stringify({ items: [client], next_cursor: null }));
    if (req.url === '/admin/v1/tokens/revoke') return res.end(JSON.stringify({ jti: 'j1', exp: 2000000000, revoked: true }));
    if (req.url === '/oauth2/token') return res.end(JSON.stringify({ access_token: 'at.from.stub', token_type: 'Bearer', expires_in: 60 }));
    res.statusCode = 400;
    res.end(JSON.stringify({ error: 'invalid_request', error_description: `bad \u001b]0;pwned\u0007 ${EVIL}` }));
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
t.teardown(() => new Promise<void>((r) => server.close(() => r())));
const BASE = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const env = { ...inheritedEnv(), TOKENMILL_URL: BASE, TOKENMILL_ISSUER: BASE, TOKENMILL_ADMIN_TOKEN: ADMIN_TOKEN };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function cli(args: string[], options: { stdin?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { env: options.env ?? env, cwd: ROOT, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    child.stdin?.end(options.stdin ?? '');
  });
}

t.test('clients list / show: a hostile client_name is shown as visible escapes', async (t) => {
  for (const args of [
    ['clients', 'list'],
    ['clients', 'show', 'tmc_evil'],
  ]) {
    const r = await cli(args);
    t.equal(r.code, 0, args.join(' '));
    t.notOk(RAW.test(r.stdout), `${args.join(' ')}: no raw control or bidi character on stdout`);
    t.match(r.stdout, 'evil\\u{9b}31m\\u{1b}[2J\\u{202e}gnp.exe\\u{2066}\\u{200f}\\u{61c}');
  }
});

t.test('--json: escaped as \\uXXXX, and parses back to the exact name', async (t) => {
  for (const args of [
    ['clients', 'list', '--json'],
    ['clients', 'show', 'tmc_evil', '--json'],
  ]) {
    const r = await cli(args);
    t.equal(r.code, 0);
    t.notOk(RAW.test(r.stdout), `${args.join(' ')}: no raw control or bidi character`);
    t.match(r.stdout, '\\u009b');
    t.match(r.stdout, '\\u202e');
    const parsed = JSON.parse(r.stdout) as { client_name?: string; items?: { client_name: string }[] };
    t.equal(parsed.client_name ?? parsed.items?.[0]?.client_name, EVIL);
  }
});

t.test('an error description from the server is printed safely too', async (t) => {
  const r = await cli(['keys', 'list']);
  t.equal(r.code, 1);
  t.notOk(RAW.test(r.stderr), 'no raw control or bidi character on stderr');
  t.match(r.stderr, /^tokenmill: 400 invalid_request: bad \\u\{1b\}\]0;pwned\\u\{7\} evil\\u\{9b\}/);
});

t.test('secrets on stdin: --admin-token -, tokens revoke --token -, token --client-secret -', async (t) => {
  const noEnvToken = { ...env, TOKENMILL_ADMIN_TOKEN: '' };
  seen.length = 0;
  const a = await cli(['--admin-token', '-', 'clients', 'list', '--json'], { stdin: `${ADMIN_TOKEN}\n`, env: noEnvToken });
  t.equal(a.code, 0, a.stderr);
  t.equal(seen[0]?.authorization, `Bearer ${ADMIN_TOKEN}`, 'the admin token read from stdin, one trailing newline trimmed');

  seen.length = 0;
  const r = await cli(['tokens', 'revoke', '--token', '-'], { stdin: 'eyJ.stdin.token\r\n' });
  t.equal(r.code, 0, r.stderr);
  t.same(JSON.parse(seen[0]?.body ?? '{}'), { token: 'eyJ.stdin.token' });

  seen.length = 0;
  const s = await cli(['token', '--client-id', 'tmc_x', '--client-secret', '-', '--auth', 'post'], { stdin: 'tmsec_from_stdin\n' });
  t.equal(s.code, 0, s.stderr);
  t.equal(new URLSearchParams(seen[0]?.body).get('client_secret'), 'tmsec_from_stdin');
  t.equal(s.stdout, 'at.from.stub\n');

  const twice = await cli(['--admin-token', '-', 'tokens', 'revoke', '--token', '-'], { stdin: 'x\n', env: noEnvToken });
  t.equal(twice.code, 2, 'two values cannot both come from stdin');
  t.match(twice.stderr, /^tokenmill: only one value can be read from stdin/);

  const empty = await cli(['tokens', 'revoke', '--token', '-'], { stdin: '' });
  t.equal(empty.code, 2, 'nothing on stdin is a usage error');
  t.match(empty.stderr, /^tokenmill: --token -: stdin is empty/);
});

t.test('inspect - reads the token from stdin', async (t) => {
  const r = await cli(['inspect', '-'], { stdin: 'not.a.token\n' });
  // The stand-in has no metadata endpoint: what matters is that `-` was not taken for the token.
  t.equal(r.code, 1);
  t.notMatch(r.stderr, /invalid token/, 'it went on to fetch the metadata instead of decoding "-"');
  const empty = await cli(['inspect', '-'], { stdin: '\n' });
  t.equal(empty.code, 2);
  t.match(empty.stderr, /^tokenmill: <token> -: stdin is empty/);
});
