// The CLI's saved logins (login / logout / profiles and their precedence), shell completion, and the
// "honest" behaviours: --name required, revoked tokens never "valid", the public-listener hint,
// JSON errors, private_key_jwt, audit filters, explicit secret grace. A real server, the real bin.
import t, { type Test } from 'tap';
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { since } from '../../src/cli/duration.js';
import { ROOT, inheritedEnv, serverEnv, serverPorts, spawnServer, waitReady } from '../helpers/server-process.js';

const BIN = join(ROOT, 'bin/tokenmill.js');
const ADMIN_TOKEN = `cli-admin-${randomBytes(30).toString('base64url')}`;
t.setTimeout(300_000);

const { port, adminPort } = await serverPorts({});
const dataDir = mkdtempSync(join(tmpdir(), 'tokenmill-cli-profiles-'));
const ISSUER = `http://127.0.0.1:${port}`;
const ADMIN_URL = `http://127.0.0.1:${adminPort}`;
const server = spawnServer(serverEnv({ LOG_LEVEL: 'warn', PORT: String(port), ADMIN_PORT: String(adminPort), ISSUER, ADMIN_TOKEN, DATA_DIR: dataDir }), { reapOnExit: true, onStopTimeout: 'throw' });
t.teardown(async () => {
  await server.stop('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
});
await waitReady({ url: ISSUER, name: 'the CLI test server', exitInfo: server.exitInfo, lines: server.lines });

const home = mkdtempSync(join(tmpdir(), 'tokenmill-cli-home-'));
t.teardown(() => rmSync(home, { recursive: true, force: true }));
const CONFIG = join(home, 'xdg', 'tokenmill', 'config.json');
/** No TOKENMILL_* at all: only what a profile or a flag gives. */
const bare = { ...inheritedEnv(), HOME: home, XDG_CONFIG_HOME: join(home, 'xdg') };
const full = { ...bare, TOKENMILL_URL: ADMIN_URL, TOKENMILL_ISSUER: ISSUER, TOKENMILL_ADMIN_TOKEN: ADMIN_TOKEN };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
const transcript: string[] = [];
function cli(args: string[], env: Record<string, string> = full, input?: string): Promise<Run> {
  return new Promise((ok) => {
    const child = execFile(process.execPath, [BIN, ...args], { env, cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      transcript.push(stdout, stderr);
      ok({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
    else child.stdin!.end();
  });
}
async function ok(tt: Test, args: string[], env: Record<string, string> = full, input?: string): Promise<Run> {
  const r = await cli(args, env, input);
  tt.equal(r.code, 0, `tokenmill ${args.slice(0, 2).join(' ')} exits 0${r.stderr ? `: ${r.stderr.trim()}` : ''}`);
  return r;
}

t.test('login checks the token, then saves a 0600 profile; profiles never shows a token', async (tt) => {
  const wrong = await cli(['login', '--url', ADMIN_URL, '--token-stdin'], bare, 'not-the-admin-token-at-all\n');
  tt.equal(wrong.code, 1, 'a wrong token is refused');
  tt.match(wrong.stderr, /^tokenmill: 401 /);
  tt.throws(() => statSync(CONFIG), 'nothing saved');

  const r = await ok(tt, ['login', '--url', ADMIN_URL, '--issuer', ISSUER, '--token-stdin'], bare, `${ADMIN_TOKEN}\n`);
  tt.match(r.stdout, `logged in to ${ADMIN_URL} as profile default`);
  tt.equal(statSync(CONFIG).mode & 0o777, 0o600, 'config.json is 0600');
  tt.equal(statSync(join(home, 'xdg', 'tokenmill')).mode & 0o777, 0o700, 'its directory is 0700');
  tt.same(JSON.parse(readFileSync(CONFIG, 'utf8')), { profiles: { default: { url: ADMIN_URL, admin_token: ADMIN_TOKEN, issuer: ISSUER } } });

  const publicUrl = await cli(['login', '--profile', 'ops', '--url', ISSUER, '--admin-token', '-'], bare, ADMIN_TOKEN);
  tt.equal(publicUrl.code, 1, 'login to the public listener fails');
  tt.match(publicUrl.stderr, /; hint: .* is a public listener .*ADMIN_PORT/);
  tt.notOk(JSON.parse(readFileSync(CONFIG, 'utf8')).profiles.ops, 'and saves nothing');
  const list = await ok(tt, ['profiles'], bare);
  tt.match(list.stdout, /^NAME\s+URL\s+ISSUER\s+CURRENT\n/);
  tt.match(list.stdout, new RegExp(`default\\s+${ADMIN_URL.replace(/\./g, '\\.')}\\s+\\S+\\s+yes`));
  tt.notMatch(list.stdout, ADMIN_TOKEN, 'no token in the list');
  const j = JSON.parse((await ok(tt, ['profiles', '--json'], bare)).stdout) as { profiles: { name: string; current: boolean }[] };
  tt.ok(j.profiles.some((p) => p.name === 'default' && p.current));
  tt.notMatch(JSON.stringify(j), ADMIN_TOKEN);
});

t.test('precedence: flags, then the environment, then the profile', async (tt) => {
  const viaProfile = await ok(tt, ['clients', 'list', '--json'], bare);
  tt.same(JSON.parse(viaProfile.stdout).items, [], 'the saved profile is enough');
  const envWins = await cli(['clients', 'list'], { ...bare, TOKENMILL_ADMIN_TOKEN: 'wrong-token-from-the-environment' });
  tt.equal(envWins.code, 1, 'TOKENMILL_ADMIN_TOKEN overrides the profile');
  tt.match(envWins.stderr, /^tokenmill: 401 /);
  const flagWins = await cli(['clients', 'list', '--admin-token', ADMIN_TOKEN], { ...bare, TOKENMILL_ADMIN_TOKEN: 'wrong-token-from-the-environment' });
  tt.equal(flagWins.code, 0, '--admin-token overrides the environment');
  const urlEnv = await cli(['clients', 'list'], { ...bare, TOKENMILL_URL: 'http://127.0.0.1:1' });
  tt.match(urlEnv.stderr, /cannot reach http:\/\/127\.0\.0\.1:1\//, 'TOKENMILL_URL overrides the profile url');
  const missing = await cli(['clients', 'list', '--profile', 'nope'], bare);
  tt.equal(missing.code, 1);
  tt.match(missing.stderr, /^tokenmill: no profile nope in .*: run `tokenmill login --profile nope`/);
  const viaEnv = await cli(['clients', 'list'], { ...bare, TOKENMILL_PROFILE: 'nope' });
  tt.match(viaEnv.stderr, /no profile nope/, 'TOKENMILL_PROFILE chooses the profile');
  tt.notOk(
    transcript.some((s) => s.includes(ADMIN_TOKEN)),
    'the token read from the profile is never printed',
  );
});

t.test('a config file others can read is refused', async (tt) => {
  chmodSync(CONFIG, 0o644);
  const r = await cli(['clients', 'list'], bare);
  tt.equal(r.code, 1);
  tt.match(r.stderr, /holds admin tokens but group or others can access it \(mode 644\): run chmod 600 /);
  chmodSync(CONFIG, 0o600);
});

t.test('logout forgets a profile', async (tt) => {
  await ok(tt, ['login', '--profile', 'spare', '--url', ADMIN_URL, '--token-stdin'], bare, ADMIN_TOKEN);
  tt.ok(JSON.parse(readFileSync(CONFIG, 'utf8')).profiles.spare);
  const r = await ok(tt, ['logout', '--profile', 'spare'], bare);
  tt.match(r.stdout, /removed profile spare/);
  tt.notOk(JSON.parse(readFileSync(CONFIG, 'utf8')).profiles.spare);
  tt.equal((await cli(['logout', '--profile', 'spare'], bare)).code, 1, 'twice: no such profile');
});

t.test('completion scripts come from the command tree', async (tt) => {
  const bash = (await ok(tt, ['completion', 'bash'])).stdout;
  for (const word of ['clients', 'registration-token', 'login', 'profiles', 'completion', '--auth-method', 'client_secret_post', '--since', '--profile'])
    tt.match(bash, word, `bash script knows ${word}`);
  const scriptFile = join(home, 'completion.bash');
  writeFileSync(scriptFile, bash);
  const complete = (words: string[]) => {
    const line = words.map((w) => `'${w}'`).join(' ');
    const r = spawnSync('bash', ['-c', `source ${scriptFile}; COMP_WORDS=(${line}); COMP_CWORD=${words.length - 1}; _tokenmill; echo "\${COMPREPLY[*]}"`], { encoding: 'utf8' });
    return r.stdout.trim().split(/\s+/).filter(Boolean);
  };
  tt.same(complete(['tokenmill', 'cl']), ['clients']);
  tt.same(complete(['tokenmill', '--profile', 'prod', 'clients', 'cr']), ['create'], 'option values are skipped');
  tt.same(complete(['tokenmill', 'clients', 'create', '--auth-method', '']), ['client_secret_basic', 'client_secret_post', 'private_key_jwt'], 'choices');
  tt.same(complete(['tokenmill', 'completion', '']), ['bash', 'zsh', 'fish']);
  tt.ok(complete(['tokenmill', 'audit', '--']).includes('--since'));
  const zsh = (await ok(tt, ['completion', 'zsh'])).stdout;
  tt.match(zsh, /^#compdef tokenmill\n/);
  const fish = (await ok(tt, ['completion', 'fish'])).stdout;
  tt.match(fish, /complete -c tokenmill .* -a 'clients' /);
  // The shells' own syntax checks, where the shells are installed.
  for (const [shell, script, args] of [
    ['zsh', zsh, ['-n']],
    ['fish', fish, ['--no-execute']],
  ] as const) {
    const has = spawnSync(shell, ['-c', 'exit 0']).status === 0;
    if (!has) {
      tt.comment(`${shell} is not installed: its syntax check is skipped`);
      continue;
    }
    const file = join(home, `completion.${shell}`);
    writeFileSync(file, script);
    const r = spawnSync(shell, [...args, file], { encoding: 'utf8' });
    tt.equal(r.status, 0, `${shell} accepts the script${r.stderr ? `: ${r.stderr}` : ''}`);
  }
  tt.equal((await cli(['completion', 'tcsh'])).code, 2);
});

let clientId = '';
let secret = '';
t.test('clients create requires --name', async (tt) => {
  const r = await cli(['clients', 'create', '--scope', 'a']);
  tt.equal(r.code, 2);
  tt.match(r.stderr, /^tokenmill: clients create needs --name <name>\n$/);
  const c = JSON.parse((await ok(tt, ['clients', 'create', '--name', 'honest', '--scope', 'api:read', '--json'])).stdout) as { client: { client_id: string }; client_secret: string };
  clientId = c.client.client_id;
  secret = c.client_secret;
});

t.test('inspect asks the issuer about revocation: a revoked token is never "valid"', async (tt) => {
  const token = (await ok(tt, ['token', '--client-id', clientId, '--client-secret', secret])).stdout.trim();
  const fine = await ok(tt, ['inspect', token]);
  tt.match(fine.stdout, /valid: signature verified against \S+; not revoked \(introspection\); expires in \d+s/);
  const unchecked = await ok(tt, ['inspect', token], { ...bare, XDG_CONFIG_HOME: join(home, 'empty'), TOKENMILL_ISSUER: ISSUER });
  tt.notMatch(unchecked.stdout, /valid/, 'without an admin token it does not claim "valid"');
  tt.match(unchecked.stdout, /revocation not checked: no admin token/);
  const uj = JSON.parse((await ok(tt, ['inspect', token, '--json'], { ...bare, XDG_CONFIG_HOME: join(home, 'empty'), TOKENMILL_ISSUER: ISSUER })).stdout) as {
    valid: unknown;
    revocation_checked: boolean;
  };
  tt.equal(uj.valid, null);
  tt.equal(uj.revocation_checked, false);

  await ok(tt, ['tokens', 'revoke', '--token', token]);
  const revoked = await cli(['inspect', token]);
  tt.equal(revoked.code, 1);
  tt.notMatch(revoked.stdout, /valid/);
  tt.match(revoked.stderr, /^tokenmill: invalid token: the issuer says it is not active \(revoked/);
  const rj = await cli(['inspect', token, '--json']);
  tt.equal(rj.code, 1);
  tt.equal(rj.stdout, '', '--json: nothing on stdout');
  tt.match(JSON.parse(rj.stderr), { error: 'invalid_token', error_description: /not active/ });
  // The profile saved an issuer: inspect uses it when neither flag nor variable gives one.
  const fromProfile = await cli(['inspect', token], bare);
  tt.match(fromProfile.stderr, /not active/, "the profile's issuer and token are used");
});

t.test('the public listener given as the admin URL gets a hint', async (tt) => {
  const r = await cli(['clients', 'list', '--url', ISSUER]);
  tt.equal(r.code, 1);
  tt.match(r.stderr, /^tokenmill: 404 not_found.*; hint: http:\/\/127\.0\.0\.1:\d+ is a public listener .* ADMIN_PORT/);
  tt.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  const real404 = await cli(['clients', 'show', 'no-such-client']);
  tt.notMatch(real404.stderr, /hint/, 'a 404 from the admin API itself has no hint');
  const j = await cli(['clients', 'list', '--url', ISSUER, '--json']);
  tt.match(JSON.parse(j.stderr), { error: 'not_found', status: 404, hint: /ADMIN_PORT/ });
});

t.test('--json errors are JSON (on stderr), with the same exit codes', async (tt) => {
  const usage = await cli(['clients', 'show', '--json']);
  tt.equal(usage.code, 2);
  tt.same(JSON.parse(usage.stderr), { error: 'usage_error', error_description: "missing required argument 'client_id'" });
  const notFound = await cli(['clients', 'show', 'nope', '--json']);
  tt.equal(notFound.code, 1);
  tt.same(JSON.parse(notFound.stderr), { error: 'not_found', error_description: 'client_id: no such client', status: 404 });
  const down = await cli(['clients', 'list', '--json', '--url', 'http://127.0.0.1:1']);
  tt.match(JSON.parse(down.stderr), { error: 'unreachable' });
  tt.equal(down.stdout, '');
});

t.test('token --key: private_key_jwt; its last use is recorded', async (tt) => {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const pub = { ...(await exportJWK(publicKey)), kid: 'cli-key', alg: 'ES256', use: 'sig' };
  const priv = { ...(await exportJWK(privateKey)), kid: 'cli-key', alg: 'ES256' };
  writeFileSync(join(home, 'pub.jwk'), JSON.stringify(pub));
  writeFileSync(join(home, 'priv.jwk'), JSON.stringify(priv));
  const c = JSON.parse((await ok(tt, ['clients', 'create', '--name', 'jwt', '--auth-method', 'private_key_jwt', '--jwks-file', join(home, 'pub.jwk'), '--json'])).stdout) as {
    client: { client_id: string };
  };
  const id = c.client.client_id;
  const token = (await ok(tt, ['token', '--client-id', id, '--key', join(home, 'priv.jwk')])).stdout.trim();
  tt.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  const pubOnly = await cli(['token', '--client-id', id, '--key', join(home, 'pub.jwk')]);
  tt.equal(pubOnly.code, 1);
  tt.match(pubOnly.stderr, /is a public key/);
  tt.equal((await cli(['token', '--client-id', id, '--key', join(home, 'priv.jwk'), '--client-secret', 'x'])).code, 2);
  // last_used_at is flushed in batches (every few seconds).
  let lastUsed: string | null = null;
  for (let i = 0; i < 30 && lastUsed === null; i++) {
    lastUsed = (JSON.parse((await ok(tt, ['clients', 'show', id, '--json'])).stdout) as { last_used_at: string | null }).last_used_at;
    if (lastUsed === null) await new Promise((r) => setTimeout(r, 1000));
  }
  tt.ok(lastUsed, 'last_used_at is set for a private_key_jwt client');
});

t.test('audit filters', async (tt) => {
  tt.equal(since('1h', Date.parse('2026-01-01T12:00:00Z')), '2026-01-01T11:00:00.000Z');
  tt.equal(since('30m', Date.parse('2026-01-01T12:00:00Z')), '2026-01-01T11:30:00.000Z');
  tt.equal(since('2026-01-01T10:00:00+02:00'), '2026-01-01T08:00:00.000Z');
  const r = JSON.parse((await ok(tt, ['audit', '--action', 'client.create', '--since', '1h', '--json'])).stdout) as { items: { action: string; target: string }[] };
  tt.ok(r.items.length >= 2 && r.items.every((e) => e.action === 'client.create'));
  const target = JSON.parse((await ok(tt, ['audit', '--target', clientId, '--action', 'client.create', '--json'])).stdout) as { items: { target: string }[] };
  tt.same(
    target.items.map((e) => e.target),
    [clientId],
  );
  const none = await ok(tt, ['audit', '--actor', 'client:nobody']);
  tt.match(none.stdout, /^no events/);
  tt.equal((await cli(['audit', '--since', 'last tuesday'])).code, 2, 'a bad --since is a usage error');
});

t.test('secrets rotate says what happens to the old secrets', async (tt) => {
  const neither = await cli(['secrets', 'rotate', clientId]);
  tt.equal(neither.code, 2);
  tt.match(neither.stderr, /--grace <duration> .* or --now/);
  tt.equal((await cli(['secrets', 'rotate', clientId, '--grace', '1h', '--now'])).code, 2);
  const grace = await ok(tt, ['secrets', 'rotate', clientId, '--grace', '90m']);
  tt.match(grace.stdout, /old secrets end at \d{4}-\d{2}-\d{2}T\S+Z \(grace 5400s\)/);
  await ok(tt, ['token', '--client-id', clientId, '--client-secret', secret]);
  const now = JSON.parse((await ok(tt, ['secrets', 'rotate', clientId, '--now', '--json'])).stdout) as { previous_secrets_end_at: string; client_secret: string };
  tt.ok(Math.abs(Date.parse(now.previous_secrets_end_at) - Date.now()) < 60_000);
  tt.equal((await cli(['token', '--client-id', clientId, '--client-secret', secret])).code, 1, '--now: the old secret has ended');
});

t.test('no output ever contains the admin token', async (tt) => {
  tt.notOk(transcript.some((s) => s.includes(ADMIN_TOKEN)));
});
