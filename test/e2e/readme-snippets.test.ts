// The README's snippets work when pasted, in order, into a fresh shell next to a started server.
// Every fenced ```sh block runs in one bash session (`set -euo pipefail`), every fenced ```js block
// as `node --input-type=module` in the repository (where `tokenmill/verify`, openid-client and
// oauth4webapi resolve); a block whose info string says `no-run` (`npm start` itself, PostgreSQL,
// Redis, Docker, other languages) is not run. The server is started on free ports with a known
// admin token: the README's `127.0.0.1:8080` / `:8081` are rewritten to those ports, and the token
// is typed into the session's stdin, where the README's `read -rs ADMIN` takes it from a person.
import t from 'tap';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './support.js';
import { ROOT } from '../helpers/server-process.js';

t.setTimeout(240_000);

export interface Snippet {
  /** 1-based line of the opening fence */
  line: number;
  lang: string;
  /** the rest of the info string, e.g. `no-run` */
  info: string;
  code: string;
}

/** Fenced code blocks (``` … ```, possibly indented inside a list item) in document order. */
export function fencedBlocks(markdown: string): Snippet[] {
  const out: Snippet[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^( *)```(\S*)\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && lines[j]!.trim() !== '```'; j++) body.push(lines[j]!.startsWith(indent) ? lines[j]!.slice(indent.length) : lines[j]!);
    out.push({ line: i + 1, lang: open[2]!, info: open[3]!.trim(), code: body.join('\n') });
    i = j;
  }
  return out;
}

const runnable = (b: Snippet): boolean => (b.lang === 'sh' || b.lang === 'js') && !/\bno-run\b/.test(b.info);

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const blocks = fencedBlocks(readme);
const toRun = blocks.filter(runnable);

t.test('the README marks every code block it does not run', async (t) => {
  t.ok(toRun.length >= 10, `${toRun.length} runnable blocks`);
  for (const b of blocks) {
    t.ok(b.lang !== '', `line ${b.line}: a fenced block names its language`);
    if (!runnable(b)) t.match(b.info, /\bno-run\b/, `line ${b.line}: a ${b.lang} block that is not run says no-run`);
  }
  // Indented code blocks are not extracted: the runnable walkthrough must not hide in one.
  const gettingStarted = readme.slice(readme.indexOf('## Getting a token'), readme.indexOf('## Configuration'));
  t.notMatch(gettingStarted, /\n\n {4}(curl|node|export|[A-Z_]+=)/, 'no indented (unrun) shell snippets from "Getting a token" to "Standard clients"');
});

t.test('the runnable snippets, in order, against a started server', async (t) => {
  const adminToken = `tmadm_${randomBytes(32).toString('base64url')}`;
  const srv = await startServer(t, { ADMIN_TOKEN: adminToken });
  const work = mkdtempSync(join(tmpdir(), 'tokenmill-readme-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));

  const local = (code: string) => code.replaceAll('127.0.0.1:8080', `127.0.0.1:${srv.port}`).replaceAll('127.0.0.1:8081', `127.0.0.1:${srv.adminPort}`);
  const script = ['set -euo pipefail', `cd ${JSON.stringify(work)}`];
  toRun.forEach((b, i) => {
    script.push(`printf '\\n::block %s::\\n' ${i}`, `printf '\\n::block %s::\\n' ${i} >&2`);
    if (b.lang === 'sh') script.push(local(b.code));
    else script.push(`(cd ${JSON.stringify(ROOT)} && node --input-type=module <<'README_JS_EOF'\n${local(b.code)}\nREADME_JS_EOF\n)`);
  });
  script.push(`printf '\\n::done::\\n'`);
  const scriptFile = join(work, 'readme.sh');
  writeFileSync(scriptFile, script.join('\n') + '\n');

  const child = spawn('bash', [scriptFile], {
    cwd: work,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, LANG: process.env.LANG ?? 'C.UTF-8' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.end(`${adminToken}\n`); // what a person pastes at `read -rs ADMIN`
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));

  const outputs = stdout.split(/\n::block \d+::\n/).slice(1);
  const errors = stderr.split(/\n::block \d+::\n/).slice(1);
  const last = outputs.length - 1;
  const failed = toRun[last];
  t.equal(code, 0, code === 0 ? 'every block exited 0' : `the block at README line ${failed?.line} failed (exit ${code}):\n${failed?.code}\nstdout: ${outputs[last]}\nstderr: ${errors[last]}`);
  t.match(stdout, /::done::/, 'the session reached the end');
  t.equal(outputs.length, toRun.length, 'every block ran');

  /** The output of the (first) block whose code matches `re`. */
  const outputOf = (re: RegExp): string => {
    const i = toRun.findIndex((b) => re.test(b.code));
    t.ok(i >= 0, `a runnable block matches ${re}`);
    return (outputs[i] ?? '').replace(/::done::\n?$/, '');
  };
  const jsonLines = (text: string): any[] =>
    text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
  const JWT = /^ey[\w-]+\.[\w-]+\.[\w-]+$/;

  const reg = jsonLines(outputOf(/"client_name":"billing"/));
  t.equal(reg.length, 1, 'the registration response is printed');
  t.match(reg[0], { client_id: /^tmc_/, client_secret: /^tmsec_/, token_endpoint_auth_method: 'client_secret_basic' });

  const basic = jsonLines(outputOf(/-u "\$ID:\$SECRET" -d grant_type=client_credentials -d scope=invoices:read; echo/));
  t.equal(basic.length, 2, 'client_secret_basic: both requests answered');
  for (const r of basic) t.match(r, { access_token: JWT, token_type: 'Bearer', expires_in: 3600 }, 'client_secret_basic: a token');
  t.equal(basic[0]?.scope, 'invoices:read');

  const post = jsonLines(outputOf(/"token_endpoint_auth_method":"client_secret_post"/));
  t.equal(post.length, 1);
  t.match(post[0], { access_token: JWT, token_type: 'Bearer', scope: 'invoices:read' }, 'client_secret_post: a token');

  t.equal(outputOf(/generateKeyPairSync/).trim(), '', 'key generation and registration print nothing');
  const pk = jsonLines(outputOf(/client_assertion="\$\(assertion\)"/));
  t.equal(pk.length, 1);
  t.match(pk[0], { access_token: JWT, token_type: 'Bearer', scope: 'jobs:run' }, 'private_key_jwt: a token');

  t.match(outputOf(/createVerifier/).trim(), /^tmc_\w+ invoices:read$/, 'tokenmill/verify accepts the token');
  t.match(outputOf(/openid-client/).trim(), /^ey[\w-]+\.[\w-]+\.[\w-]+ 3600$/, 'openid-client obtains a token');
  t.match(outputOf(/oauth4webapi/).trim(), /^tmc_\w+ invoices:read$/, 'oauth4webapi obtains and validates a token');

  const [introspection, feed] = jsonLines(outputOf(/oauth2\/introspect/));
  t.match(introspection, { active: true, client_id: /^tmc_/, scope: 'invoices:read' }, 'introspection: active');
  t.match(feed, { tokens: Array, next_cursor: String }, 'the revocation feed answers');
  t.ok((feed?.tokens as { jti: string }[] | undefined)?.length, 'and lists the token just revoked');
});
