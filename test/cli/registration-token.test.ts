// `tokenmill clients registration-token rotate|revoke ID` against a listening tokenmill (the CLI's
// program run in process, its output captured), and the one-call "credentials leaked" step:
// `tokenmill secrets rotate ID --now` ends the secret and the registration access token.
import t from 'tap';
import { buildProgram } from '../../src/cli/index.js';
import { ADMIN_TOKEN, buildListening, register } from '../helper.js';

t.setTimeout(180_000);

const { b, base } = await buildListening(t);

async function cli(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  const program = buildProgram({ out: (s) => void (out += s), err: (s) => void (err += s), env: { TOKENMILL_URL: base, TOKENMILL_ADMIN_TOKEN: ADMIN_TOKEN } });
  try {
    await program.parseAsync(['node', 'tokenmill', ...args]);
    return { out, err, code: 0 };
  } catch (e) {
    return { out, err: err + String((e as Error).message), code: 1 };
  }
}
const ratGet = (id: string, rat: string) => b.app.inject({ method: 'GET', url: `/oauth2/register/${id}`, headers: { authorization: `Bearer ${rat}` } });

t.test('clients registration-token rotate: the new token shown once, the old one dead; --json is the raw response', async (t) => {
  const c = await register(b.app, { client_name: 'cli-rat' });
  const r = await cli('clients', 'registration-token', 'rotate', c.client_id);
  t.equal(r.code, 0, r.err);
  const rat = /registration_access_token:\s+(\S+)/.exec(r.out)?.[1] ?? '';
  t.match(rat, /^tmrat_[0-9A-Za-z]{49}$/);
  t.match(r.out, new RegExp(`registration_client_uri:\\s+${base}/oauth2/register/${c.client_id}`));
  t.match(r.out, /store this token now: it cannot be shown again/);
  t.equal((await ratGet(c.client_id, c.registration_access_token)).statusCode, 401, 'the old one has ended');
  t.equal((await ratGet(c.client_id, rat)).statusCode, 200, 'the new one works');
  const j = await cli('--json', 'clients', 'registration-token', 'rotate', c.client_id);
  const body = JSON.parse(j.out) as Record<string, string>;
  t.same(Object.keys(body).sort(), ['registration_access_token', 'registration_client_uri']);
  t.equal((await ratGet(c.client_id, rat)).statusCode, 401);
});

t.test('clients registration-token revoke: 204 → a one-line confirmation; the token is dead', async (t) => {
  const c = await register(b.app, { client_name: 'cli-rat-revoke' });
  const r = await cli('clients', 'registration-token', 'revoke', c.client_id);
  t.equal(r.code, 0, r.err);
  t.equal(r.out, `revoked the registration access token of client ${c.client_id}\n`);
  t.equal((await ratGet(c.client_id, c.registration_access_token)).statusCode, 401);
  const unknown = await cli('clients', 'registration-token', 'revoke', 'tmc_doesNotExist000000000');
  t.equal(unknown.code, 1);
  t.match(unknown.err, /404/);
});

t.test('credentials leaked: `secrets rotate ID --now` ends the old secret and the registration access token in one call', async (t) => {
  const c = await register(b.app, { client_name: 'cli-leak' });
  const r = await cli('secrets', 'rotate', c.client_id, '--now');
  t.equal(r.code, 0, r.err);
  t.match(r.out, /previous secrets and the registration access token have ended/);
  t.equal((await ratGet(c.client_id, c.registration_access_token)).statusCode, 401);
});
