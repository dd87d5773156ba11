// The `tokenmill` CLI end to end: a real server process, the real bin/tokenmill.js, and what a
// person or a script sees: stdout, stderr and the exit code.
import t, { type Test } from 'tap';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { basicCredentials } from '@tokenmill/verify/protocol';
import { metadataUrl, remaining } from '../../src/cli/commands/inspect.js';
import { shortDate, table } from '../../src/cli/table.js';
import { YOUNG_GENERATION_FLAG } from '../../src/lib/node-flags.js';
import { ROOT, childPids, commandLine, freePort, inheritedEnv, serverEnv, serverPorts, spawnServer, waitReady, type ExitInfo } from '../helpers/server-process.js';
import { pollUntil } from '../helpers/time.js';

const BIN = join(ROOT, 'bin/tokenmill.js');
const ADMIN_TOKEN = `cli-admin-${randomBytes(30).toString('base64url')}`;
const API = 'https://api.example.com';

// About 70 CLI runs, each a fresh Node process: more than tap's default 30 s when run on its own.
t.setTimeout(300_000);

function exited(child: ChildProcess): Promise<ExitInfo> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
}

t.test('helpers: Basic credentials, metadata URL, remaining lifetime, tables', async (tt) => {
  const header = basicCredentials('a b', 'x:y+z/é');
  tt.equal(Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8'), 'a+b:x%3Ay%2Bz%2F%C3%A9', 'RFC 6749 §2.3.1: each half form-urlencoded');
  tt.equal(metadataUrl('https://as.example/tenant/'), 'https://as.example/.well-known/oauth-authorization-server/tenant');
  tt.equal(metadataUrl('http://127.0.0.1:8080'), 'http://127.0.0.1:8080/.well-known/oauth-authorization-server');
  tt.equal(remaining(1000, 900), 'expires in 100s');
  tt.equal(remaining(900, 1000), 'expired 100s ago');
  tt.equal(shortDate('2026-11-23T18:23:45.123Z'), '2026-11-23 18:23');
  tt.equal(shortDate(null), '-');
  tt.equal(
    table(
      ['A', 'LONGER'],
      [
        ['xyz', null],
        ['1', 'two\nlines'],
      ],
    ),
    'A    LONGER\nxyz  -\n1    two lines\n',
  );
});

// --- the server ---------------------------------------------------------------------------------
const { port, adminPort } = await serverPorts({});
const dataDir = mkdtempSync(join(tmpdir(), 'tokenmill-cli-'));
const ISSUER = `http://127.0.0.1:${port}`;
const ADMIN_URL = `http://127.0.0.1:${adminPort}`;
const server = spawnServer(serverEnv({ LOG_LEVEL: 'warn', PORT: String(port), ADMIN_PORT: String(adminPort), ISSUER, ADMIN_TOKEN, DATA_DIR: dataDir }), {
  // Never leave the server behind, even if this process ends without its teardown (a tap timeout).
  reapOnExit: true,
  onStopTimeout: 'throw',
});
t.teardown(async () => {
  const { code } = await server.stop('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
  if (code !== 0) throw new Error(`server exited ${code}:\n${server.lines().slice(-40).join('\n')}`);
});
await waitReady({ url: ISSUER, name: 'the CLI test server', exitInfo: server.exitInfo, lines: server.lines });

// --- the CLI ------------------------------------------------------------------------------------
interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
const transcript: string[] = [];
// No saved profile of whoever runs the tests is ever read: an empty config directory.
const configHome = mkdtempSync(join(tmpdir(), 'tokenmill-cli-config-'));
t.teardown(() => rmSync(configHome, { recursive: true, force: true }));
const cliEnv = { ...inheritedEnv(), XDG_CONFIG_HOME: configHome, TOKENMILL_URL: ADMIN_URL, TOKENMILL_ADMIN_TOKEN: ADMIN_TOKEN, TOKENMILL_ISSUER: ISSUER };

function cli(args: string[], env: Record<string, string> = cliEnv, bin = BIN): Promise<Run> {
  return new Promise((ok) => {
    execFile(process.execPath, [bin, ...args], { env, cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      transcript.push(stdout, stderr);
      ok({ code, stdout, stderr });
    });
  });
}

/** Succeeds or fails the test with the CLI's own words. */
async function ok(tt: Test, args: string[]): Promise<Run> {
  const r = await cli(args);
  tt.equal(r.code, 0, `tokenmill ${args.slice(0, 2).join(' ')} exits 0${r.stderr ? `: ${r.stderr.trim()}` : ''}`);
  return r;
}

const SECRET = /tmsec_[0-9A-Za-z]{49}/g;
const WARNING = 'store this secret now: it cannot be shown again';
const secretFrom = (stdout: string): string => /client_secret:\s+(\S+)/.exec(stdout)?.[1] ?? '';

let clientId = '';
let secret = '';

t.test('clients create shows the client and its secret once, with the warning', async (tt) => {
  const r = await ok(tt, ['clients', 'create', '--name', 'cli-demo', '--scope', 'api:read api:write', '--audience', API, '--ttl', '600', '--secret-expires', '90d']);
  clientId = /client_id:\s+(\S+)/.exec(r.stdout)?.[1] ?? '';
  secret = secretFrom(r.stdout);
  tt.ok(clientId, 'prints the client_id');
  tt.match(secret, /^tmsec_[0-9A-Za-z]{49}$/, 'prints the secret');
  tt.equal(r.stdout.match(SECRET)?.length, 1, 'the secret appears exactly once');
  tt.equal(r.stdout.split(WARNING).length - 1, 1, 'one warning line');
  tt.match(r.stdout, /scope:\s+api:read api:write/);
  tt.match(r.stdout, /audience:\s+https:\/\/api\.example\.com/);
  tt.match(r.stdout, /token_ttl:\s+600s/);
  tt.equal(r.stderr, '');

  const j = await ok(tt, ['clients', 'create', '--name', 'cli-json', '--auth-method', 'client_secret_post', '--json']);
  const body = JSON.parse(j.stdout) as { client: { client_id: string; token_endpoint_auth_method: string }; client_secret: string; secret_id: string };
  tt.match(body.client_secret, /^tmsec_/);
  tt.equal(body.client.token_endpoint_auth_method, 'client_secret_post');
  tt.notMatch(j.stdout, WARNING, '--json is the raw response');

  const bad = await cli(['clients', 'create', '--secret-expires', '3 weeks']);
  tt.equal(bad.code, 2, 'a bad lifetime is a usage error');
});

t.test('clients list: a table for people, JSON for scripts, --all follows the cursor', async (tt) => {
  const r = await ok(tt, ['clients', 'list']);
  const [header, ...rows] = r.stdout.trimEnd().split('\n');
  tt.match(header, /^CLIENT_ID\s+NAME\s+STATUS\s+AUTH\s+SCOPE\s+SECRETS\s+LAST_USED$/);
  const row = rows.find((l) => l.startsWith(clientId));
  tt.ok(row, 'the client has a row');
  tt.match(row, /cli-demo\s+active\s+client_secret_basic\s+api:read api:write\s+tmsec_\S+\s+-/);
  tt.notMatch(r.stdout, SECRET, 'never a secret');

  const j = JSON.parse((await ok(tt, ['clients', 'list', '--json'])).stdout) as { items: { client_id: string }[]; next_cursor: string | null };
  tt.ok(j.items.some((c) => c.client_id === clientId));

  const one = await ok(tt, ['clients', 'list', '--limit', '1']);
  tt.equal(one.stdout.trimEnd().split('\n').length, 2, 'one row with --limit 1');
  tt.match(one.stderr, /more clients: --cursor \S+/, 'a hint about the next page, on stderr');
  const all = JSON.parse((await ok(tt, ['clients', 'list', '--limit', '1', '--all', '--json'])).stdout) as { items: unknown[]; next_cursor: null };
  tt.equal(all.items.length, 2, '--all follows next_cursor');
  tt.equal(all.next_cursor, null);

  const filtered = JSON.parse((await ok(tt, ['clients', 'list', '--auth-method', 'client_secret_post', '--json'])).stdout) as { items: { client_name: string }[] };
  tt.same(
    filtered.items.map((c) => c.client_name),
    ['cli-json'],
  );
  const prefixed = JSON.parse((await ok(tt, ['clients', 'list', '--name-prefix', 'cli-d', '--json'])).stdout) as { items: { client_name: string }[] };
  tt.same(
    prefixed.items.map((c) => c.client_name),
    ['cli-demo'],
  );
});

t.test('clients show: details and the secrets table', async (tt) => {
  const r = await ok(tt, ['clients', 'show', clientId]);
  tt.match(r.stdout, new RegExp(`client_id:\\s+${clientId}`));
  tt.match(r.stdout, /SECRET_ID\s+PREFIX\s+CREATED\s+EXPIRES\s+LAST_USED\s+STATUS/);
  tt.match(r.stdout, /\d{4}-\d{2}-\d{2} \d{2}:\d{2}/, 'dates are shortened');
  tt.notMatch(r.stdout, /\d{2}:\d{2}:\d{2}/, 'no seconds in dates');
  tt.notMatch(r.stdout, SECRET);
  const j = JSON.parse((await ok(tt, ['clients', 'show', clientId, '--json'])).stdout) as { secrets: unknown[] };
  tt.equal(j.secrets.length, 1);
});

t.test('token and inspect', async (tt) => {
  const r = await ok(tt, ['token', '--client-id', clientId, '--client-secret', secret]);
  const token = r.stdout.trim();
  tt.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'prints the access token alone');

  const post = await cli(['token', '--client-id', clientId, '--client-secret', secret, '--auth', 'post']);
  tt.equal(post.code, 1, 'client_secret_post for a client_secret_basic client is refused');
  tt.match(post.stderr, /^tokenmill: 401 invalid_client/);

  const viaEnv = await cli(['token', '--client-id', clientId, '--json'], { ...cliEnv, TOKENMILL_CLIENT_SECRET: secret });
  tt.equal(viaEnv.code, 0);
  const json = JSON.parse(viaEnv.stdout) as { access_token: string; token_type: string; expires_in: number; scope: string };
  tt.equal(json.token_type, 'Bearer');
  tt.equal(json.expires_in, 600);

  const i = await ok(tt, ['inspect', token]);
  tt.match(i.stdout, /typ:\s+at\+jwt/);
  tt.match(i.stdout, new RegExp(`client_id:\\s+${clientId}`));
  tt.match(i.stdout, new RegExp(`sub:\\s+${clientId}`));
  tt.match(i.stdout, /scope:\s+api:read api:write/);
  tt.match(i.stdout, /aud:\s+https:\/\/api\.example\.com/);
  tt.match(i.stdout, /expires in (\d+)s/);
  const left = Number(/expires in (\d+)s/.exec(i.stdout)?.[1]);
  // 600 s at issue; the margin absorbs a slow machine between the two commands (an outcome, not a timing).
  tt.ok(left > 300 && left <= 600, `remaining lifetime ${left}s`);
  const ij = JSON.parse((await ok(tt, ['inspect', token, '--json'])).stdout) as { valid: boolean; claims: { iss: string }; header: { typ: string } };
  tt.equal(ij.valid, true);
  tt.equal(ij.claims.iss, ISSUER);
  tt.equal(ij.header.typ, 'at+jwt');

  const garbage = await cli(['inspect', 'not.a.token']);
  tt.equal(garbage.code, 1);
  tt.match(garbage.stderr, /^tokenmill: invalid token: /);
  tt.equal(garbage.stderr.trim().split('\n').length, 1, 'one line');

  // A token whose signature was made with another key.
  const [h, p] = token.split('.');
  const forged = await cli(['inspect', `${h}.${p}.${Buffer.alloc(64, 1).toString('base64url')}`]);
  tt.equal(forged.code, 1);
  tt.match(forged.stderr, /invalid token: the signature does not verify/);

  const wrongIssuer = await cli(['inspect', token, '--issuer', `http://localhost:${port}`]);
  tt.equal(wrongIssuer.code, 1, 'metadata for another issuer is refused');
  tt.match(wrongIssuer.stderr, /^tokenmill: /);

  const scoped = await cli(['token', '--client-id', clientId, '--client-secret', secret, '--scope', 'api:admin']);
  tt.equal(scoped.code, 1);
  tt.match(scoped.stderr, /^tokenmill: 400 invalid_scope/);
});

t.test('inspect of an expired token shows it and refuses it', async (tt) => {
  const c = JSON.parse((await ok(tt, ['clients', 'create', '--name', 'short-lived', '--ttl', '1', '--json'])).stdout) as { client: { client_id: string }; client_secret: string };
  const token = (await ok(tt, ['token', '--client-id', c.client.client_id, '--client-secret', c.client_secret])).stdout.trim();
  // The token lives 1 s on the server's clock (a separate process): instead of sleeping past it,
  // inspect until it is reported expired, under a generous deadline.
  let r!: Awaited<ReturnType<typeof cli>>; // assigned by the first check, which runs at once
  const expired = await pollUntil(async () => /expired \d+s ago/.test((r = await cli(['inspect', token])).stdout), { timeoutMs: 60_000, intervalMs: 250 });
  tt.ok(expired.ok, `reported expired (after ${expired.elapsed.toFixed(0)} ms)`);
  tt.equal(r.code, 1);
  tt.match(r.stdout, /expired \d+s ago/);
  tt.match(r.stdout, new RegExp(`sub:\\s+${c.client.client_id}`));
  tt.match(r.stderr, /^tokenmill: invalid token: the token expired \d+s ago\n$/);
  await ok(tt, ['clients', 'delete', c.client.client_id, '--yes']);
});

t.test('clients update changes the scope', async (tt) => {
  const r = await ok(tt, ['clients', 'update', clientId, '--scope', 'api:read']);
  tt.match(r.stdout, /scope:\s+api:read\n/);
  const refused = await cli(['token', '--client-id', clientId, '--client-secret', secret, '--scope', 'api:write']);
  tt.equal(refused.code, 1);
  tt.match(refused.stderr, /invalid_scope/);
  const nothing = await cli(['clients', 'update', clientId]);
  tt.equal(nothing.code, 2, 'an update with no change is a usage error');
  tt.match(nothing.stderr, /^tokenmill: nothing to update/);
});

t.test('clients disable refuses tokens, enable allows them again', async (tt) => {
  const d = await ok(tt, ['clients', 'disable', clientId]);
  tt.match(d.stdout, /disabled/);
  const refused = await cli(['token', '--client-id', clientId, '--client-secret', secret]);
  tt.equal(refused.code, 1);
  tt.match(refused.stderr, /^tokenmill: 401 invalid_client/);
  tt.equal(refused.stderr.trim().split('\n').length, 1);
  tt.equal(refused.stdout, '');
  const e = await ok(tt, ['clients', 'enable', clientId, '--json']);
  tt.equal((JSON.parse(e.stdout) as { status: string }).status, 'active');
  await ok(tt, ['token', '--client-id', clientId, '--client-secret', secret]);
});

t.test('secrets rotate with a grace period, then secrets delete', async (tt) => {
  const oldSecretId = (JSON.parse((await ok(tt, ['clients', 'show', clientId, '--json'])).stdout) as { secrets: { secret_id: string }[] }).secrets[0]!.secret_id;
  const r = await ok(tt, ['secrets', 'rotate', clientId, '--grace', '60', '--expires', '30d']);
  const fresh = secretFrom(r.stdout);
  tt.match(fresh, /^tmsec_[0-9A-Za-z]{49}$/);
  tt.not(fresh, secret);
  tt.equal(r.stdout.match(SECRET)?.length, 1, 'the new secret appears once');
  tt.match(r.stdout, WARNING);
  tt.match(r.stdout, /old secrets end at \d{4}-\d{2}-\d{2}T\S+ \(grace 60s\)/);

  await ok(tt, ['token', '--client-id', clientId, '--client-secret', secret]);
  await ok(tt, ['token', '--client-id', clientId, '--client-secret', fresh]);

  const show = await ok(tt, ['clients', 'show', clientId]);
  tt.equal(show.stdout.split('\n').filter((l) => /^\S+\s+tmsec_\S+\s+\d{4}-/.test(l)).length, 2, 'two secrets listed');

  const del = await ok(tt, ['secrets', 'delete', clientId, oldSecretId]);
  tt.match(del.stdout, /deleted secret/);
  const old = await cli(['token', '--client-id', clientId, '--client-secret', secret]);
  tt.equal(old.code, 1, 'the deleted secret no longer works');
  tt.match(old.stderr, /invalid_client/);
  await ok(tt, ['token', '--client-id', clientId, '--client-secret', fresh]);
  secret = fresh;

  const missing = await cli(['secrets', 'delete', clientId, oldSecretId]);
  tt.equal(missing.code, 1);
  tt.match(missing.stderr, /^tokenmill: 404 /);

  const j = JSON.parse((await ok(tt, ['secrets', 'rotate', clientId, '--now', '--json'])).stdout) as { client_secret: string; secret_id: string };
  tt.match(j.client_secret, /^tmsec_/);
  const now = await cli(['token', '--client-id', clientId, '--client-secret', secret]);
  tt.equal(now.code, 1, 'with --now the previous secret ends at once');
  secret = j.client_secret;
});

t.test('keys list and rotate', async (tt) => {
  const r = await ok(tt, ['keys', 'list']);
  const lines = r.stdout.trimEnd().split('\n');
  tt.match(lines[0], /^KID\s+ALG\s+STATE\s+CREATED\s+ACTIVATES\s+RETIRES\s+REMOVE$/);
  tt.ok(
    lines.some((l) => /\sES256\s+active\s/.test(l)),
    'an active ES256 key',
  );
  const before = (JSON.parse((await ok(tt, ['keys', 'list', '--json'])).stdout) as { keys: unknown[] }).keys.length;
  const rot = await ok(tt, ['keys', 'rotate', '--alg', 'ES256', '--activate-in', '3600']);
  tt.match(rot.stdout, /ES256\s+published/);
  const after = (JSON.parse((await ok(tt, ['keys', 'list', '--json'])).stdout) as { keys: { state: string }[] }).keys;
  tt.equal(after.length, before + 1);
  const bad = await cli(['keys', 'rotate', '--alg', 'HS256']);
  tt.equal(bad.code, 2, 'an unknown algorithm is a usage error');
});

t.test('tokens revoke and clients revoke-tokens', async (tt) => {
  const token = (await ok(tt, ['token', '--client-id', clientId, '--client-secret', secret])).stdout.trim();
  const r = await ok(tt, ['tokens', 'revoke', '--token', token]);
  tt.match(r.stdout, /^revoked token \S+/);
  const introspected = await fetch(`${ISSUER}/oauth2/introspect`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  });
  tt.same(await introspected.json(), { active: false }, 'the revoked token is inactive');

  const exp = Math.floor(Date.now() / 1000) + 300;
  const j = JSON.parse((await ok(tt, ['tokens', 'revoke', '--jti', 'some-jti', '--exp', String(exp), '--json'])).stdout) as { jti: string; revoked: boolean };
  tt.same(j, { jti: 'some-jti', exp, revoked: true });
  const neither = await cli(['tokens', 'revoke']);
  tt.equal(neither.code, 2);
  const both = await cli(['tokens', 'revoke', '--token', token, '--jti', 'x', '--exp', '1']);
  tt.equal(both.code, 2);

  const rt = await ok(tt, ['clients', 'revoke-tokens', clientId]);
  tt.match(rt.stdout, /revoked every token of client/);
});

t.test('audit', async (tt) => {
  const r = await ok(tt, ['audit', '--limit', '5']);
  const lines = r.stdout.trimEnd().split('\n');
  tt.match(lines[0], /^AT\s+ACTOR\s+ACTION\s+TARGET\s+OUTCOME\s+STATUS$/);
  tt.equal(lines.length, 6);
  tt.match(r.stderr, /more events: --cursor \d+/);
  const j = JSON.parse((await ok(tt, ['audit', '--json'])).stdout) as { items: { action: string }[] };
  tt.ok(j.items.some((e) => e.action === 'client.create'));
});

t.test('errors: one line, the right exit code, never the admin token', async (tt) => {
  const wrongToken = `wrong-${randomBytes(24).toString('base64url')}`;
  const unauth = await cli(['clients', 'list'], { ...cliEnv, TOKENMILL_ADMIN_TOKEN: wrongToken });
  tt.equal(unauth.code, 1);
  tt.match(unauth.stderr, /^tokenmill: 401 /);
  tt.equal(unauth.stderr.trim().split('\n').length, 1);
  tt.notMatch(unauth.stderr + unauth.stdout, wrongToken);

  const viaFlag = await cli(['--admin-token', ADMIN_TOKEN, 'clients', 'list', '--json'], { ...cliEnv, TOKENMILL_ADMIN_TOKEN: '' });
  tt.equal(viaFlag.code, 0, '--admin-token works');
  const noToken = await cli(['clients', 'list'], { ...inheritedEnv(), XDG_CONFIG_HOME: configHome, TOKENMILL_URL: ADMIN_URL });
  tt.equal(noToken.code, 1);
  tt.match(noToken.stderr, /^tokenmill: no admin token/);

  const missingId = await cli(['clients', 'show']);
  tt.equal(missingId.code, 2, 'a missing argument is a usage error');
  tt.match(missingId.stderr, /^tokenmill: missing required argument/);
  const unknown = await cli(['clients', 'frobnicate']);
  tt.equal(unknown.code, 2);
  const noClientId = await cli(['token', '--client-secret', 'x']);
  tt.equal(noClientId.code, 2);

  const closed = await freePort();
  const down = await cli(['clients', 'list'], { ...cliEnv, TOKENMILL_URL: `http://127.0.0.1:${closed}` });
  tt.equal(down.code, 1);
  tt.match(down.stderr, new RegExp(`^tokenmill: cannot reach http://127\\.0\\.0\\.1:${closed}/admin/v1/clients: `));
  tt.equal(down.stderr.trim().split('\n').length, 1);

  const badUrl = await cli(['clients', 'list', '--url', 'ftp://x']);
  tt.equal(badUrl.code, 1);

  const help = await cli(['--help']);
  tt.equal(help.code, 0);
  tt.match(help.stdout, /clients/);
});

t.test('clients delete needs --yes', async (tt) => {
  const refused = await cli(['clients', 'delete', clientId]);
  tt.equal(refused.code, 1);
  tt.match(refused.stderr, /^tokenmill: refusing to delete client \S+ without --yes\n$/);
  await ok(tt, ['clients', 'show', clientId]);
  const r = await ok(tt, ['clients', 'delete', clientId, '--yes']);
  tt.match(r.stdout, new RegExp(`deleted client ${clientId}`));
  const gone = await cli(['clients', 'show', clientId]);
  tt.equal(gone.code, 1);
  tt.match(gone.stderr, /^tokenmill: 404 not_found: /);
  const tok = await cli(['token', '--client-id', clientId, '--client-secret', secret]);
  tt.equal(tok.code, 1);
  tt.match(tok.stderr, /invalid_client/);
});

t.test('the bin shim explains a missing build', async (tt) => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenmill-bin-'));
  tt.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'bin'));
  copyFileSync(BIN, join(dir, 'bin/tokenmill.js'));
  const r = await cli(['--help'], cliEnv, join(dir, 'bin/tokenmill.js'));
  tt.equal(r.code, 1);
  tt.equal(r.stderr, 'tokenmill: the CLI is not built: run `npm run build` first\n');
});

t.test('serve runs the server and forwards SIGTERM', async (tt) => {
  const { port: p, adminPort: ap } = await serverPorts({});
  const dir = mkdtempSync(join(tmpdir(), 'tokenmill-serve-'));
  tt.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let out = '';
  const child = spawn(process.execPath, [BIN, 'serve', '--port', String(p), '--admin-port', String(ap), '--data-dir', dir, '--admin-token', ADMIN_TOKEN], {
    cwd: ROOT,
    env: { ...inheritedEnv(), LOG_LEVEL: 'warn', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const reap = () => child.kill('SIGTERM');
  process.once('exit', reap);
  tt.teardown(() => void process.off('exit', reap));
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  await waitReady({
    url: `http://127.0.0.1:${p}`,
    name: 'tokenmill serve',
    exitInfo: () => (child.exitCode !== null || child.signalCode !== null ? { code: child.exitCode, signal: child.signalCode } : null),
    lines: () => out.split('\n'),
  });
  const meta = (await (await fetch(`http://127.0.0.1:${p}/.well-known/oauth-authorization-server`)).json()) as { issuer: string };
  tt.equal(meta.issuer, `http://127.0.0.1:${p}`);
  const list = await cli(['clients', 'list', '--json'], { ...cliEnv, TOKENMILL_URL: `http://127.0.0.1:${ap}` });
  tt.equal(list.code, 0, 'the admin listener answers with the --admin-token given to serve');
  if (process.platform === 'linux') {
    // The server process (this child's child) runs with the young generation's cap, as npm start does.
    const servers = childPids(child.pid ?? -1).map(commandLine);
    tt.equal(servers.length, 1, 'serve runs one server process');
    tt.same(servers[0]?.slice(1, 3), [YOUNG_GENERATION_FLAG, join(ROOT, 'dist/src/server.cjs')], 'node --max-semi-space-size=8 dist/src/server.cjs');
  }
  child.kill('SIGTERM');
  const { code } = await exited(child);
  tt.equal(code, 0, 'exits 0 after a graceful shutdown');
  await tt.rejects(fetch(`http://127.0.0.1:${p}/healthz`, { signal: AbortSignal.timeout(2000) }), 'the server is gone');
  transcript.push(out);
});

t.test('no output ever contains the admin token', async (tt) => {
  tt.ok(transcript.length > 50);
  tt.notOk(
    transcript.some((s) => s.includes(ADMIN_TOKEN)),
    'the admin token never printed',
  );
});

t.test('a reader that goes away ends the output quietly (EPIPE, as with `| head`)', async (tt) => {
  const child = spawn(process.execPath, [BIN, '--help'], { cwd: ROOT, env: cliEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.destroy();
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const { code } = await exited(child);
  tt.equal(code, 0, 'exit 0');
  tt.equal(stderr, '', 'no stack trace');
});
