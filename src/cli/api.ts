import { CliError, HttpError } from './errors.js';
import { send } from './http.js';
import { publicListenerHint } from './hints.js';

/** The admin API (`/admin/v1` on the admin listener), Bearer-authenticated. Never echoes its token. */
export class AdminApi {
  readonly #root: string;
  readonly #base: string;
  readonly #token: string;

  constructor(base: string, token: string) {
    this.#root = base;
    this.#base = `${base}/admin/v1`;
    this.#token = token;
  }

  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.#token}`, accept: 'application/json' };
    const init: RequestInit = { method, headers };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    try {
      const res = await send(`${this.#base}${path}`, init);
      return res.body as T;
    } catch (err) {
      // A 404 from a server that has no admin API at all: most likely the public listener.
      if (err instanceof HttpError && err.status === 404) err.hint ??= await publicListenerHint(this.#root, this.#token);
      throw err;
    }
  }

  get<T = unknown>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
    const qs = q.toString();
    return this.request<T>('GET', qs ? `${path}?${qs}` : path);
  }
}

/** A path segment for an id the user typed. */
export const seg = (id: string): string => {
  if (id === '') throw new CliError('an id must not be empty', 2);
  return encodeURIComponent(id);
};

// The shapes the admin API answers with (src/schemas/admin.ts).
export interface SecretView {
  secret_id: string;
  prefix: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  status: 'active' | 'expired';
}
export interface ClientView {
  client_id: string;
  client_name: string | null;
  status: 'active' | 'disabled';
  token_endpoint_auth_method: string;
  token_endpoint_auth_signing_alg: string | null;
  access_token_signing_alg: string | null;
  grant_types: string[];
  scope: string;
  audience: string[];
  access_token_ttl: number | null;
  jwks: { keys: Record<string, unknown>[] } | null;
  jwks_uri: string | null;
  created_at: string;
  updated_at: string;
  last_used_at: string | null;
  secrets: SecretView[];
}
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}
export interface CreatedClient {
  client: ClientView;
  client_secret: string | null;
  secret_id: string | null;
}
export interface RotatedSecret {
  secret_id: string;
  client_secret: string;
  expires_at: string | null;
  prefix: string;
}
export interface RotatedRegistrationToken {
  registration_access_token: string;
  registration_client_uri: string;
}
export interface KeyView {
  kid: string;
  alg: string;
  state: 'published' | 'active' | 'retired';
  origin: string;
  created_at: string;
  activates_at: string;
  retires_at: string | null;
  remove_at: string | null;
}
export interface AuditView {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  outcome: 'success' | 'failure';
  request_id: string | null;
  status: number | null;
}
