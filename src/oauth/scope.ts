import { InvalidScope } from '../errors/oauth-errors.js';

/** RFC 6749 §3.3 / App. A.4: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), separated by single spaces. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export function isScopeToken(value: string): boolean {
  return SCOPE_TOKEN.test(value);
}

/** Parses a scope parameter; null when the grammar is violated. */
export function parseScope(value: string): string[] | null {
  const tokens = value.split(' ');
  if (tokens.some((t) => !isScopeToken(t))) return null;
  return [...new Set(tokens)];
}

/**
 * The scopes to grant (RFC 6749 §3.3): every requested scope must be allowed for the client, else
 * invalid_scope (rejected, never silently narrowed: SECURITY REQ-G4); no request means the
 * client's registered scopes.
 */
export function resolveScopes(requested: string | undefined, allowed: readonly string[]): string[] {
  if (requested === undefined) return [...allowed];
  const scopes = parseScope(requested);
  if (!scopes) throw new InvalidScope('the scope parameter is malformed');
  const allowedSet = new Set(allowed);
  if (scopes.some((s) => !allowedSet.has(s))) throw new InvalidScope('the requested scope is not allowed for this client');
  return scopes;
}
