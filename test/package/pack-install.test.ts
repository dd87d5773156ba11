// The two packages install and work outside the repository: `npm pack` both, install the tarballs
// into an empty project in the system temp folder (no path back to this checkout), then a token
// round trip through the installed CLI (`tokenmill serve`, `clients create`, `token`) and the
// installed verifier (`@tokenmill/verify`, and its re-export `tokenmill/verify`), plus the
// verifier's types under moduleResolution node16 and bundler.
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, freePort, inheritedEnv } from '../helpers/server-process.js';
import { eventually } from '../helpers/time.js';

const run = promisify(execFile);
// npm install from the registry (cache first) dominates: give the file room.
t.setTimeout(15 * 60_000);

const dir = mkdtempSync(join(tmpdir(), 'tokenmill-pack-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const app = join(dir, 'app');
const env = { ...inheritedEnv(), npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };

async function cli(args: string[], extra: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  return run(join(app, 'node_modules/.bin/tokenmill'), args, { cwd: app, env: { ...env, ...extra }, timeout: 60_000 });
}

t.test('npm pack: both tarballs, built output only', async (t) => {
  // --ignore-scripts: dist/ is already built by `npm test` (prepack would rebuild it under the running suite).
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, env, timeout: 120_000 });
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir, '--workspace', '@tokenmill/verify'], { cwd: ROOT, env, timeout: 120_000 });
  const tarballs = readdirSync(dir)
    .filter((f) => f.endsWith('.tgz'))
    .sort();
  t.same(tarballs, ['tokenmill-0.1.0.tgz', 'tokenmill-verify-0.1.0.tgz']);
  const { stdout: listing } = await run('tar', ['-tzf', join(dir, 'tokenmill-0.1.0.tgz')], { env });
  const files = listing.split('\n').filter(Boolean);
  for (const f of [
    'package/LICENSE',
    'package/README.md',
    'package/bin/tokenmill.js',
    'package/dist/src/server.cjs',
    'package/dist/src/cli/index.js',
    'package/dist/src/verify/index.d.ts',
    'package/dist/src/console/assets/console.css',
    'package/dist/src/console/assets/console.js',
  ])
    t.ok(files.includes(f), `tokenmill tarball holds ${f}`);
  t.notOk(
    files.some((f) => f.startsWith('package/dist/test/') || f.startsWith('package/src/') || f.startsWith('package/test/')),
    'no tests or sources in the tarball',
  );
  t.ok(
    files.some((f) => f.startsWith('package/node_modules/@tokenmill/verify/dist/')),
    'the verifier is bundled, so the server installs from its tarball alone',
  );
  const { stdout: vlisting } = await run('tar', ['-tzf', join(dir, 'tokenmill-verify-0.1.0.tgz')], { env });
  const vfiles = vlisting.split('\n').filter(Boolean);
  for (const f of ['package/LICENSE', 'package/README.md', 'package/package.json', 'package/dist/index.js', 'package/dist/index.d.ts']) t.ok(vfiles.includes(f), `verifier tarball holds ${f}`);
  t.notOk(
    vfiles.some((f) => f.startsWith('package/src/')),
    'no sources in the verifier tarball',
  );
});

t.test('npm i of the tarballs into an empty project', async (t) => {
  rmSync(app, { recursive: true, force: true });
  await run('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'pack-check', version: '1.0.0', private: true, type: 'module' }));
  await run('npm', ['install', '--prefer-offline', '--no-package-lock', join(dir, 'tokenmill-0.1.0.tgz'), join(dir, 'tokenmill-verify-0.1.0.tgz')], { cwd: app, env, timeout: 12 * 60_000 });
  const { stdout } = await run('npm', ['ls', '--omit=dev', '--depth=0', '--json', '@tokenmill/verify'], { cwd: app, env }).catch((e: { stdout: string }) => e);
  t.match(JSON.parse(stdout), { dependencies: { '@tokenmill/verify': { version: '0.1.0' } } });
  const { stdout: deps } = await run(process.execPath, ['-e', 'console.log(JSON.stringify(Object.keys(require("@tokenmill/verify/package.json").dependencies)))'], { cwd: app, env });
  t.same(JSON.parse(deps), ['jose'], 'the verifier depends on jose only');
});

t.test('installed CLI: --help, serve, clients create, token; installed verifier checks the token', async (t) => {
  const help = await cli(['--help']);
  t.match(help.stdout, /Usage: tokenmill/);
  t.match(help.stdout, /serve/);

  const port = await freePort();
  let adminPort = await freePort();
  while (adminPort === port) adminPort = await freePort();
  const adminToken = randomBytes(32).toString('base64url');
  const server = spawn(join(app, 'node_modules/.bin/tokenmill'), ['serve', '--port', String(port), '--admin-port', String(adminPort), '--data-dir', join(dir, 'data')], {
    cwd: app,
    env: { ...env, ADMIN_TOKEN: adminToken, NODE_ENV: 'development', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  server.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((r) => server.once('exit', (code) => r(code)));
  t.teardown(async () => {
    if (server.exitCode === null) server.kill('SIGTERM');
    await exited;
  });
  const issuer = `http://127.0.0.1:${port}`;
  const ready = await eventually(async () => (await fetch(`${issuer}/readyz`).catch(() => null))?.status === 200, 120_000);
  t.ok(ready, `the installed server became ready${stderr ? `: ${stderr}` : ''}`);
  // The web console ships in the package: its sign-in page and assets are served by the installed server.
  const signIn = await fetch(`http://127.0.0.1:${adminPort}/console/sign-in`);
  t.equal(signIn.status, 200, 'the installed package serves the console');
  t.equal((await fetch(`http://127.0.0.1:${adminPort}/console/assets/console.css`)).status, 200, 'with its stylesheet');
  t.equal((await fetch(`http://127.0.0.1:${adminPort}/console/assets/console.js`)).status, 200, 'and its script');

  const adminEnv = { TOKENMILL_URL: `http://127.0.0.1:${adminPort}`, TOKENMILL_ISSUER: issuer, TOKENMILL_ADMIN_TOKEN: adminToken };
  const created = JSON.parse((await cli(['clients', 'create', '--name', 'pack-check', '--scope', 'invoices:read', '--audience', 'https://api.example.com', '--json'], adminEnv)).stdout) as {
    client: { client_id: string };
    client_secret: string;
  };
  t.match(created.client.client_id, /^tmc_/);
  t.match(created.client_secret, /^tmsec_/);
  const token = (await cli(['token', '--client-id', created.client.client_id], { ...adminEnv, TOKENMILL_CLIENT_SECRET: created.client_secret })).stdout.trim();
  t.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'a compact JWS');

  writeFileSync(
    join(app, 'verify.mjs'),
    `import { createVerifier } from '@tokenmill/verify';
import * as compat from 'tokenmill/verify';
const v = createVerifier({ issuer: process.argv[2], audience: 'https://api.example.com' });
const claims = await v.verify(process.argv[3], { scope: 'invoices:read' });
let refused = null;
try { await v.verify(process.argv[3] + 'x'); } catch (err) { refused = { status: err.status, code: err.code, name: err.name }; }
await v.close();
console.log(JSON.stringify({ claims, refused, compat: [typeof compat.createVerifier, typeof compat.VerifyError] }));
`,
  );
  const { stdout } = await run(process.execPath, ['verify.mjs', issuer, token], { cwd: app, env, timeout: 60_000 });
  const out = JSON.parse(stdout) as { claims: Record<string, unknown>; refused: unknown; compat: string[] };
  t.match(out.claims, { iss: issuer, sub: created.client.client_id, client_id: created.client.client_id, aud: 'https://api.example.com', scope: 'invoices:read' });
  t.same(out.refused, { status: 401, code: 'invalid_token', name: 'VerifyError' }, 'a tampered token is refused');
  t.same(out.compat, ['function', 'function'], 'tokenmill/verify re-exports the verifier');

  server.kill('SIGTERM');
  t.equal(await exited, 0, 'the installed server stops cleanly on SIGTERM');
});

t.test('types resolve under moduleResolution node16 and bundler', async (t) => {
  writeFileSync(
    join(app, 'check.ts'),
    `import { createVerifier, VerifyError, type AccessTokenClaims, type Verifier } from '@tokenmill/verify';
import { createVerifier as compatCreate } from 'tokenmill/verify';
const v: Verifier = createVerifier({ issuer: 'https://as.example', audience: 'https://api.example' });
export async function check(token: string): Promise<string> {
  try {
    const claims: AccessTokenClaims = await v.verify(token, { scope: ['a', 'b'] });
    return claims.client_id;
  } catch (err) {
    if (err instanceof VerifyError) return String(err.status);
    throw err;
  }
}
export const same: typeof createVerifier = compatCreate;
// @ts-expect-error: issuer is required
createVerifier({ audience: 'x' });
`,
  );
  // Run as its own executable (shebang): tap's process-info hook wraps children started with process.execPath.
  // TypeScript 7's compiler binary itself: tap's process-info hook wraps every Node child (and
  // require()s typescript's ESM launcher, which then fails), so no Node process stands in between.
  const tsc = join(ROOT, 'node_modules', `@typescript/typescript-${process.platform}-${process.arch}`, 'lib', 'tsc');
  for (const [module, resolution] of [
    ['node16', 'node16'],
    ['esnext', 'bundler'],
  ] as const) {
    const config = `tsconfig.${resolution}.json`;
    writeFileSync(
      join(app, config),
      JSON.stringify({ compilerOptions: { module, moduleResolution: resolution, target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ['check.ts'] }),
    );
    const result = await run(tsc, ['-p', config], { cwd: app, env, timeout: 120_000 }).then(
      () => ({ code: 0, out: '' }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );
    t.same(result, { code: 0, out: '' }, `tsc with moduleResolution ${resolution}`);
  }
});
