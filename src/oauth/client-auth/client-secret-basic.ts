import { InvalidRequest } from '../../errors/oauth-errors.js';
import { MAX_CLIENT_ID, MAX_CLIENT_SECRET, isVschar } from '../../protocol/index.js';

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** application/x-www-form-urlencoded decoding (RFC 6749 App. B): `+` is a space, then percent-decoding. */
function formDecode(value: string): string {
  // Nothing to decode (the usual case: generated ids and secrets are base62 and `_`).
  if (!value.includes('%') && !value.includes('+')) return value;
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw new InvalidRequest('the Authorization header is malformed');
  }
}

export interface BasicCredentials {
  clientId: string;
  clientSecret: string;
}

/**
 * Decodes `Basic <credentials>` per RFC 6749 §2.3.1 and RFC 7617: strict base64, split at the first
 * `:`, then form-decode each half. Any syntax fault is invalid_request (threat model REQ-B1..B3).
 * `credentials` is what follows the scheme and its single space.
 */
export function parseBasicCredentials(credentials: string): BasicCredentials {
  if (credentials.length === 0 || credentials.length > 4096 || !STRICT_BASE64.test(credentials)) throw new InvalidRequest('the Authorization header is malformed');
  let decoded: string;
  try {
    decoded = utf8.decode(Buffer.from(credentials, 'base64'));
  } catch {
    throw new InvalidRequest('the Authorization header is malformed');
  }
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new InvalidRequest('the Authorization header is malformed');
  const clientId = formDecode(decoded.slice(0, colon));
  const clientSecret = formDecode(decoded.slice(colon + 1));
  if (clientSecret === '') throw new InvalidRequest('client_secret must be provided in the Authorization header');
  if (!isVschar(clientId, MAX_CLIENT_ID)) throw new InvalidRequest('the client_id is malformed');
  if (!isVschar(clientSecret, MAX_CLIENT_SECRET)) throw new InvalidRequest('the client_secret is malformed');
  return { clientId, clientSecret };
}

/** Splits an Authorization header into its scheme (lower-cased) and credentials; exactly one space between them. */
export function splitAuthorization(header: string): { scheme: string; credentials: string } {
  const match = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*) ([^ ].*)$/s.exec(header);
  if (!match) throw new InvalidRequest('the Authorization header is malformed');
  return { scheme: (match[1] ?? '').toLowerCase(), credentials: match[2] ?? '' };
}
