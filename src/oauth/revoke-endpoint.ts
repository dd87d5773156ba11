import { InvalidRequest } from '../errors/oauth-errors.js';
import { verifyOwnAccessToken } from './access-token.js';
import { CLIENT_AUTH_PARAMS, authenticateCaller } from './client-auth/index.js';
import type { OAuthContext } from './context.js';
import { readParams, rejectQueryParams } from './params.js';

export const REVOKE_PARAMS = ['token', 'token_type_hint', ...CLIENT_AUTH_PARAMS] as const;

/**
 * RFC 7009 §2.1: the authenticated client revokes one of its own tokens. Unknown, malformed,
 * expired or already revoked tokens succeed silently (§2.2); another client's token is refused
 * (threat model REQ-R4). Returns once the revocation is stored; a storage failure throws (503).
 */
export async function revocationEndpoint(
  req: { body: unknown; query: unknown; authorization: string | undefined },
  ctx: OAuthContext,
  onCaller?: (clientId: string) => void,
): Promise<{ clientId: string }> {
  rejectQueryParams(req.query, REVOKE_PARAMS);
  const params = readParams(req.body, REVOKE_PARAMS);
  const caller = await authenticateCaller(params, req.authorization, ctx);
  if (caller.kind !== 'client') throw new InvalidRequest('a client must authenticate');
  onCaller?.(caller.client.clientId);
  const token = params.get('token');
  if (token === undefined) throw new InvalidRequest('token is missing');
  const claims = await verifyOwnAccessToken(token, ctx);
  if (!claims) return { clientId: caller.client.clientId };
  if (claims.client_id !== caller.client.clientId) throw new InvalidRequest('the token was not issued to this client');
  await ctx.revocations.revokeToken(claims.jti, claims.exp, claims.client_id);
  return { clientId: caller.client.clientId };
}
