import { InvalidScope } from '../errors/oauth-errors.js';
import { parseScope } from '../protocol/index.js';

/**
 * The scopes to grant (RFC 6749 §3.3): every requested scope must be allowed for the client, else
 * invalid_scope (rejected, never silently narrowed: threat model REQ-G4); no request means the
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
