import { InvalidClientMetadata } from '../errors/oauth-errors.js';
import { REGISTRATION_METADATA_FIELDS, type ClientMetadata } from './registration.js';

/**
 * What a client may change about itself through RFC 7592 with its registration access token: fields
 * that grant nothing. Everything else (scope, audience, lifetimes, algorithms, grants, the auth
 * method, and any field added later) is privileged: only the admin API changes it.
 */
export const SELF_SERVICE_FIELDS = ['client_name', 'contacts', 'jwks', 'jwks_uri'] as const;

/**
 * The patch a self-service update may apply: the allow-listed fields, nothing else. (`contacts` is
 * not stored yet: the registration parser ignores it, so it is dropped like any unknown member.)
 */
export type SelfServicePatch = Pick<ClientMetadata, 'clientName' | 'jwks' | 'jwksUri'>;

/**
 * RFC 7591 §3.2.1 / RFC 7592 §3 members the server issues. A client reading its registration and
 * PUTting it back sends them too; they are ignored (client_id and client_secret are checked by the route).
 */
const SERVER_ISSUED = new Set(['client_id', 'client_secret', 'client_id_issued_at', 'client_secret_expires_at', 'registration_access_token', 'registration_client_uri']);
const SELF_SERVICE = new Set<string>(SELF_SERVICE_FIELDS);

const isEmpty = (v: unknown): boolean => v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);

/** JSON with object keys sorted, so two equal values compare equal as strings. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/** Whether `sent` is the stored value, as a client echoing its metadata would send it. */
function isEcho(field: string, sent: unknown, stored: unknown): boolean {
  // RFC 7592 §2.2: null and empty mean "not set"; they echo a field that is not set.
  if (isEmpty(sent) || isEmpty(stored)) return isEmpty(sent) && isEmpty(stored);
  // a scope is a set (RFC 6749 §3.3); audience order matters: the first is the default
  if (field === 'scope' && typeof sent === 'string' && typeof stored === 'string') return canonical([...new Set(sent.split(' '))].sort()) === canonical([...new Set(stored.split(' '))].sort());
  if (field === 'audience' && typeof sent === 'string') return canonical([sent]) === canonical(stored);
  return canonical(sent) === canonical(stored);
}

/**
 * The metadata an RFC 7592 §2.2 update asks for, under the self-service policy: the allow-listed
 * fields as sent (the PUT replaces them; omitted means removed), every other field as stored.
 * A privileged field may be omitted or echoed unchanged; a different value is refused with
 * invalid_client_metadata naming it (RFC 7592 §2.2 lets the server refuse a value). A field the
 * server does not know is ignored (RFC 7591 §2) and, like every field not on the allow-list, never
 * passed on — so a privileged field added later cannot be changed here even before it is listed.
 *
 * `stored` is the client's metadata as RFC 7592 §2.1 returns it.
 */
export function selfServiceMetadata(stored: Readonly<Record<string, unknown>>, body: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const known = new Set<string>([...REGISTRATION_METADATA_FIELDS, ...Object.keys(stored)]);
  for (const [field, value] of Object.entries(body)) {
    if (SELF_SERVICE.has(field) || SERVER_ISSUED.has(field) || !known.has(field)) continue;
    if (!isEcho(field, value, stored[field])) {
      throw new InvalidClientMetadata(`${field}: cannot be changed by the client itself (RFC 7592 section 2.2); an administrator changes it through the admin API`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(stored)) if (!SELF_SERVICE.has(field) && !SERVER_ISSUED.has(field)) out[field] = value;
  for (const field of SELF_SERVICE_FIELDS) if (Object.hasOwn(body, field)) out[field] = body[field];
  return out;
}

/** The part of validated metadata a self-service update writes: the allow-listed fields only. */
export function selfServicePatch(meta: ClientMetadata): SelfServicePatch {
  return { clientName: meta.clientName, jwks: meta.jwks, jwksUri: meta.jwksUri };
}
