// The OpenAPI document as tools use it: it validates (an OpenAPI 3 validator), every operation is
// named and described, shared schemas are components, enums are enums, the public endpoints are
// documented at the issuer; a client generated from it (openapi-typescript) type-checks against the
// shapes the CLI sends and reads; and Swagger UI is served from the package, with no CDN.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import openapiTS from 'openapi-typescript';
import { ADMIN_TOKEN, ISSUER, build } from '../helper.js';
import { ROOT } from '../helpers/server-process.js';
import { adminApp } from './support.js';

const b = await build(t);
const api = adminApp(b);
const res = await api.inject({ method: 'GET', url: '/admin/v1/openapi.json', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
const doc = res.json() as {
  openapi: string;
  servers: { url: string }[];
  paths: Record<string, Record<string, unknown> & { servers?: { url: string }[] }>;
  components: { schemas: Record<string, unknown> };
};
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
  Object.entries(item)
    .filter(([m]) => METHODS.includes(m))
    .map(([method, o]) => ({ path, method, o: o as { operationId?: string; summary?: string; description?: string; tags?: string[] } })),
);

t.test('the document validates as OpenAPI 3.1', async (t) => {
  t.equal(res.statusCode, 200);
  t.equal(doc.openapi, '3.1.0');
  // The validator dereferences in place: give it a copy.
  await t.resolves(SwaggerParser.validate(structuredClone(doc) as never), 'swagger-parser: valid');
});

t.test('every operation has an operationId, a summary and a description; operationIds are unique', async (t) => {
  t.ok(operations.length >= 20);
  for (const { path, method, o } of operations) {
    const name = `${method.toUpperCase()} ${path}`;
    t.match(o.operationId, /^[a-z][A-Za-z0-9]+$/, `${name}: operationId`);
    t.ok(o.summary, `${name}: summary`);
    t.ok(o.description, `${name}: description`);
    t.ok(o.tags?.length, `${name}: tagged`);
  }
  const ids = operations.map(({ o }) => o.operationId);
  t.equal(new Set(ids).size, ids.length, 'unique operationIds');
});

t.test('shared schemas are components referenced by $ref; enums are enums', async (t) => {
  for (const name of [
    'ClientView',
    'SecretView',
    'ClientPage',
    'CreatedClient',
    'KeyView',
    'AuditView',
    'AuditPage',
    'AdminError',
    'TokenResponse',
    'OAuthError',
    'RevocationFeed',
    'IntrospectionResponse',
  ])
    t.ok(doc.components.schemas[name], `components.schemas.${name}`);
  const get = doc.paths['/admin/v1/clients/{client_id}']?.get as { responses: Record<string, { content: Record<string, { schema: unknown }> }> };
  t.same(get.responses['200']?.content['application/json']?.schema, { $ref: '#/components/schemas/ClientView' });
  t.same(
    (doc.components.schemas.ClientPage as { properties: { items: unknown } }).properties.items,
    { type: 'array', items: { $ref: '#/components/schemas/ClientView' } },
    'components refer to each other',
  );
  t.same((doc.components.schemas.ClientView as { properties: { status: unknown } }).properties.status, { type: 'string', enum: ['active', 'disabled'] });
  t.same((doc.components.schemas.KeyView as { properties: { state: unknown } }).properties.state, { type: 'string', enum: ['published', 'active', 'retired'] });
  const constUnions: string[] = [];
  const walk = (node: unknown, at: string): void => {
    if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${at}/${i}`));
    if (!node || typeof node !== 'object') return;
    const anyOf = (node as { anyOf?: unknown[] }).anyOf;
    if (Array.isArray(anyOf) && anyOf.length > 1 && anyOf.every((m) => m && typeof m === 'object' && 'const' in m)) constUnions.push(at);
    for (const [k, v] of Object.entries(node)) walk(v, `${at}/${k}`);
  };
  walk(doc, '#');
  t.same(constUnions, [], 'no union of constants left (they are enums)');
});

t.test('servers: the admin listener; the public endpoints are documented at the issuer', async (t) => {
  t.same(
    doc.servers.map((s) => s.url),
    [`http://${b.config.adminHost}:${b.config.adminPort}`],
  );
  for (const [path, method] of [
    ['/oauth2/token', 'post'],
    ['/oauth2/introspect', 'post'],
    ['/oauth2/revoke', 'post'],
    ['/oauth2/revocations', 'get'],
    ['/oauth2/register', 'post'],
    ['/.well-known/jwks.json', 'get'],
    ['/.well-known/oauth-authorization-server', 'get'],
  ] as const) {
    const item = doc.paths[path];
    t.ok(item?.[method], `${method.toUpperCase()} ${path}`);
    t.same(
      item?.servers?.map((s) => s.url),
      [ISSUER],
      `${path} is served at the issuer`,
    );
  }
});

t.test('Swagger UI at /admin/v1/docs/, from the package (no CDN); the document still needs the token', async (t) => {
  const page = await api.inject({ method: 'GET', url: '/admin/v1/docs/' });
  t.equal(page.statusCode, 200, 'the page itself is served without credentials: it holds no data');
  t.match(page.headers['content-type'], /^text\/html/);
  t.match(page.headers['content-security-policy'], /default-src 'none'; script-src 'self'/, 'scripts only from the admin listener');
  t.notMatch(page.body, /(src|href)="(https?:)?\/\//, 'no asset from another origin');
  for (const asset of ['swagger-ui-bundle.js', 'swagger-ui.css', 'docs.js']) {
    t.match(page.body, `./${asset}`, `the page loads ${asset}`);
    const a = await api.inject({ method: 'GET', url: `/admin/v1/docs/${asset}` });
    t.equal(a.statusCode, 200, `${asset} is served`);
    t.match(a.headers['content-type'], asset.endsWith('.css') ? /^text\/css/ : /^application\/javascript/);
    t.ok(a.body.length > (asset === 'docs.js' ? 100 : 10_000), `${asset} has its content`);
  }
  const script = await api.inject({ method: 'GET', url: '/admin/v1/docs/docs.js' });
  t.match(script.body, "fetch('../openapi.json', { headers: { authorization: 'Bearer '", 'the page sends the token it is given');
  t.equal((await api.inject({ method: 'GET', url: '/admin/v1/docs' })).statusCode, 302, '/docs redirects to /docs/');
  t.equal((await api.inject({ method: 'GET', url: '/admin/v1/openapi.json' })).statusCode, 401, 'the document needs the admin token');
});

t.test('a client generated with openapi-typescript type-checks against what the CLI sends and reads', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenmill-openapi-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'schema.ts'), await openapiTS(structuredClone(doc) as never));
  const cli = JSON.stringify(join(ROOT, 'src/cli/api.ts'));
  writeFileSync(
    join(dir, 'check.ts'),
    `import type { paths } from './schema.ts';
import type { AuditView, ClientView, CreatedClient, KeyView, Page, RotatedRegistrationToken, RotatedSecret } from ${cli};

type Json<R> = R extends { content: { 'application/json': infer T } } ? T : never;
type Res<P extends keyof paths, M extends keyof paths[P], S extends number> = paths[P][M] extends { responses: infer Rs } ? (S extends keyof Rs ? Json<Rs[S]> : never) : never;
type Body<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { requestBody?: infer B } ? Json<NonNullable<B>> : never;
type Query<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;
/** What the generated client receives can be used where the CLI reads it. */
const reads = <Generated, Cli>(x: Generated): Cli => x as Generated extends Cli ? Cli : never;
declare const any: never;

// Responses the CLI reads (src/cli/api.ts).
reads<Res<'/admin/v1/clients', 'get', 200>, Page<ClientView>>(any);
reads<Res<'/admin/v1/clients/{client_id}', 'get', 200>, ClientView>(any);
reads<Res<'/admin/v1/clients/{client_id}', 'patch', 200>, ClientView>(any);
reads<Res<'/admin/v1/clients', 'post', 201>, CreatedClient>(any);
reads<Res<'/admin/v1/clients/{client_id}/secrets', 'post', 201>, RotatedSecret>(any);
reads<Res<'/admin/v1/clients/{client_id}/registration-token', 'post', 201>, RotatedRegistrationToken>(any);
reads<Res<'/admin/v1/keys', 'get', 200>, { keys: KeyView[] }>(any);
reads<Res<'/admin/v1/keys/rotate', 'post', 201>, KeyView>(any);
reads<Res<'/admin/v1/audit', 'get', 200>, Page<AuditView>>(any);
reads<Res<'/admin/v1/tokens/revoke', 'post', 200>, { jti: string; exp: number; revoked: boolean }>(any);
reads<Res<'/admin/v1/clients/{client_id}/revoke-tokens', 'post', 200>, { client_id: string; revoked_before: number }>(any);
reads<Res<'/oauth2/token', 'post', 200>, { access_token: string; token_type: 'Bearer'; expires_in: number; scope: string }>(any);

// Requests the CLI sends (src/cli/commands/*).
export const create: Body<'/admin/v1/clients', 'post'> = { client_name: 'billing', scope: 'a b', audience: ['https://api.example'], token_endpoint_auth_method: 'private_key_jwt', access_token_ttl: 600, jwks: { keys: [{ kty: 'EC' }] }, jwks_uri: 'https://x.example/jwks', token_endpoint_auth_signing_alg: 'ES256', access_token_signing_alg: 'ES256', secret_expires_in: '90d' };
export const createSeconds: Body<'/admin/v1/clients', 'post'> = { client_name: 'n', secret_expires_in: 86400 };
export const update: Body<'/admin/v1/clients/{client_id}', 'patch'> = { scope: 'a', access_token_ttl: 900 };
export const disable: Body<'/admin/v1/clients/{client_id}', 'patch'> = { status: 'disabled' };
export const rotate: Body<'/admin/v1/clients/{client_id}/secrets', 'post'> = { previous_secret_ttl: 3600, expires_in: '30d' };
export const rotateKey: Body<'/admin/v1/keys/rotate', 'post'> = { alg: 'ES256', activate_in: 300 };
export const revokeToken: Body<'/admin/v1/tokens/revoke', 'post'> = { token: 'eyJ…' };
export const revokeJti: Body<'/admin/v1/tokens/revoke', 'post'> = { jti: 'j', exp: 1, client_id: 'c' };
export const list: Query<'/admin/v1/clients', 'get'> = { status: 'active', auth_method: 'client_secret_post', name_prefix: 'bill', limit: 500, cursor: 'c' };
export const audit: Query<'/admin/v1/audit', 'get'> = { limit: 5, cursor: '1', actor: 'client:x', action: 'client.create', target: 'x', since: '2026-01-31T12:00:00.000Z' };
// Enums are typed: what the server would refuse does not compile.
// @ts-expect-error HS256 is not an algorithm the server rotates to
export const badAlg: Body<'/admin/v1/keys/rotate', 'post'> = { alg: 'HS256' };
// @ts-expect-error a status is active or disabled
export const badStatus: Body<'/admin/v1/clients/{client_id}', 'patch'> = { status: 'paused' };
`,
  );
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2023', 'DOM'],
        strict: true,
        noEmit: true,
        allowImportingTsExtensions: true,
        skipLibCheck: true,
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules/@types')],
      },
      files: ['check.ts'],
    }),
  );
  const out = await new Promise<{ code: number; text: string }>((ok) => {
    // tap adds its process-info loader to children through NODE_OPTIONS; the compiler runs without it.
    execFile('env', ['-u', 'NODE_OPTIONS', process.execPath, join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { cwd: dir, timeout: 120_000 }, (err, stdout, stderr) =>
      ok({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, text: stdout + stderr }),
    );
  });
  t.equal(out.code, 0, `tsc accepts the generated client with the CLI's shapes${out.text ? `:\n${out.text}` : ''}`);
});
