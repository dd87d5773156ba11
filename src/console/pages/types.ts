import type { Static } from '@sinclair/typebox';
import type { AuditView, ClientView, KeyView } from '../../schemas/admin.js';

/** The admin API's views, as the console receives them from the in-process API. */
export type ClientData = Static<typeof ClientView>;
export type KeyData = Static<typeof KeyView>;
export type AuditData = Static<typeof AuditView>;

/** Field name → message, from an admin API error such as `scope: must be …`. */
export type FieldErrors = Record<string, string>;

/** Splits an admin API error description into the field it names and the message (else `_form`). */
export function fieldErrors(description: string): FieldErrors {
  const m = /^([a-z_]+)(?:\.[^:]*)?: (.*)$/s.exec(description);
  return m && m[1] && m[2] ? { [m[1]]: m[2] } : { _form: description };
}

const WEEK = 7 * 86_400_000;

/** Whether a live secret of the client expires within 7 days of `now`. */
export function secretExpiringSoon(c: ClientData, now: number): boolean {
  return c.secrets.some((s) => s.status === 'active' && s.expires_at !== null && Date.parse(s.expires_at) - now <= WEEK);
}
