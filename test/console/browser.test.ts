// The web console end to end in Debian's Chromium (`/usr/bin/chromium`), driven by playwright-core against
// a real `node dist/src/server.cjs` (docs/contract.md "Console"): sign in (keyboard only), create one
// client per authentication method, copy the secret shown once and get a token with it, rotate with a
// grace period, disable (the token endpoint then refuses), rotate a signing key, find each action in the
// audit page, sign out (the session is dead). axe-core runs on every page in the same run and must find
// no serious or critical violation; no CSP violation may be reported. Screenshots go to docs/console/.
// Without the browser the suite says what it skipped; with CI=true that is a failure.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ADMIN_TOKEN, basic, form } from '../helper.js';
import { clientKey, assertion } from '../fixtures/assertion.js';
import { startServer } from '../e2e/support.js';

const CHROMIUM = '/usr/bin/chromium';
const require = createRequire(import.meta.url);

if (!existsSync(CHROMIUM)) {
  const what = `no browser at ${CHROMIUM} (apt-get install -y chromium): skipped the console journeys (sign-in, three clients, rotate, disable, key rotation, audit, sign-out) and the axe-core scans`;
  if (process.env.CI === 'true') t.fail(what);
  else t.plan(0, what);
} else {
  t.test('console journeys in Chromium, with axe-core on every page', (t) => journey(t));
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

async function journey(t: Test): Promise<void> {
  t.setTimeout(600_000);
  const { chromium } = await import('playwright-core');
  const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  const server = await startServer(t, { ADMIN_TOKEN, NODE_ENV: 'development', LOG_LEVEL: 'warn' });
  const base = server.adminUrl;
  const userDataDir = mkdtempSync(join(tmpdir(), 'tokenmill-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    colorScheme: 'light',
  });
  t.teardown(async () => {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  const cspViolations: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
  });
  page.on('request', (r) => requests.push(r.url()));
  page.on('dialog', (d) => void d.accept());

  const axeResults: { name: string; violations: number; serious: AxeViolation[] }[] = [];
  const scan = async (name: string) => {
    await page.evaluate(axeSource);
    // Browser-side code as strings: this package compiles without the DOM library.
    const violations = (await page.evaluate("axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)")) as AxeViolation[];
    const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    axeResults.push({ name, violations: violations.length, serious });
    t.comment(
      `axe ${name} (${page.url().replace(base, '')}): ${violations.length} violation(s), ${serious.length} serious/critical${violations.length ? `: ${violations.map((v) => `${v.id}[${v.impact}]`).join(', ')}` : ''}`,
    );
    t.same(
      serious.map((v) => `${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
      [],
      `axe: no serious or critical violation on ${name}`,
    );
  };
  mkdirSync('docs/console', { recursive: true });
  const shot = (name: string) => page.screenshot({ path: `docs/console/${name}.png`, fullPage: true });
  const text = (selector: string) => page.locator(selector).first().innerText();
  const token = async (headers: Record<string, string>, params: Record<string, string>) => {
    const res = await fetch(`${server.url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: form({ grant_type: 'client_credentials', ...params }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  // Sign in, with the keyboard only.
  await page.goto(`${base}/`);
  t.equal(new URL(page.url()).pathname, '/console/sign-in', '/ → /console/ → the sign-in page');
  await scan('sign-in');
  await page.keyboard.press('Tab');
  t.equal(await page.evaluate("document.activeElement?.getAttribute('name')"), 'admin_token', 'the first Tab reaches the admin token field');
  await page.keyboard.type(ADMIN_TOKEN);
  await Promise.all([page.waitForURL(`${base}/console/`), page.keyboard.press('Enter')]);
  t.equal(await text('h1'), 'Overview');
  const stored = String(await page.evaluate('JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie, url: location.href })'));
  t.notMatch(stored, ADMIN_TOKEN, 'the admin token is in no browser storage, cookie or URL');
  t.equal((JSON.parse(stored) as { cookie: string }).cookie, '', 'the session cookie is HttpOnly: invisible to scripts');
  const [cookie] = await context.cookies(`${base}/console/`);
  t.match(cookie, { name: 'tm_console', httpOnly: true, sameSite: 'Strict', path: '/console' });
  await scan('overview');

  // One client per authentication method.
  const created: Record<string, { id: string; secret?: string }> = {};
  for (const method of ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const) {
    await page.goto(`${base}/console/clients/new`);
    if (method === 'client_secret_basic') {
      await scan('new-client');
      await shot('new-client');
    }
    await page.getByLabel('Name', { exact: true }).fill(`svc-${method}`);
    await page.locator(`#m-${method}`).check();
    await page.getByLabel('Scopes').fill('api:read');
    await page.getByLabel('Audiences').fill('https://api.example.com');
    if (method === 'private_key_jwt') {
      t.equal(await page.locator('#f-secret_expires_in').isVisible(), false, 'the secret expiry is hidden for private_key_jwt');
      const area = page.getByLabel('Public key: JWK or JWKS (JSON)');
      await area.fill('{"kty": "EC"');
      t.equal(await page.locator('#f-jwks-live').innerText(), 'Not valid JSON yet.', 'the JWK box is checked in place');
      const key = await clientKey('ES256');
      await area.fill(JSON.stringify(key.publicJwk));
      t.equal(await page.locator('#f-jwks-live').innerText(), 'Looks like a valid key.');
      await Promise.all([page.waitForURL(/\/console\/clients\/tmc_[A-Za-z0-9]+\?notice=created$/), page.getByRole('button', { name: 'Create client' }).click()]);
      const id = new URL(page.url()).pathname.split('/').pop() ?? '';
      created[method] = { id };
      const iat = Math.floor(Date.now() / 1000);
      const got = await token({}, { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: await assertion(key, id, server.issuer, iat) });
      t.equal(got.status, 200, 'private_key_jwt: a token with the key pasted in the console');
      continue;
    }
    await page.getByLabel('Secret expires after').selectOption('30d');
    await page.getByRole('button', { name: 'Create client' }).click();
    await page.waitForSelector('dialog.show-once');
    if (method === 'client_secret_basic') await scan('show-once secret');
    t.match(page.url(), /\/console\/clients$/, 'the secret is in the POST response; no redirect carries it');
    await page.getByRole('button', { name: 'Copy' }).click();
    // A locator wait, not a string predicate: Playwright polls a string with eval, which the
    // console's CSP (no 'unsafe-eval') refuses whenever the text is not there at the first check.
    await page.locator('#copy-status', { hasText: /^Copied/ }).waitFor();
    const secret = String(await page.evaluate('navigator.clipboard.readText()'));
    t.match(secret, /^tmsec_/, 'the copy button put the secret on the clipboard');
    const id = (await page.locator('dialog code').first().innerText()).trim();
    created[method] = { id, secret };
    const headers: Record<string, string> = method === 'client_secret_basic' ? { authorization: basic(id, secret) } : {};
    const params: Record<string, string> = method === 'client_secret_post' ? { client_id: id, client_secret: secret } : {};
    t.equal((await token(headers, params)).status, 200, `${method}: a token with the copied secret`);
    await page.getByLabel('I have stored it').check();
    await Promise.all([page.waitForURL(new RegExp(`/console/clients/${id}`)), page.getByRole('button', { name: 'Done' }).click()]);
  }

  // The client page; rotate with a grace period of 1 hour: old and new secret both work.
  const basicClient = created.client_secret_basic ?? { id: '', secret: '' };
  await page.goto(`${base}/console/clients/${basicClient.id}`);
  await scan('client');
  await shot('client');
  await page.getByLabel('Grace period for the current secrets').selectOption('3600');
  await page.getByRole('button', { name: 'Rotate secret' }).click();
  await page.waitForSelector('dialog.show-once');
  const rotated = await page.locator('#once-value').inputValue();
  t.match(await text('#once-intro'), 'The previous secrets keep working for 3600 seconds.');
  t.equal((await token({ authorization: basic(basicClient.id, rotated) }, {})).status, 200, 'the new secret works');
  t.equal((await token({ authorization: basic(basicClient.id, basicClient.secret ?? '') }, {})).status, 200, 'the old one too, during the grace period');
  await page.getByLabel('I have stored it').check();
  await page.getByRole('button', { name: 'Done' }).click();
  await page.waitForSelector('h2#h-secrets');
  t.equal(await page.locator('#h-secrets + .table-wrap tbody tr').count(), 2, 'two secrets listed by prefix');

  // Disable: the token endpoint refuses the client.
  await Promise.all([page.waitForURL(/notice=disabled$/), page.getByRole('button', { name: 'Disable client' }).click()]);
  t.match(await text('p.notice'), 'Client disabled');
  const refused = await token({ authorization: basic(basicClient.id, rotated) }, {});
  t.equal(refused.status, 401, 'disabled: the token endpoint refuses it');
  t.equal(refused.body.error, 'invalid_client');

  // The clients list, narrow and dark.
  await page.goto(`${base}/console/clients?q=svc-`);
  t.equal(await page.locator('tbody tr').count(), 3, 'the name search finds the three clients');
  t.match(await text('tbody'), 'disabled');
  await scan('clients');
  await page.setViewportSize({ width: 390, height: 844 });
  for (const url of ['/console/', `/console/clients/${basicClient.id}`, '/console/clients/new', '/console/clients']) {
    await page.goto(`${base}${url}`);
    const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    t.equal(overflow, 0, `390 px: ${url} has no horizontal scrolling`);
  }
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto(`${base}/console/clients/${basicClient.id}`);
  await scan('client (390 px, dark)');
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.emulateMedia({ colorScheme: 'light' });

  // Rotate a signing key now.
  await page.goto(`${base}/console/keys`);
  await scan('keys');
  const keysBefore = await page.locator('ol.timeline > li').count();
  await page.getByLabel('Start signing after').selectOption('0');
  await Promise.all([page.waitForURL(/notice=key-rotated$/), page.getByRole('button', { name: 'Rotate signing key' }).click()]);
  t.equal(await page.locator('ol.timeline > li').count(), keysBefore + 1, 'a new key in the timeline');

  // Every action in the audit log, under the admin token's actor.
  await page.goto(`${base}/console/audit`);
  await scan('audit');
  for (const [action, count] of [
    ['console.sign_in', 1],
    ['client.create', 3],
    ['secret.rotate', 1],
    ['client.update', 1],
    ['key.rotate', 1],
  ] as const) {
    await page.getByLabel('Action').fill(action);
    await Promise.all([page.waitForURL(/\/console\/audit\?/), page.getByRole('button', { name: 'Filter' }).click()]);
    const rows = page.locator('tbody tr');
    t.equal(await rows.count(), count, `audit: ${count} × ${action}`);
    t.match(await rows.first().innerText(), /admin-token:[0-9a-f]{8}/, `audit: ${action} by the admin token's actor`);
  }

  // The overview after all of this (its screenshot for the README).
  await page.goto(`${base}/console/`);
  t.match(await text('.cards'), /Active\s+2\s+Disabled\s+1/, 'the overview counts clients by status');
  await shot('overview');

  // Sign out: the session is dead on the server, not only in this browser.
  t.ok(cookie?.value, 'the session cookie seen before signing out');
  await Promise.all([page.waitForURL(/\/console\/sign-in\?notice=signed-out$/), page.getByRole('button', { name: 'Sign out' }).click()]);
  const replay = await fetch(`${base}/console/`, { headers: { cookie: `tm_console=${cookie?.value ?? ''}` }, redirect: 'manual' });
  t.equal(replay.status, 303, 'the old session cookie no longer works');
  t.equal(replay.headers.get('location'), '/console/sign-in?notice=expired');

  t.same(cspViolations, [], 'no Content-Security-Policy violation on any page');
  t.same(
    requests.filter((u) => !u.startsWith(base)),
    [],
    'every request went to the admin listener (no CDN)',
  );
  t.comment(`axe summary: ${axeResults.map((r) => `${r.name}: ${r.violations} (${r.serious.length} serious/critical)`).join('; ')}`);
}
