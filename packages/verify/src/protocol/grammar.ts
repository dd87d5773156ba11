/**
 * RFC 6749 Appendix A grammar shared by the server and the verifier.
 *
 * @packageDocumentation
 */

/** Longest client_id accepted anywhere. */
export const MAX_CLIENT_ID = 255;
/** Longest client_secret accepted anywhere. */
export const MAX_CLIENT_SECRET = 512;

/** RFC 6749 App. A: VSCHAR = %x20-7E. */
export function isVschar(value: string, maxLength: number): boolean {
  return value.length > 0 && value.length <= maxLength && /^[\x20-\x7E]+$/.test(value);
}

/** RFC 6749 §3.3 / App. A.4: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** Whether `value` is one RFC 6749 scope-token. */
export function isScopeToken(value: string): boolean {
  return SCOPE_TOKEN.test(value);
}

/** Parses a scope parameter (scope-tokens separated by single spaces), without duplicates; null when the grammar is violated. */
export function parseScope(value: string): string[] | null {
  const tokens = value.split(' ');
  if (tokens.some((t) => !isScopeToken(t))) return null;
  return [...new Set(tokens)];
}

/**
 * RFC 6749 §5.2 / RFC 6750 §3: `error_description` holds only %x20-21 / %x23-5B / %x5D-7E, so no
 * quote, backslash, control character or non-ASCII reaches a client (or a WWW-Authenticate value).
 * `§` becomes `section `, `"` becomes `'`, `\` becomes `/`, anything else outside the set `?`; the
 * result is cut to `maxLength` characters.
 */
export function sanitizeDescription(text: string, maxLength = 200): string {
  return text
    .replace(/§\s?/g, 'section ')
    .replace(/"/g, "'")
    .replace(/\\/g, '/')
    .replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, '?')
    .slice(0, maxLength);
}
