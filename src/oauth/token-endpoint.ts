import { InvalidRequest, UnsupportedGrantType } from '../errors/oauth-errors.js';
import type { IssuedToken } from './access-token.js';
import { CLIENT_AUTH_PARAMS, authenticateCaller } from './client-auth/index.js';
import type { OAuthContext } from './context.js';
import { clientCredentialsGrant } from './grants/client-credentials.js';
import { readParams, rejectQueryParams } from './params.js';

export const TOKEN_PARAMS = ['grant_type', 'scope', 'resource', 'audience', ...CLIENT_AUTH_PARAMS] as const;

export interface TokenRequest {
  body: unknown;
  query: unknown;
  authorization: string | undefined;
}

export interface TokenResult extends IssuedToken {
  clientId: string;
  /** RateLimit-Policy and RateLimit (docs/contract.md "Quotas"); empty when the client has no quota */
  rateLimit: Record<string, string>;
}

/**
 * POST /oauth2/token, in the order of threat model C6: parameters, grant type, client authentication,
 * then the grant (allowed, scope, audience) and the signed token. `onCaller` learns the
 * authenticated client before the grant is decided (the request log names it on a refusal too).
 */
export async function tokenEndpoint(req: TokenRequest, ctx: OAuthContext, onCaller?: (clientId: string) => void): Promise<TokenResult> {
  rejectQueryParams(req.query, TOKEN_PARAMS);
  const params = readParams(req.body, TOKEN_PARAMS, ['resource']);
  const grantType = params.get('grant_type');
  if (grantType === undefined) throw new InvalidRequest('grant_type is missing');
  if (grantType !== 'client_credentials') throw new UnsupportedGrantType();
  const caller = await authenticateCaller(params, req.authorization, ctx);
  if (caller.kind !== 'client') throw new InvalidRequest('a client must authenticate');
  onCaller?.(caller.client.clientId);
  const issued = await clientCredentialsGrant(caller.client, params, ctx);
  return { ...issued, clientId: caller.client.clientId };
}
