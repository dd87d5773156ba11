import { HttpError } from './errors.js';
import { send } from './http.js';

/**
 * Why `/admin/v1/…` answered 404, when the cause is the URL: the server at `base` serves the OAuth
 * metadata (a public listener) and has no admin API (its OpenAPI document is not found either).
 * Null when the admin API is there (the 404 was about the thing asked for) or nothing answers.
 */
export async function publicListenerHint(base: string, token: string): Promise<string | undefined> {
  try {
    const meta = await send(`${base}/.well-known/oauth-authorization-server`, { headers: { accept: 'application/json' } });
    if (!meta.body || typeof (meta.body as { issuer?: unknown }).issuer !== 'string') return undefined;
  } catch {
    return undefined;
  }
  try {
    await send(`${base}/admin/v1/openapi.json`, { headers: { accept: 'application/json', authorization: `Bearer ${token}` } });
    return undefined;
  } catch (err) {
    if (!(err instanceof HttpError) || err.status !== 404) return undefined;
  }
  return `${base} is a public listener (it serves the OAuth metadata, not the admin API): the admin API is on the admin listener, ADMIN_PORT (default 8081); pass that as --url or TOKENMILL_URL`;
}
