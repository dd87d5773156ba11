import { InvalidRequest, InvalidTarget } from '../errors/oauth-errors.js';

/** RFC 8707 §2: an absolute URI without a fragment. */
export function isResourceIndicator(value: string): boolean {
  if (value.includes('#')) return false;
  try {
    const url = new URL(value);
    return url.protocol.length > 1;
  } catch {
    return false;
  }
}

/**
 * The token's audience. `resource` (RFC 8707; at most one for this grant, threat model REQ-G6) or
 * `audience` must be one the client is allowed; none means the client's default (its first),
 * or the issuer when the client has no audience registered.
 */
export function resolveAudience(resource: string[] | undefined, audience: string | undefined, allowed: readonly string[], fallback: string): string {
  if (resource !== undefined && audience !== undefined) throw new InvalidRequest('use either resource or audience, not both');
  let requested: string | undefined;
  if (resource !== undefined) {
    if (resource.length > 1) throw new InvalidTarget('only one resource may be requested for this grant');
    requested = resource[0];
    if (requested === undefined || !isResourceIndicator(requested)) throw new InvalidTarget('resource must be an absolute URI without a fragment');
  } else {
    requested = audience;
  }
  if (requested === undefined) return allowed[0] ?? fallback;
  if (!allowed.includes(requested)) throw new InvalidTarget('the requested resource is not allowed for this client');
  return requested;
}
