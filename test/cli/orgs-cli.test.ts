// `tokenmill orgs …` and `--org` on clients, end to end: a real server process and bin/tokenmill.js.
import t from 'tap';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, inheritedEnv, serverEnv, serverPorts, spawnServer, waitReady } from '../helpers/server-process.js';

t.setTimeout(240_000);
const BIN = join(ROOT, 'bin/tokenmill.js');
const ADMIN_TOKEN = `cli-admin-${randomBytes(30).toString('base64url')}`;

const { port, adminPort } = await serverPorts({});
const dataDir = mkdtempSync(join(tmpdir(), 'tokenmill-orgs-cli-'));
const ISSUER = `http://127.0.0.1:${port}`;
const ADMIN_URL = `http://127.0.0.1:${adminPort}`;
const server = spawnServer(serverEnv({ LOG_LEVEL: 'warn', PORT: String(port), ADMIN_PORT: String(adminPort), ISSUER, ADMIN_TOKEN, DATA_DIR: dataDir }), {
  reapOnExit: true,
  onStopTimeout: 'throw',
});
t.teardown(async () => {
  const { code } = await server.stop('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
  if (code !== 0) throw new Error(`server exited ${code}`);
});
await waitReady({ url: ISSUER, name: 'the orgs CLI test server', exitInfo: server.exitInfo, lines: server.lines });
const configHome = mkdtempSync(join(tmpdir(), 'tokenmill-orgs-cli-config-'));
t.teardown(() => rmSync(configHome, { recursive: true, force: true }));
const env = { ...inheritedEnv(), XDG_CONFIG_HOME: configHome, TOKENMILL_URL: ADMIN_URL, TOKENMILL_ADMIN_TOKEN: ADMIN_TOKEN, TOKENMILL_ISSUER: ISSUER };

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    execFile(process.execPath, [BIN, ...args], { env, cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      ok({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}
async function json(args: string[]): Promise<any> {
  const r = await cli([...args, '--json']);
  if (r.code !== 0) throw new Error(`tokenmill ${args.join(' ')}: ${r.code} ${r.stderr}`);
  return JSON.parse(r.stdout);
}

t.test('orgs create | list | get | update | disable | enable | iat create | iat revoke | delete, and --org', async (t) => {
  const created = await cli(['orgs', 'create', '--name', 'Acme Corp', '--max-clients', '2']);
  t.equal(created.code, 0, created.stderr);
  const orgId = /(org_[0-9A-Za-z]{22})/.exec(created.stdout)?.[1] ?? '';
  t.ok(orgId, 'prints the org_id');
  t.match(created.stdout, /Acme Corp\s+active\s+2/);
  t.match((await json(['orgs', 'list'])).items, [{ org_id: orgId, name: 'Acme Corp' }]);
  t.match(await json(['orgs', 'update', orgId, '--max-clients', 'unlimited']), { max_clients: null });
  t.match(await json(['orgs', 'update', orgId, '--max-clients', '2']), { max_clients: 2 });
  t.match(await json(['orgs', 'get', orgId]), { org_id: orgId, status: 'active' });

  const client = await json(['clients', 'create', '--name', 'acme-one', '--org', orgId]);
  t.equal(client.client.org_id, orgId);
  const shown = await cli(['clients', 'show', client.client.client_id]);
  t.match(shown.stdout, new RegExp(`org_id:\\s+${orgId}`));
  await json(['clients', 'create', '--name', 'no-org']);
  t.same(
    (await json(['clients', 'list', '--org', orgId])).items.map((c: { client_name: string }) => c.client_name),
    ['acme-one'],
  );

  const iat = await cli(['orgs', 'iat', 'create', orgId, '--expires-in', '1h', '--max-uses', '1']);
  t.equal(iat.code, 0, iat.stderr);
  t.match(iat.stdout, /token:\s+tmiat_[0-9A-Za-z]{49}/);
  t.match(iat.stdout, /cannot be shown again/);
  const iatId = /id:\s+(iat_\S+)/.exec(iat.stdout)?.[1] ?? '';
  t.ok(iatId);
  t.equal((await cli(['orgs', 'iat', 'revoke', orgId, iatId])).code, 0);
  t.equal((await cli(['orgs', 'iat', 'create', orgId, '--expires-in', '31d'])).code, 1, 'past 30 days: refused by the server');

  const second = await json(['clients', 'create', '--name', 'acme-two', '--org', orgId]);
  t.equal(second.client.org_id, orgId);
  const third = await cli(['clients', 'create', '--name', 'acme-three', '--org', orgId]);
  t.equal(third.code, 1);
  t.match(third.stderr, /max_clients: the organization .* limit of 2 clients/);

  t.match(await json(['orgs', 'disable', orgId]), { status: 'disabled' });
  t.match(await json(['orgs', 'enable', orgId]), { status: 'active' });
  t.equal((await cli(['orgs', 'delete', orgId])).code, 1, 'needs --yes');
  t.equal((await cli(['orgs', 'delete', orgId, '--yes'])).code, 0);
  t.equal((await cli(['clients', 'show', client.client.client_id])).code, 1, 'its clients are gone');
});

t.test("orgs create | update --quota-*: the organization's token quota", async (t) => {
  const created = await json(['orgs', 'create', '--name', 'Quota Corp', '--quota-per-hour', '1000', '--quota-enforce', 'false']);
  t.same(created.token_quota, { per_hour: 1000, enforce: false });
  const orgId = String(created.org_id);
  t.same(
    (await json(['orgs', 'update', orgId, '--quota-per-day', '20000', '--quota-enforce', 'true'])).token_quota,
    { per_hour: 1000, per_day: 20000, enforce: true },
    'changes keep the other limits',
  );
  t.same((await json(['orgs', 'update', orgId, '--quota-per-hour', 'none'])).token_quota, { per_day: 20000, enforce: true }, 'none drops one limit');
  t.same((await json(['orgs', 'update', orgId, '--quota-none'])).token_quota, null, '--quota-none drops the quota');
  const both = await cli(['orgs', 'update', orgId, '--quota-none', '--quota-per-day', '5']);
  t.equal(both.code, 2, 'a usage error');
  t.match(both.stderr, /--quota-none cannot be combined/);
  t.same((await json(['orgs', 'get', orgId])).token_quota, null, 'unchanged by the refused call');
  const bad = await cli(['orgs', 'update', orgId, '--quota-per-hour', '0']);
  t.not(bad.code, 0, 'a limit must be a positive integer');
});
