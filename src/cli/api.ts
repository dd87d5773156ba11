import type { Static } from '@sinclair/typebox';
import type * as Schemas from '../schemas/admin.js';
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

// The shapes the admin API answers with: the TypeBox schemas its routes are declared with.
export type SecretView = Static<typeof Schemas.SecretView>;
export type ClientView = Static<typeof Schemas.ClientView>;
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}
export type CreatedClient = Static<typeof Schemas.CreatedClient>;
export type RotatedSecret = Static<typeof Schemas.RotatedSecret>;
export type RotatedRegistrationToken = Static<typeof Schemas.RotatedRegistrationToken>;
export type KeyView = Static<typeof Schemas.KeyView>;
export type TokenQuotaView = Static<typeof Schemas.TokenQuota>;
export type ClientUsage = Static<typeof Schemas.ClientUsage>;
export type UsageTop = Static<typeof Schemas.UsageTop>;
export type AuditView = Static<typeof Schemas.AuditView>;
export type OrgView = Static<typeof Schemas.OrgView>;
export type IssuedIat = Static<typeof Schemas.IssuedIat>;
