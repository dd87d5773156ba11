import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import { Type, type Static } from '@sinclair/typebox';
import { ADMIN_SCOPE, ORG_ADMIN_SCOPE } from '../routes/admin/auth.js';
import { throttled } from '../routes/failure-limit.js';
import { clientUsable, type Client } from '../clients/client.js';
import { authenticateCaller } from '../oauth/client-auth/index.js';
import { Params } from '../oauth/params.js';
import { basicCredentials } from '../protocol/index.js';
import { OAuthError } from '../errors/oauth-error.js';
import { withTimeout } from '../lib/wait.js';
import type { Runtime } from '../runtime.js';
import type { AdminApi, ApiResponse } from './backend.js';
import { html, type Html } from './html.js';
import { consoleSessionLimits } from './limits.js';
import { ConsoleSessions, csrfMatches, type ConsoleSession } from './sessions.js';
import type { HourlySeries } from './chart.js';
import type { Viewer } from './layout.js';
import { auditPage, type AuditQuery } from './pages/audit.js';
import { clientPage, editValuesOf, showOncePage, type EditValues, type UsageData } from './pages/client.js';
import { clientsPage, type ClientListQuery } from './pages/clients.js';
import { keysPage } from './pages/keys.js';
import { EMPTY_NEW_CLIENT, newClientPage, type NewClientValues } from './pages/new-client.js';
import { overviewPage, type OverviewData } from './pages/overview.js';
import { errorPage, signInPage } from './pages/sign-in.js';
import { fieldErrors, secretExpiringSoon, type AuditData, type ClientData, type FieldErrors, type KeyData } from './pages/types.js';
import { ACCESS_TOKEN_ALGS } from '../protocol/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** the signed-in console session (console routes only) */
    consoleSession: ConsoleSession | null;
    /** the organization the session's organization admin is confined to (null: a super admin) */
    consoleOrg: string | null;
  }
}

export const SESSION_COOKIE = 'tm_console';

/** docs/contract.md "Console": no inline script or style, nothing from another origin, no framing. */
export const CONSOLE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const ASSETS: Record<string, { type: string; body: Buffer }> = {
  'console.css': { type: 'text/css; charset=utf-8', body: readFileSync(new URL('./assets/console.css', import.meta.url)) },
  'console.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(new URL('./assets/console.js', import.meta.url)) },
};

const Text = (max = 200) => Type.Optional(Type.String({ maxLength: max }));
const FormBody = (props: Record<string, ReturnType<typeof Text>>) => Type.Object({ _csrf: Text(100), ...props }, { additionalProperties: false });
const ClientParams = Type.Object({ client_id: Type.String({ minLength: 1, maxLength: 255 }) });
const SignInBody = Type.Object(
  { method: Type.Union([Type.Literal('admin_token'), Type.Literal('client')]), admin_token: Text(1000), client_id: Text(255), client_secret: Text(1000) },
  { additionalProperties: false },
);
const EditBody = FormBody({ client_name: Text(), scope: Text(4000), audience: Text(8000), access_token_ttl: Text(20), jwks: Text(60000), jwks_uri: Text(2000) });
const NewClientBody = FormBody({
  client_name: Text(),
  token_endpoint_auth_method: Text(40),
  scope: Text(4000),
  audience: Text(8000),
  access_token_ttl: Text(20),
  secret_expires_in: Text(10),
  jwks: Text(60000),
  jwks_uri: Text(2000),
});
const ListQuery = Type.Object({ q: Text(), status: Text(20), auth_method: Text(40), cursor: Text(500), notice: Text(40) }, { additionalProperties: false });
const AuditQuerySchema = Type.Object({ actor: Text(300), action: Text(100), target: Text(300), since: Text(10), cursor: Text(40) }, { additionalProperties: false });
const NoticeQuery = Type.Object({ notice: Text(40), stored: Text(2) }, { additionalProperties: false });

const SINCE_MS: Record<string, number> = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 };

function sendPage(reply: FastifyReply, page: Html, status = 200): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(page.value);
}

const seeOther = (reply: FastifyReply, location: string): FastifyReply => reply.code(303).header('location', location).send();

const describe = (res: ApiResponse): string => {
  const b = res.body as { error?: string; error_description?: string } | null;
  return b?.error_description ?? b?.error ?? `the request failed (${res.status})`;
};

/** Lines of a textarea, trimmed, empty ones dropped. */
const lines = (s: string | undefined): string[] =>
  (s ?? '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);

/** A pasted JWK or JWK Set as a JWK Set, or a field error. */
function parseJwks(text: string): { jwks: { keys: Record<string, unknown>[] } } | { error: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { error: 'is not valid JSON' };
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return { error: 'must be a JWK or a JWK Set (a JSON object)' };
  const o = parsed as Record<string, unknown>;
  if (Array.isArray(o.keys)) return { jwks: { keys: o.keys as Record<string, unknown>[] } };
  if (typeof o.kty === 'string') return { jwks: { keys: [o] } };
  return { error: 'must be a JWK (with kty) or a JWK Set (with keys)' };
}

/** An integer field, or a field error; empty → undefined. */
function integerField(s: string | undefined): number | undefined | { error: string } {
  if (s === undefined || s.trim() === '') return undefined;
  return /^\d{1,9}$/.test(s.trim()) ? Number(s.trim()) : { error: 'must be a whole number of seconds' };
}

const sameOrigin = (a: string, b: string): boolean => {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
};

/**
 * The web console (docs/contract.md "Console"): server-rendered pages under /console/ on the admin
 * listener, plain forms that work without JavaScript (POST, then redirect to a GET), one small
 * script and stylesheet from this package. Sessions in SQL (sessions.ts); every change goes
 * through the admin API's own handlers (backend.ts).
 */
export async function consoleRoutes(app: FastifyInstance, rt: Runtime, api: AdminApi): Promise<void> {
  const sessions = new ConsoleSessions(rt.sql, rt.clock, consoleSessionLimits(rt.config));
  app.addHook('onClose', async () => {
    await api.close();
  });
  const secureCookie = rt.config.production || rt.config.issuer.startsWith('https:');

  // The admin listener's root is the console (with ADMIN_PORT = PORT, the one listener's root: no public endpoint lives at /).
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.code(302).header('location', '/console/').send());

  await app.register(
    async (c) => {
      await c.register(cookie);
      await c.register(formbody, { bodyLimit: 128 * 1024 });
      c.decorateRequest('consoleSession', null);
      c.decorateRequest('consoleOrg', null);

      c.addHook('onRequest', async (request, reply) => {
        reply
          .header('content-security-policy', CONSOLE_CSP)
          .header('x-content-type-options', 'nosniff')
          .header('referrer-policy', 'no-referrer')
          .header('x-frame-options', 'DENY')
          .header('cross-origin-opener-policy', 'same-origin')
          .header('cross-origin-resource-policy', 'same-origin')
          .header('cache-control', 'no-store');
        // CSRF, first line: a state-changing request must come from a page of this origin. Browsers
        // send Sec-Fetch-Site (scripts cannot set it); with it, same-origin is required and Origin may
        // be "null" (what Referrer-Policy: no-referrer makes Chromium send on a form POST). Without
        // it, Origin must be this origin.
        if (request.method !== 'GET' && request.method !== 'HEAD') {
          const site = request.headers['sec-fetch-site'];
          const origin = request.headers.origin;
          const own = `${request.protocol}://${request.host}`;
          const fromHere =
            site !== undefined ? site === 'same-origin' && (origin === undefined || origin === 'null' || sameOrigin(origin, own)) : typeof origin === 'string' && sameOrigin(origin, own);
          if (!fromHere) {
            return sendPage(reply, errorPage(403, 'Refused: the form was not sent from a page of this console (cross-site request).'), 403);
          }
        }
      });

      c.setErrorHandler(async (err, request, reply) => {
        const status = err instanceof OAuthError ? err.status : ((err as { statusCode?: number }).statusCode ?? 500);
        if (status >= 500) request.log.error({ err: { message: err instanceof Error ? err.message : String(err) } }, 'console error');
        return sendPage(reply, errorPage(status, status >= 500 ? 'Internal error; the server log has the details.' : 'The request is malformed.'), status);
      });
      c.setNotFoundHandler(async (_request, reply) => sendPage(reply, errorPage(404, 'No such page.'), 404));

      c.get<{ Params: { name: string } }>('/assets/:name', async (request, reply) => {
        const asset = ASSETS[request.params.name];
        if (!asset) return sendPage(reply, errorPage(404, 'No such file.'), 404);
        return reply.header('cache-control', 'no-cache').type(asset.type).send(asset.body);
      });

      c.get<{ Querystring: Static<typeof NoticeQuery> }>('/sign-in', { schema: { querystring: NoticeQuery } }, async (request, reply) =>
        sendPage(reply, signInPage({ notice: request.query.notice ?? null })),
      );

      c.post<{ Body: Static<typeof SignInBody> }>('/sign-in', { schema: { body: SignInBody } }, async (request, reply) => {
        // The form checks the admin token and client secrets: the same per-source limit as the API, before any check.
        const retryAfter = throttled(rt, request, () => 'console');
        if (retryAfter > 0) {
          reply.header('retry-after', String(retryAfter));
          return sendPage(reply, signInPage({ error: 'Too many failed sign-ins from this address; try again later.' }), 429);
        }
        const b = request.body;
        let actor: string | null = null;
        if (b.method === 'admin_token') {
          if (b.admin_token && rt.isAdminToken(b.admin_token)) actor = rt.adminToken.id;
        } else if (b.client_id && b.client_secret) {
          actor = await clientActor(rt, b.client_id, b.client_secret);
        }
        if (actor === null) {
          rt.refusalAudit.record({ actor: 'unauthenticated', action: 'console.sign_in', source: request.ip, status: 401, requestId: request.id });
          if (rt.authFailures.enabled) await rt.authFailures.fail(request.ip, 'console');
          const error =
            b.method === 'admin_token'
              ? 'Sign-in refused: that is not the admin token.'
              : `Sign-in refused: wrong client credentials, or the client is disabled or lacks ${ADMIN_SCOPE} (or ${ORG_ADMIN_SCOPE}).`;
          return sendPage(reply, signInPage({ error, clientId: b.client_id ?? '' }), 401);
        }
        const id = await sessions.create(actor);
        await audit(rt, request, actor, 'console.sign_in', null, 303, (await consoleAccess(rt, actor))?.org ?? null);
        reply.setCookie(SESSION_COOKIE, id, { path: '/console', httpOnly: true, sameSite: 'strict', secure: secureCookie, maxAge: rt.config.consoleSession.max });
        return seeOther(reply, '/console/');
      });

      // Everything else needs a live session; forms also need its CSRF token.
      await c.register(async (s) => {
        s.addHook('preHandler', async (request, reply) => {
          const id = request.cookies[SESSION_COOKIE];
          const session = id ? await sessions.resume(id) : null;
          const access = session ? await consoleAccess(rt, session.actor) : null;
          if (session && !access) {
            if (id) await sessions.end(id);
          } else if (session && access) {
            if (request.method === 'POST' && !csrfMatches(session, (request.body as Record<string, unknown> | undefined)?._csrf)) {
              return sendPage(reply, errorPage(403, 'Refused: the form is missing its security token or is from an earlier session. Reload the page and try again.'), 403);
            }
            request.consoleSession = session;
            request.consoleOrg = access.org;
            return;
          }
          if (id) reply.clearCookie(SESSION_COOKIE, { path: '/console' });
          return seeOther(reply, id ? '/console/sign-in?notice=expired' : '/console/sign-in');
        });
        authenticatedRoutes(s, rt, api, sessions);
      });
    },
    { prefix: '/console' },
  );
}

/** The viewer of a request that passed the session hook. */
function viewerOf(request: FastifyRequest): Viewer {
  const session = request.consoleSession;
  if (!session) throw new Error('console route without a session');
  return { actor: session.actor, csrfToken: session.csrfToken, org: request.consoleOrg };
}

async function audit(rt: Runtime, request: FastifyRequest, actor: string, action: string, target: string | null, status: number, orgId: string | null): Promise<void> {
  await rt.audit
    .record({ at: rt.clock.now(), actor, action, target, outcome: status < 400 ? 'success' : 'failure', requestId: request.id, detail: { status, via: 'console' }, orgId })
    .catch((err: unknown) => request.log.warn({ err: { message: (err as Error).message } }, 'audit write failed'));
}

/**
 * Client credentials checked exactly as the token endpoint checks them (client-auth: the method
 * the client registered, constant-time, expiry, disabled, the refusal floor), then the registered
 * scopes must include tokenmill:admin. The actor is `client:<id>`, as in the admin API.
 */
async function clientActor(rt: Runtime, clientId: string, secret: string): Promise<string | null> {
  const registered = await rt.clients.get(clientId).catch(() => null);
  const basic = registered?.tokenEndpointAuthMethod === 'client_secret_basic';
  const params = new Params(
    new Map(
      basic
        ? []
        : [
            ['client_id', [clientId]],
            ['client_secret', [secret]],
          ],
    ),
  );
  try {
    const caller = await authenticateCaller(params, basic ? basicCredentials(clientId, secret) : undefined, rt);
    if (caller.kind !== 'client' || !clientAccess(caller.client)) return null;
    return `client:${caller.client.clientId}`;
  } catch (err) {
    if (err instanceof OAuthError) return null;
    throw err;
  }
}

/**
 * What a client may do in the console, by its registration now (as its API tokens): a super admin
 * with tokenmill:admin; an organization admin with tokenmill:org-admin, confined to its active
 * organization (docs/contract.md "Organizations"); otherwise nothing.
 */
function clientAccess(client: Client): { org: string | null } | null {
  if (!clientUsable(client)) return null;
  if (client.scopes.includes(ADMIN_SCOPE)) return { org: null };
  if (client.scopes.includes(ORG_ADMIN_SCOPE) && client.orgId !== null) return { org: client.orgId };
  return null;
}

/** A session lasts while its actor may still use the console (a client: active, still registered with an admin scope). */
async function consoleAccess(rt: Runtime, actor: string): Promise<{ org: string | null } | null> {
  if (!actor.startsWith('client:')) return actor === rt.adminToken.id ? { org: null } : null;
  const client = await rt.clients.get(actor.slice('client:'.length));
  return client ? clientAccess(client) : null;
}

const HOUR_MS = 3_600_000;

/** The key fields of a private_key_jwt form (new client, edit): a pasted JWK or JWKS, or a jwks_uri; errors by field. */
function keyFields(values: { jwks: string; jwks_uri: string }, body: Record<string, unknown>, errors: FieldErrors): void {
  if (values.jwks.trim()) {
    const parsed = parseJwks(values.jwks);
    if ('error' in parsed) errors.jwks = parsed.error;
    else body.jwks = parsed.jwks;
  }
  if (values.jwks_uri.trim()) body.jwks_uri = values.jwks_uri.trim();
}

/**
 * Tokens issued per UTC hour over the last 24 hours, summed over every client from the recorded
 * usage (docs/contract.md "Quotas"): this node's unwritten counts are written first; other nodes'
 * lag by at most their write interval.
 */
async function last24h(rt: Runtime, org: string | null): Promise<HourlySeries> {
  await rt.quotas.flushUsage();
  const current = Math.floor(rt.clock.now() / HOUR_MS) * HOUR_MS;
  const hours = Array.from({ length: 24 }, (_, i) => current - (23 - i) * HOUR_MS);
  const byHour = new Map((await rt.tokenUsage.totals(hours[0] ?? current, current + HOUR_MS, org)).map((r) => [r.hourStart, r.tokens]));
  return { hours, counts: hours.map((h) => byHour.get(h) ?? 0) };
}

function authenticatedRoutes(s: FastifyInstance, rt: Runtime, api: AdminApi, sessions: ConsoleSessions): void {
  const call = (request: FastifyRequest, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown) => {
    const viewer = viewerOf(request);
    return api.call(viewer.actor, viewer.org, method, path, body);
  };
  const clientPath = (id: string) => `/clients/${encodeURIComponent(id)}`;
  const consolePath = (id: string) => `/console/clients/${encodeURIComponent(id)}`;

  async function loadClient(request: FastifyRequest, reply: FastifyReply, id: string): Promise<ClientData | null> {
    const res = await call(request, 'GET', clientPath(id));
    if (res.status === 200) return res.body as ClientData;
    sendPage(reply, errorPage(res.status, res.status === 404 ? 'No such client.' : describe(res)), res.status);
    return null;
  }

  s.post('/sign-out', { schema: { body: FormBody({}) } }, async (request, reply) => {
    const id = request.cookies[SESSION_COOKIE];
    if (id) await sessions.end(id);
    await audit(rt, request, viewerOf(request).actor, 'console.sign_out', null, 303, viewerOf(request).org);
    reply.clearCookie(SESSION_COOKIE, { path: '/console' });
    return seeOther(reply, '/console/sign-in?notice=signed-out');
  });

  s.get<{ Querystring: Static<typeof NoticeQuery> }>('/', { schema: { querystring: NoticeQuery } }, async (request, reply) => {
    const now = rt.clock.now();
    const counts = { active: 0, disabled: 0, expiringSoon: 0, more: false };
    let cursor: string | null = null;
    for (let pageNo = 0; ; pageNo++) {
      const res = await call(request, 'GET', `/clients?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      const body = res.body as { items: ClientData[]; next_cursor: string | null };
      for (const c of body.items ?? []) {
        counts[c.status] += 1;
        if (c.status === 'active' && secretExpiringSoon(c, now)) counts.expiringSoon += 1;
      }
      cursor = body.next_cursor ?? null;
      if (!cursor) break;
      if (pageNo === 3) {
        counts.more = true;
        break;
      }
    }
    // Keys are the super admin's: an organization admin's overview has none.
    const keys = viewerOf(request).org === null ? ((await call(request, 'GET', '/keys')).body as { keys: KeyData[] }).keys : [];
    const auditItems = ((await call(request, 'GET', '/audit?limit=10')).body as { items: AuditData[] }).items;
    const health = await Promise.all(
      rt.dependencies.map(async (d) => {
        try {
          await withTimeout(d.check(), 1000, () => new Error('timeout'));
          return { name: d.name, state: 'ok' };
        } catch {
          return { name: d.name, state: 'unavailable' };
        }
      }),
    );
    health.push({ name: 'signing key', state: rt.keyring.signingKey(rt.config.signingAlg) ? 'ok' : 'missing' });
    const data: OverviewData = {
      clients: counts,
      keys: { published: keys.filter((k) => k.state === 'published').length, active: keys.filter((k) => k.state === 'active').length, retired: keys.filter((k) => k.state === 'retired').length },
      tokens: await last24h(rt, viewerOf(request).org),
      audit: auditItems,
      health,
    };
    return sendPage(reply, overviewPage(viewerOf(request), data, request.query.notice ?? null));
  });

  s.get<{ Querystring: Static<typeof ListQuery> }>('/clients', { schema: { querystring: ListQuery } }, async (request, reply) => {
    const query: ClientListQuery = { q: (request.query.q ?? '').trim(), status: request.query.status ?? '', auth_method: request.query.auth_method ?? '', cursor: request.query.cursor ?? '' };
    const params = new URLSearchParams({ limit: '25' });
    if (query.status) params.set('status', query.status);
    if (query.auth_method) params.set('auth_method', query.auth_method);
    if (query.q) params.set('name_prefix', query.q);
    if (query.cursor) params.set('cursor', query.cursor);
    const res = await call(request, 'GET', `/clients?${params.toString()}`);
    let items: ClientData[] = [];
    let next: string | null = null;
    let error: string | null = null;
    if (res.status === 200) {
      const body = res.body as { items: ClientData[]; next_cursor: string | null };
      items = body.items;
      next = body.next_cursor;
    } else error = describe(res);
    // An exact client ID finds that client too (names match by prefix).
    if (query.q && !query.cursor && /^[\x21-\x7E]{1,255}$/.test(query.q)) {
      const exact = await call(request, 'GET', clientPath(query.q));
      if (exact.status === 200) {
        const c = exact.body as ClientData;
        if (!items.some((i) => i.client_id === c.client_id)) items.unshift(c);
      }
    }
    return sendPage(reply, clientsPage(viewerOf(request), query, items, next, rt.clock.now(), request.query.notice ?? null, error), error ? 400 : 200);
  });

  s.get('/clients/new', async (request, reply) => sendPage(reply, newClientPage(viewerOf(request), EMPTY_NEW_CLIENT)));

  s.post<{ Body: Static<typeof NewClientBody> }>('/clients', { schema: { body: NewClientBody } }, async (request, reply) => {
    const b = request.body;
    const values: NewClientValues = { ...EMPTY_NEW_CLIENT, ...Object.fromEntries(Object.entries(b).filter(([k]) => k !== '_csrf')) };
    const errors: FieldErrors = {};
    const body: Record<string, unknown> = { token_endpoint_auth_method: values.token_endpoint_auth_method };
    if (values.client_name.trim()) body.client_name = values.client_name.trim();
    else errors.client_name = 'is required';
    if (values.scope.trim()) body.scope = values.scope.trim().split(/\s+/).join(' ');
    const audience = lines(values.audience);
    if (audience.length) body.audience = audience;
    const ttl = integerField(values.access_token_ttl);
    if (typeof ttl === 'object') errors.access_token_ttl = ttl.error;
    else if (ttl !== undefined) body.access_token_ttl = ttl;
    if (values.token_endpoint_auth_method === 'private_key_jwt') keyFields(values, body, errors);
    else body.secret_expires_in = values.secret_expires_in;
    if (Object.keys(errors).length) return sendPage(reply, newClientPage(viewerOf(request), values, errors), 400);
    const res = await call(request, 'POST', '/clients', body);
    if (res.status !== 201) return sendPage(reply, newClientPage(viewerOf(request), values, fieldErrors(describe(res))), res.status >= 500 ? res.status : 400);
    const created = res.body as { client: ClientData; client_secret: string | null };
    if (created.client_secret === null) return seeOther(reply, `${consolePath(created.client.client_id)}?notice=created`);
    return sendPage(
      reply,
      showOncePage(viewerOf(request), {
        title: `Client ${created.client.client_name ?? created.client.client_id} created`,
        clientId: created.client.client_id,
        label: 'Client secret',
        value: created.client_secret,
        intro: 'Copy the secret now and store it in your secret manager. It is shown this once; tokenmill keeps only its hash.',
        extra: html`<p>Client ID: <code>${created.client.client_id}</code></p>`,
      }),
      201,
    );
  });

  s.get<{ Params: Static<typeof ClientParams>; Querystring: Static<typeof NoticeQuery> }>(
    '/clients/:client_id',
    { schema: { params: ClientParams, querystring: NoticeQuery } },
    async (request, reply) => {
      const client = await loadClient(request, reply, request.params.client_id);
      if (!client) return reply;
      const usage = await call(request, 'GET', `${clientPath(client.client_id)}/usage`);
      return sendPage(reply, clientPage(viewerOf(request), client, rt.clock.now(), { notice: request.query.notice ?? null, ...(usage.status === 200 ? { usage: usage.body as UsageData } : {}) }));
    },
  );

  s.post<{ Params: Static<typeof ClientParams>; Body: Static<typeof EditBody> }>('/clients/:client_id/edit', { schema: { params: ClientParams, body: EditBody } }, async (request, reply) => {
    const client = await loadClient(request, reply, request.params.client_id);
    if (!client) return reply;
    const b = request.body;
    const values: EditValues = { ...editValuesOf(client), ...Object.fromEntries(Object.entries(b).filter(([k]) => k !== '_csrf')) };
    const errors: FieldErrors = {};
    const patch: Record<string, unknown> = { client_name: values.client_name.trim() || null, scope: values.scope.trim().split(/\s+/).filter(Boolean).join(' '), audience: lines(values.audience) };
    const ttl = integerField(values.access_token_ttl);
    if (typeof ttl === 'object') errors.access_token_ttl = ttl.error;
    else patch.access_token_ttl = ttl ?? null;
    if (client.token_endpoint_auth_method === 'private_key_jwt') keyFields(values, patch, errors);
    const now = rt.clock.now();
    if (Object.keys(errors).length) return sendPage(reply, clientPage(viewerOf(request), client, now, { values, errors }), 400);
    const res = await call(request, 'PATCH', clientPath(client.client_id), patch);
    if (res.status !== 200) return sendPage(reply, clientPage(viewerOf(request), client, now, { values, errors: fieldErrors(describe(res)) }), res.status >= 500 ? res.status : 400);
    return seeOther(reply, `${consolePath(client.client_id)}?notice=updated`);
  });

  s.post<{ Params: Static<typeof ClientParams>; Body: Static<ReturnType<typeof FormBody>> }>(
    '/clients/:client_id/secrets',
    { schema: { params: ClientParams, body: FormBody({ previous_secret_ttl: Text(10), expires_in: Text(10) }) } },
    async (request, reply) => {
      const b = request.body as { previous_secret_ttl?: string; expires_in?: string };
      const grace = integerField(b.previous_secret_ttl);
      const body: Record<string, unknown> = { previous_secret_ttl: typeof grace === 'number' ? grace : 0 };
      if (b.expires_in) body.expires_in = b.expires_in;
      const res = await call(request, 'POST', `${clientPath(request.params.client_id)}/secrets`, body);
      if (res.status !== 201) return sendPage(reply, errorPage(res.status, `Rotation refused: ${describe(res)}`), res.status);
      const rotated = res.body as { client_secret: string; prefix: string; expires_at: string | null };
      const graceText = body.previous_secret_ttl === 0 ? 'The previous secrets stopped working now.' : `The previous secrets keep working for ${String(body.previous_secret_ttl)} seconds.`;
      return sendPage(
        reply,
        showOncePage(viewerOf(request), {
          title: 'New client secret',
          clientId: request.params.client_id,
          label: 'Client secret',
          value: rotated.client_secret,
          intro: `Copy the new secret now; it is shown this once. ${graceText} It expires ${rotated.expires_at ? `at ${rotated.expires_at}` : 'never'}.`,
        }),
        201,
      );
    },
  );

  s.post<{ Params: { client_id: string; secret_id: string } }>(
    '/clients/:client_id/secrets/:secret_id/delete',
    { schema: { params: Type.Object({ client_id: Type.String({ minLength: 1, maxLength: 255 }), secret_id: Type.String({ minLength: 1, maxLength: 100 }) }), body: FormBody({}) } },
    async (request, reply) => {
      const res = await call(request, 'DELETE', `${clientPath(request.params.client_id)}/secrets/${encodeURIComponent(request.params.secret_id)}`);
      if (res.status !== 204) return sendPage(reply, errorPage(res.status, describe(res)), res.status);
      return seeOther(reply, `${consolePath(request.params.client_id)}?notice=secret-deleted`);
    },
  );

  s.post<{ Params: Static<typeof ClientParams>; Body: { status?: string } }>(
    '/clients/:client_id/status',
    { schema: { params: ClientParams, body: Type.Object({ _csrf: Text(100), status: Type.Union([Type.Literal('active'), Type.Literal('disabled')]) }, { additionalProperties: false }) } },
    async (request, reply) => {
      const res = await call(request, 'PATCH', clientPath(request.params.client_id), { status: request.body.status });
      if (res.status !== 200) return sendPage(reply, errorPage(res.status, describe(res)), res.status);
      return seeOther(reply, `${consolePath(request.params.client_id)}?notice=${request.body.status === 'disabled' ? 'disabled' : 'enabled'}`);
    },
  );

  s.post<{ Params: Static<typeof ClientParams> }>('/clients/:client_id/revoke-tokens', { schema: { params: ClientParams, body: FormBody({}) } }, async (request, reply) => {
    const res = await call(request, 'POST', `${clientPath(request.params.client_id)}/revoke-tokens`);
    if (res.status !== 200) return sendPage(reply, errorPage(res.status, describe(res)), res.status);
    return seeOther(reply, `${consolePath(request.params.client_id)}?notice=tokens-revoked`);
  });

  s.post<{ Params: Static<typeof ClientParams>; Body: { op: 'rotate' | 'revoke' } }>(
    '/clients/:client_id/registration-token',
    { schema: { params: ClientParams, body: Type.Object({ _csrf: Text(100), op: Type.Union([Type.Literal('rotate'), Type.Literal('revoke')]) }, { additionalProperties: false }) } },
    async (request, reply) => {
      const path = `${clientPath(request.params.client_id)}/registration-token`;
      if (request.body.op === 'revoke') {
        const res = await call(request, 'DELETE', path);
        if (res.status !== 204) return sendPage(reply, errorPage(res.status, describe(res)), res.status);
        return seeOther(reply, `${consolePath(request.params.client_id)}?notice=registration-token-revoked`);
      }
      const res = await call(request, 'POST', path);
      if (res.status !== 201) return sendPage(reply, errorPage(res.status, describe(res)), res.status);
      const t = res.body as { registration_access_token: string; registration_client_uri: string };
      return sendPage(
        reply,
        showOncePage(viewerOf(request), {
          title: 'New registration access token',
          clientId: request.params.client_id,
          label: 'Registration access token',
          value: t.registration_access_token,
          intro: `Give this token to the client's owner for RFC 7592 self-service at ${t.registration_client_uri}. It is shown this once; the previous one no longer works.`,
        }),
        201,
      );
    },
  );

  s.post<{ Params: Static<typeof ClientParams>; Body: { confirm_name?: string } }>(
    '/clients/:client_id/delete',
    { schema: { params: ClientParams, body: FormBody({ confirm_name: Text() }) } },
    async (request, reply) => {
      const client = await loadClient(request, reply, request.params.client_id);
      if (!client) return reply;
      const expected = client.client_name ?? client.client_id;
      if ((request.body.confirm_name ?? '') !== expected) {
        return sendPage(reply, clientPage(viewerOf(request), client, rt.clock.now(), { errors: { confirm_name: `type the client's name exactly (${expected}) to delete it` } }), 400);
      }
      const res = await call(request, 'DELETE', clientPath(client.client_id));
      if (res.status !== 204) return sendPage(reply, errorPage(res.status, describe(res)), res.status);
      return seeOther(reply, '/console/clients?notice=deleted');
    },
  );

  s.get<{ Querystring: Static<typeof NoticeQuery> }>('/keys', { schema: { querystring: NoticeQuery } }, async (request, reply) => {
    const res = await call(request, 'GET', '/keys');
    if (res.status !== 200) return sendPage(reply, errorPage(res.status, describe(res)), res.status);
    return sendPage(reply, keysPage(viewerOf(request), (res.body as { keys: KeyData[] }).keys, ACCESS_TOKEN_ALGS, rt.config.signingAlg, request.query.notice ?? null, null));
  });

  s.post<{ Body: { alg?: string; activate_in?: string } }>('/keys/rotate', { schema: { body: FormBody({ alg: Text(10), activate_in: Text(10) }) } }, async (request, reply) => {
    const body: Record<string, unknown> = {};
    if (request.body.alg) body.alg = request.body.alg;
    const activateIn = integerField(request.body.activate_in);
    if (typeof activateIn === 'number') body.activate_in = activateIn;
    const res = await call(request, 'POST', '/keys/rotate', body);
    if (res.status === 403) return sendPage(reply, errorPage(403, describe(res)), 403);
    if (res.status !== 201) {
      const keys = ((await call(request, 'GET', '/keys')).body as { keys: KeyData[] }).keys;
      return sendPage(reply, keysPage(viewerOf(request), keys, ACCESS_TOKEN_ALGS, rt.config.signingAlg, null, `Rotation refused: ${describe(res)}`), 400);
    }
    return seeOther(reply, '/console/keys?notice=key-rotated');
  });

  s.get<{ Querystring: Static<typeof AuditQuerySchema> }>('/audit', { schema: { querystring: AuditQuerySchema } }, async (request, reply) => {
    const q = request.query;
    const query: AuditQuery = { actor: (q.actor ?? '').trim(), action: (q.action ?? '').trim(), target: (q.target ?? '').trim(), since: q.since ?? '', cursor: q.cursor ?? '' };
    const params = new URLSearchParams({ limit: '50' });
    for (const k of ['actor', 'action', 'target', 'cursor'] as const) if (query[k]) params.set(k, query[k]);
    const sinceMs = SINCE_MS[query.since];
    if (sinceMs !== undefined) params.set('since', new Date(rt.clock.now() - sinceMs).toISOString());
    const res = await call(request, 'GET', `/audit?${params.toString()}`);
    if (res.status !== 200) return sendPage(reply, auditPage(viewerOf(request), query, [], null, describe(res)), 400);
    const body = res.body as { items: AuditData[]; next_cursor: string | null };
    return sendPage(reply, auditPage(viewerOf(request), query, body.items, body.next_cursor, null));
  });
}
