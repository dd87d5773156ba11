import { InvalidRequest } from '../errors/oauth-errors.js';
import { liveAccessToken, type AccessTokenClaims } from './access-token.js';
import { CLIENT_AUTH_PARAMS, authenticateCaller, type Caller } from './client-auth/index.js';
import type { OAuthContext } from './context.js';
import { readParams, rejectQueryParams } from './params.js';

export const INTROSPECT_PARAMS = ['token', 'token_type_hint', ...CLIENT_AUTH_PARAMS] as const;

export type IntrospectionResponse = { active: false } | ({ active: true; token_type: 'Bearer' } & AccessTokenClaims);

/**
 * REQ-I5: a client sees tokens issued to itself or addressed to it (its client_id, or an audience it
 * serves within its own organization: a client of another organization, or of none, that lists the
 * same audience is not that tenant's resource server; docs/contract.md "Organizations").
 */
function mayIntrospect(caller: Caller, claims: AccessTokenClaims): boolean {
  if (caller.kind === 'admin') return true;
  const me = caller.client;
  if (claims.client_id === me.clientId) return true;
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (aud.includes(me.clientId)) return true;
  return (claims.org_id ?? null) === me.orgId && aud.some((a) => me.audiences.includes(a));
}

/**
 * RFC 7662 for a token this server minted: active only when the signature, issuer and expiry hold,
 * its client still exists and is active, it is not revoked (checked, or the request fails with
 * 503: REQ-I6), and the caller may see it. Anything else is `{"active": false}` with no other member.
 */
export async function introspect(token: string, caller: Caller, ctx: OAuthContext): Promise<IntrospectionResponse> {
  const live = await liveAccessToken(token, ctx, (claims) => mayIntrospect(caller, claims));
  if (!live) return { active: false };
  return { active: true, token_type: 'Bearer', ...live.claims };
}

export interface IntrospectRequest {
  body: unknown;
  query: unknown;
  authorization: string | undefined;
}

export async function introspectionEndpoint(req: IntrospectRequest, ctx: OAuthContext, onCaller?: (clientId: string) => void): Promise<IntrospectionResponse> {
  rejectQueryParams(req.query, INTROSPECT_PARAMS);
  const params = readParams(req.body, INTROSPECT_PARAMS);
  const caller = await authenticateCaller(params, req.authorization, ctx, true);
  if (caller.kind === 'client') onCaller?.(caller.client.clientId);
  const token = params.get('token');
  if (token === undefined) throw new InvalidRequest('token is missing');
  return introspect(token, caller, ctx);
}
