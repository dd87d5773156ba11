import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { ADMIN_TOKEN, form } from '../helper.js';

/** The origin light-my-request gives inject() requests (Host: localhost:80). */
export const ORIGIN = 'http://localhost';

/** The session cookie's value from a Set-Cookie header, or null. */
export function sessionCookie(res: LightMyRequestResponse): string | null {
  const header = res.headers['set-cookie'];
  const all = Array.isArray(header) ? header : header ? [header] : [];
  for (const c of all) {
    const m = /^tm_console=([^;]*)/.exec(c);
    if (m && m[1]) return m[1];
  }
  return null;
}

/** The CSRF token of a console page (the hidden `_csrf` field). */
export function csrfOf(body: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(body);
  if (!m || !m[1]) throw new Error('no CSRF field on the page');
  return m[1];
}

/** A console form POST, from this origin unless `headers` says otherwise. */
export function post(app: FastifyInstance, url: string, fields: Record<string, string>, cookie: string | null, headers: Record<string, string> = {}, noFetchMetadata = false) {
  return app.inject({
    method: 'POST',
    url,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: ORIGIN,
      ...(noFetchMetadata ? {} : { 'sec-fetch-site': 'same-origin' }),
      ...(cookie ? { cookie: `tm_console=${cookie}` } : {}),
      ...headers,
    },
    payload: form(fields),
  });
}

export const get = (app: FastifyInstance, url: string, cookie: string | null) => app.inject({ method: 'GET', url, headers: cookie ? { cookie: `tm_console=${cookie}` } : {} });

/** Signs in with the admin token; returns the session cookie and the CSRF token of the overview. */
export async function signIn(app: FastifyInstance, token = ADMIN_TOKEN): Promise<{ cookie: string; csrf: string }> {
  const res = await post(app, '/console/sign-in', { method: 'admin_token', admin_token: token }, null);
  const cookie = sessionCookie(res);
  if (res.statusCode !== 303 || !cookie) throw new Error(`sign-in failed: ${res.statusCode} ${res.body}`);
  const page = await get(app, '/console/', cookie);
  if (page.statusCode !== 200) throw new Error(`overview failed: ${page.statusCode} ${page.body}`);
  return { cookie, csrf: csrfOf(page.body) };
}
