import type { Client } from '../../clients/client.js';
import { UnauthorizedClient } from '../../errors/oauth-errors.js';
import { mintAccessToken, type IssuedToken } from '../access-token.js';
import { resolveAudience } from '../audience.js';
import type { OAuthContext } from '../context.js';
import type { Params } from '../params.js';
import { resolveScopes } from '../scope.js';

/**
 * RFC 6749 §4.4 for an authenticated client: grant allowed, then scope, then audience (threat model
 * C6), then its token quota (docs/contract.md "Quotas"; throws TooManyRequests), then the token with
 * the RateLimit headers to send (none when the client has no quota).
 */
export async function clientCredentialsGrant(client: Client, params: Params, ctx: OAuthContext): Promise<IssuedToken & { rateLimit: Record<string, string> }> {
  if (!client.grantTypes.includes('client_credentials')) throw new UnauthorizedClient();
  const scopes = resolveScopes(params.get('scope'), client.scopes);
  const resource = params.has('resource') ? [...params.getAll('resource')] : undefined;
  const audience = resolveAudience(resource, params.get('audience'), client.audiences, ctx.config.issuer);
  const rateLimit = ctx.quota?.admit(client) ?? {};
  return { ...(await mintAccessToken(client, scopes, audience, ctx)), rateLimit };
}
