// `tokenmill clients update --quota-*`, `tokenmill clients usage` and `tokenmill usage top` against a
// real server process (README "Quotas and rate limits").
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { basicCredentials } from '@tokenmill/verify/protocol';
import { ROOT, inheritedEnv, serverEnv, serverPorts, spawnServer, waitReady } from '../helpers/server-process.js';

t.setTimeout(180_000);
const BIN = join(ROOT, 'bin/tokenmill.js');
const ADMIN_TOKEN = `cli-admin-${randomBytes(30).toString('base64url')}`;

const { port, adminPort } = await serverPorts({});
const dataDir = mkdtempSync(join(tmpdir(), 'tokenmill-quota-cli-'));
const ISSUER = `http://127.0.0.1:${port}`;
const ADMIN_URL = `http://127.0.0.1:${adminPort}`;
const server = spawnServer(serverEnv({ LOG_LEVEL: 'warn', PORT: String(port), ADMIN_PORT: String(adminPort), ISSUER, ADMIN_TOKEN, DATA_DIR: dataDir, TOKEN_QUOTA_DEFAULT: 'per_day=1000' }), {
  reapOnExit: true,
  onStopTimeout: 'throw',
});
t.teardown(async () => {
  await server.stop('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
});
await waitReady({ url: ISSUER, name: 'the quota CLI test server', exitInfo: server.exitInfo, lines: server.lines });
const configHome = mkdtempSync(join(tmpdir(), 'tokenmill-cli-config-'));
t.teardown(() => rmSync(configHome, { recursive: true, force: true }));
const cliEnv = { ...inheritedEnv(), XDG_CONFIG_HOME: configHome, TOKENMILL_URL: ADMIN_URL, TOKENMILL_ADMIN_TOKEN: ADMIN_TOKEN, TOKENMILL_ISSUER: ISSUER };

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    execFile(process.execPath, [BIN, ...args], { env: cliEnv, cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      ok({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}
async function ok(tt: Test, args: string[]): Promise<string> {
  const r = await cli(args);
  tt.equal(r.code, 0, `tokenmill ${args.join(' ')}: exit 0 ${r.stderr.trim()}`);
  return r.stdout;
}

t.test('quota options, usage and top', async (tt) => {
  const created = JSON.parse(await ok(tt, ['clients', 'create', '--name', 'quota-cli', '--json'])) as { client: { client_id: string }; client_secret: string };
  const id = created.client.client_id;
  tt.match(await ok(tt, ['clients', 'show', id]), /token_quota:\s+1000\/day, enforced \(default\)/, 'show: the default, named as such');

  const own = await ok(tt, ['clients', 'update', id, '--quota-per-hour', '2', '--json']);
  tt.same(JSON.parse(own).token_quota, { per_day: 1000, per_hour: 2, enforce: true }, 'starts from the quota in force, with the change');
  const relaxed = JSON.parse(await ok(tt, ['clients', 'update', id, '--quota-per-day', 'none', '--quota-enforce', 'false', '--json'])) as { token_quota: unknown };
  tt.same(relaxed.token_quota, { per_hour: 2, enforce: false }, 'none removes a limit; enforce false');
  tt.match(await ok(tt, ['clients', 'show', id]), /token_quota:\s+2\/hour, counted only \(own\)/);

  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${ISSUER}/oauth2/token`, {
      method: 'POST',
      headers: { authorization: basicCredentials(id, created.client_secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    tt.equal(res.status, 200, 'enforce false: served');
  }
  const usage = await ok(tt, ['clients', 'usage', id]);
  tt.match(usage, /^WINDOW\s+USED\s+LIMIT\s+RESETS\nhour\s+3\s+2\s+\d{4}-\d\d-\d\d \d\d:00\n/, 'the window table');
  tt.match(usage, /HOUR \(UTC\)\s+TOKENS\n\d{4}-\d\d-\d\d \d\d:00\s+3\n/, 'the current hour');
  tt.match(usage, /DAY \(UTC\)\s+TOKENS\n\d{4}-\d\d-\d\d\s+3\n/, 'today');
  const usageJson = JSON.parse(await ok(tt, ['clients', 'usage', id, '--json'])) as { hours: unknown[]; days: unknown[] };
  tt.equal(usageJson.hours.length, 48);
  tt.equal(usageJson.days.length, 30);

  tt.match(await ok(tt, ['usage', 'top', '--limit', '5']), new RegExp(`^CLIENT_ID\\s+NAME\\s+TOKENS\\n${id}\\s+quota-cli\\s+3\\n`));

  const back = JSON.parse(await ok(tt, ['clients', 'update', id, '--quota-default', '--json'])) as { token_quota: unknown; effective_token_quota: unknown };
  tt.same(back.token_quota, null, '--quota-default drops its own');
  tt.same(back.effective_token_quota, { per_day: 1000, enforce: true, source: 'default' });

  const both = await cli(['clients', 'update', id, '--quota-default', '--quota-per-hour', '5']);
  tt.equal(both.code, 2, 'a contradiction is a usage error');
  tt.match(both.stderr, /--quota-default cannot be combined/);
  const zero = await cli(['clients', 'update', id, '--quota-per-hour', '0']);
  tt.equal(zero.code, 2, 'a limit below 1 is a usage error');
});
