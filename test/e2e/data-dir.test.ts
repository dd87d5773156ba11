// DATA_DIR holds the embedded database, the generated key-encryption key and the admin token hash:
// nothing in it may be readable by other users. Directories 0700, files 0600, after a fresh start
// and after a start on a DATA_DIR whose modes were loosened.
import t from 'tap';
import { chmodSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { basicAuth, fetchJson, registerClient, startServer } from './support.js';

t.setTimeout(240_000);

/** Every path under `dir` whose mode is not 0700 (directory) or 0600 (file), with its mode. */
function looseModes(dir: string): string[] {
  const bad: string[] = [];
  const visit = (p: string) => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    const mode = st.mode & 0o777;
    const want = st.isDirectory() ? 0o700 : 0o600;
    if (mode !== want) bad.push(`${p.slice(dir.length) || '/'} ${mode.toString(8)}`);
    if (st.isDirectory()) for (const e of readdirSync(p)) visit(join(p, e));
  };
  visit(dir);
  return bad;
}

t.test('DATA_DIR is 0700 and every file under it 0600', async (t) => {
  const parent = mkdtempSync(join(tmpdir(), 'tokenmill-datadir-'));
  t.teardown(() => rmSync(parent, { recursive: true, force: true }));
  const dataDir = join(parent, 'data'); // does not exist yet: tokenmill creates it
  // No ADMIN_TOKEN and no KEY_ENCRYPTION_KEY: both are generated into DATA_DIR.
  const s1 = await startServer(t, { DATA_DIR: dataDir, ADMIN_TOKEN: '', KEY_ENCRYPTION_KEY: '' });
  const adminToken = /tmadm_[0-9A-Za-z]{49}/.exec(s1.stdout())?.[0] ?? '';
  t.ok(adminToken, 'an admin token was generated');
  const reg = await registerClient(s1.url, adminToken, { client_name: 'modes', scope: 'api:read', audience: ['https://api.example.com'] });
  const tok = await fetchJson(`${s1.url}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: basicAuth(reg.client_id, reg.client_secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  t.equal(tok.status, 200);
  t.same(looseModes(dataDir), [], 'while running: nothing under DATA_DIR is looser than 0700/0600');
  t.same(await s1.stop('SIGTERM'), { code: 0, signal: null });
  t.equal(lstatSync(dataDir).mode & 0o777, 0o700, 'DATA_DIR itself is 0700');
  for (const f of ['admin-token.sha256', 'key-encryption-key']) t.equal(lstatSync(join(dataDir, f)).mode & 0o777, 0o600, `${f} is 0600`);
  t.same(looseModes(dataDir), [], 'after the stop: every directory 0700, every file 0600');

  // An operator (or an older version) loosened the modes: the next start tightens them and says so.
  chmodSync(dataDir, 0o755);
  chmodSync(join(dataDir, 'key-encryption-key'), 0o644);
  chmodSync(join(dataDir, 'pglite'), 0o755);
  chmodSync(join(dataDir, 'pglite', 'PG_VERSION'), 0o666);
  const s2 = await startServer(t, { DATA_DIR: dataDir, ADMIN_TOKEN: '', KEY_ENCRYPTION_KEY: '' });
  t.same(looseModes(dataDir), [], 'the restart tightened every mode');
  t.ok(
    s2.jsonLines().some((l) => l.level === 40 && /DATA_DIR held files or directories readable by other users/.test(String(l.msg)) && l.paths === 4),
    'and logged a warning naming how many paths it tightened',
  );
  t.same(await s2.stop('SIGTERM'), { code: 0, signal: null });
});
