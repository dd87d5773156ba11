// GET /admin/v1/openapi.json: an OpenAPI 3 document listing every call of the contract "Admin" table, with
// request and response schemas that match what the API really sends.
import t from 'tap';
import { ADMIN_TOKEN, build } from '../helper.js';
import { admin, adminApp } from './support.js';

const b = await build(t);
const api = adminApp(b);

interface Schema {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  anyOf?: Schema[];
  items?: Schema;
  nullable?: boolean;
  enum?: unknown[];
}
interface Operation {
  tags?: string[];
  parameters?: { in: string; name: string; required?: boolean; schema?: Schema }[];
  requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, { description?: string; content?: Record<string, { schema: Schema }> }>;
}
interface Doc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { securitySchemes?: Record<string, { type: string; scheme?: string }>; schemas?: Record<string, Schema> };
  security?: Record<string, string[]>[];
}

// The document is part of the admin API: it needs the admin credential like every other call.
const anonymous = await api.inject({ method: 'GET', url: '/admin/v1/openapi.json' });
const res = await api.inject({ method: 'GET', url: '/admin/v1/openapi.json', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
const doc = res.json() as Doc;

/** contract "Admin" table, plus creation (POST /clients): method, path, success status, request body? */
const CALLS: [string, string, string, boolean][] = [
  ['get', '/admin/v1/clients', '200', false],
  ['post', '/admin/v1/clients', '201', true],
  ['get', '/admin/v1/clients/{client_id}', '200', false],
  ['patch', '/admin/v1/clients/{client_id}', '200', true],
  ['delete', '/admin/v1/clients/{client_id}', '204', false],
  ['post', '/admin/v1/clients/{client_id}/secrets', '201', true],
  ['delete', '/admin/v1/clients/{client_id}/secrets/{secret_id}', '204', false],
  ['post', '/admin/v1/clients/{client_id}/revoke-tokens', '200', false],
  ['post', '/admin/v1/clients/{client_id}/registration-token', '201', false],
  ['delete', '/admin/v1/clients/{client_id}/registration-token', '204', false],
  ['post', '/admin/v1/tokens/revoke', '200', true],
  ['get', '/admin/v1/keys', '200', false],
  ['post', '/admin/v1/keys/rotate', '201', true],
  ['get', '/admin/v1/audit', '200', false],
  ['get', '/admin/v1/clients/{client_id}/usage', '200', false],
  ['get', '/admin/v1/usage/top', '200', false],
  // "Organizations"
  ['get', '/admin/v1/orgs', '200', false],
  ['post', '/admin/v1/orgs', '201', true],
  ['get', '/admin/v1/orgs/{org_id}', '200', false],
  ['patch', '/admin/v1/orgs/{org_id}', '200', true],
  ['delete', '/admin/v1/orgs/{org_id}', '204', false],
  ['post', '/admin/v1/orgs/{org_id}/initial-access-tokens', '201', true],
  ['delete', '/admin/v1/orgs/{org_id}/initial-access-tokens/{id}', '204', false],
];

const op = (method: string, path: string): Operation | undefined => doc.paths?.[path]?.[method];
/** Shared schemas are `$ref`s to components.schemas: followed here. */
const R = (s: Schema | undefined): Schema | undefined => (s?.$ref ? R(doc.components?.schemas?.[s.$ref.replace('#/components/schemas/', '')]) : s);
const jsonSchema = (o: Operation | undefined, status: string): Schema | undefined => R(o?.responses[status]?.content?.['application/json']?.schema);
const bodySchema = (o: Operation | undefined): Schema | undefined => R(o?.requestBody?.content['application/json']?.schema);
const props = (s: Schema | undefined): string[] => Object.keys(R(s)?.properties ?? {}).sort();

t.test('served on the admin listener as JSON, OpenAPI 3', async (t) => {
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/json/);
  t.match(doc.openapi, /^3\.\d+\.\d+$/);
  t.match(doc.info, { title: String, version: String });
  t.match(doc.components?.securitySchemes, { bearer: { type: 'http', scheme: 'bearer' } }, 'bearer auth is declared');
  t.same(doc.security, [{ bearer: [] }], 'and required by default');
});

t.test('every admin call is documented, and nothing else', async (t) => {
  for (const [method, path] of CALLS) t.ok(op(method, path), `${method.toUpperCase()} ${path}`);
  // The public endpoints (tag oauth2) and the document itself are documented too: see openapi-tools.test.ts.
  const documented = Object.entries(doc.paths)
    .filter(([p]) => p.startsWith('/admin/v1/') && p !== '/admin/v1/openapi.json')
    .flatMap(([p, ms]) => Object.keys(ms).map((m) => `${m} ${p}`))
    .sort();
  t.same(documented, CALLS.map(([m, p]) => `${m} ${p}`).sort(), 'exactly the admin table');
});

t.test('each call has its success response, error responses and, where it takes one, a JSON request body', async (t) => {
  for (const [method, path, status, hasBody] of CALLS) {
    const o = op(method, path);
    const name = `${method.toUpperCase()} ${path}`;
    t.ok(o?.responses[status], `${name}: documents ${status}`);
    if (status !== '204') t.equal(jsonSchema(o, status)?.type, 'object', `${name}: ${status} has a JSON object schema`);
    for (const err of ['400', '401', '403']) t.same(props(jsonSchema(o, err)), ['error', 'error_description'], `${name}: ${err} is {error, error_description}`);
    if (hasBody) t.equal(typeof bodySchema(o), 'object', `${name}: JSON request body schema`);
    else t.notOk(o?.requestBody, `${name}: no request body`);
    for (const param of path.match(/\{(\w+)\}/g) ?? []) {
      const p = param.slice(1, -1);
      t.match(
        o?.parameters?.find((x) => x.in === 'path' && x.name === p),
        { required: true, schema: { type: 'string' } },
        `${name}: path parameter ${p}`,
      );
    }
  }
  for (const path of [
    '/admin/v1/clients/{client_id}',
    '/admin/v1/clients/{client_id}/secrets',
    '/admin/v1/clients/{client_id}/secrets/{secret_id}',
    '/admin/v1/clients/{client_id}/registration-token',
  ]) {
    const methods = Object.keys(doc.paths[path] ?? {});
    for (const m of methods) t.ok(op(m, path)?.responses['404'], `${m.toUpperCase()} ${path}: documents 404`);
  }
  t.ok(op('post', '/admin/v1/clients/{client_id}/secrets')?.responses['409'], 'secret rotation documents 409');
});

t.test('query parameters: paging and filters', async (t) => {
  const names = (o: Operation | undefined) =>
    (o?.parameters ?? [])
      .filter((p) => p.in === 'query')
      .map((p) => p.name)
      .sort();
  t.same(names(op('get', '/admin/v1/clients')), ['auth_method', 'cursor', 'limit', 'name_prefix', 'org_id', 'status']);
  t.same(names(op('get', '/admin/v1/audit')), ['action', 'actor', 'cursor', 'limit', 'since', 'target']);
  t.match(op('get', '/admin/v1/clients')?.parameters?.find((p) => p.name === 'limit')?.schema, { type: 'integer' });
});

t.test('request bodies name the fields the contract gives', async (t) => {
  t.same(props(bodySchema(op('post', '/admin/v1/clients/{client_id}/secrets'))), ['expires_in', 'previous_secret_ttl']);
  t.same(props(bodySchema(op('post', '/admin/v1/keys/rotate'))), ['activate_in', 'alg']);
  const revoke = bodySchema(op('post', '/admin/v1/tokens/revoke'));
  const variants = (revoke?.anyOf ?? (revoke ? [revoke] : [])).map((s) => R(s)?.required ?? []);
  t.ok(
    variants.some((r) => r.includes('token')),
    'tokens/revoke: {token}',
  );
  t.ok(
    variants.some((r) => r.includes('jti') && r.includes('exp')),
    'tokens/revoke: {jti, exp}',
  );
  const patch = props(bodySchema(op('patch', '/admin/v1/clients/{client_id}')));
  for (const f of ['client_name', 'scope', 'audience', 'access_token_ttl', 'jwks', 'token_endpoint_auth_method', 'status']) t.ok(patch.includes(f), `PATCH documents ${f}`);
});

t.test('response schemas match the bodies the API sends', async (t) => {
  const created = await admin(api, 'POST', '/admin/v1/clients', { client_name: 'doc', scope: 'api:read' });
  t.equal(created.statusCode, 201);
  const c = created.json() as { client: Record<string, unknown>; client_secret: string };
  const id = c.client.client_id as string;
  t.same(props(jsonSchema(op('post', '/admin/v1/clients'), '201')), Object.keys(c).sort(), 'create');
  const read = await admin(api, 'GET', `/admin/v1/clients/${id}`);
  t.same(props(jsonSchema(op('get', '/admin/v1/clients/{client_id}'), '200')), Object.keys(read.json() as object).sort(), 'read');
  const secretItem = R(jsonSchema(op('get', '/admin/v1/clients/{client_id}'), '200')?.properties?.secrets?.items);
  t.same(props(secretItem), Object.keys((read.json() as { secrets: object[] }).secrets[0] ?? {}).sort(), 'secret view');
  t.notOk(
    props(secretItem).some((p) => /hash|client_secret/.test(p)),
    'the secret view documents no secret material',
  );
  t.notOk(props(jsonSchema(op('get', '/admin/v1/clients/{client_id}'), '200')).includes('client_secret'), 'a read documents no client_secret');
  const list = await admin(api, 'GET', '/admin/v1/clients');
  t.same(props(jsonSchema(op('get', '/admin/v1/clients'), '200')), Object.keys(list.json() as object).sort(), 'list');
  const rotated = await admin(api, 'POST', `/admin/v1/clients/${id}/secrets`, {});
  t.same(props(jsonSchema(op('post', '/admin/v1/clients/{client_id}/secrets'), '201')), Object.keys(rotated.json() as object).sort(), 'rotate secret');
  t.ok(props(jsonSchema(op('post', '/admin/v1/clients/{client_id}/secrets'), '201')).includes('client_secret'), 'rotation documents the one-time secret');
  const revokeAll = await admin(api, 'POST', `/admin/v1/clients/${id}/revoke-tokens`);
  t.same(props(jsonSchema(op('post', '/admin/v1/clients/{client_id}/revoke-tokens'), '200')), Object.keys(revokeAll.json() as object).sort(), 'revoke-tokens');
  const ratRotated = await admin(api, 'POST', `/admin/v1/clients/${id}/registration-token`);
  t.same(props(jsonSchema(op('post', '/admin/v1/clients/{client_id}/registration-token'), '201')), Object.keys(ratRotated.json() as object).sort(), 'rotate registration token');
  const keys = await admin(api, 'GET', '/admin/v1/keys');
  const keyList = jsonSchema(op('get', '/admin/v1/keys'), '200');
  t.same(props(keyList), ['keys']);
  t.same(props(R(keyList?.properties?.keys?.items)), Object.keys((keys.json() as { keys: object[] }).keys[0] ?? {}).sort(), 'key view');
  t.notOk(
    props(R(keyList?.properties?.keys?.items)).some((p) => /private|^d$|jwe/.test(p)),
    'no private parts documented',
  );
  const audit = await admin(api, 'GET', '/admin/v1/audit');
  const auditSchema = jsonSchema(op('get', '/admin/v1/audit'), '200');
  t.same(props(auditSchema), Object.keys(audit.json() as object).sort(), 'audit page');
  t.same(props(R(auditSchema?.properties?.items?.items)), Object.keys((audit.json() as { items: object[] }).items[0] ?? {}).sort(), 'audit event');
  for (const f of ['at', 'actor', 'action', 'target', 'outcome']) t.ok(props(R(auditSchema?.properties?.items?.items)).includes(f), `audit event documents ${f}`);
  const rotatedKey = await admin(api, 'POST', '/admin/v1/keys/rotate', { activate_in: 600 });
  t.same(props(jsonSchema(op('post', '/admin/v1/keys/rotate'), '201')), Object.keys(rotatedKey.json() as object).sort(), 'rotate key');
});

t.test('the OpenAPI document is not served without admin credentials', async (t) => {
  t.equal(anonymous.statusCode, 401);
  t.equal(anonymous.headers['www-authenticate'], 'Bearer realm="http://tokenmill.test"');
});
