import { clientUsable, type Client } from '../../clients/client.js';
import { matchSecret, matchesExpiredSecret } from '../../clients/secret.js';
import { InvalidClient, InvalidRequest } from '../../errors/oauth-errors.js';
import type { OAuthContext } from '../context.js';
import { MAX_CLIENT_ID, MAX_CLIENT_SECRET, isVschar } from '../../protocol/index.js';
import type { Params } from '../params.js';
import { parseBasicCredentials, splitAuthorization } from './client-secret-basic.js';
import { authenticateAssertion } from './private-key-jwt.js';
import { RefusalFloor } from './refusal-floor.js';

/** Form parameters that carry client credentials. */
export const CLIENT_AUTH_PARAMS = ['client_id', 'client_secret', 'client_assertion', 'client_assertion_type'] as const;

export type Caller = { kind: 'client'; client: Client } | { kind: 'admin' };

async function authenticateSecret(clientId: string, secret: string, method: 'client_secret_basic' | 'client_secret_post', ctx: OAuthContext): Promise<Client> {
  const client = await ctx.clients.get(clientId);
  const now = ctx.clock.now();
  // The comparison runs whether or not the client exists (REQ-A4).
  const secretId = matchSecret(secret, client ? client.secrets : null, now);
  if (!client) throw new InvalidClient('unknown client', 'secret');
  if (secretId === null) throw matchesExpiredSecret(secret, client.secrets, now) ? new InvalidClient('expired secret', 'expired_secret') : new InvalidClient('wrong secret', 'secret');
  if (!clientUsable(client)) throw new InvalidClient('client is disabled', 'disabled');
  if (client.tokenEndpointAuthMethod !== method) throw new InvalidClient(`client is registered for ${client.tokenEndpointAuthMethod}, not ${method}`, 'method_mismatch');
  ctx.secretUsed(secretId, now);
  return client;
}

/**
 * Authenticates the caller with exactly one method (RFC 6749 §2.3, REQ-A1), detected from the
 * request's shape, and requires the method the client registered (REQ-A2). A body `client_id`
 * that differs from the authenticated client is invalid_request (REQ-A3). With `allowAdmin`, a
 * `Bearer` admin token is accepted too (introspection and the revocation feed). Every
 * invalid_client is answered after the same floor (refusal-floor.ts).
 */
export async function authenticateCaller(params: Params, authorization: string | undefined, ctx: OAuthContext, allowAdmin = false): Promise<Caller> {
  const floor = new RefusalFloor();
  try {
    return await authenticateOnce(params, authorization, ctx, allowAdmin);
  } catch (err) {
    if (!(err instanceof InvalidClient)) throw err;
    await floor.wait();
    // threat model C3: no challenge when the credentials came in the body (client_secret_post, an assertion).
    if (authorization === undefined && hasBodyCredentials(params)) throw new InvalidClient(err.detail ?? 'client authentication failed', err.reason, false);
    throw err;
  } finally {
    floor.cancel();
  }
}

/** Whether the body carries a client secret or a client assertion (an empty value is omitted by the parser). */
function hasBodyCredentials(params: Params): boolean {
  return params.get('client_secret') !== undefined || params.get('client_assertion') !== undefined || params.get('client_assertion_type') !== undefined;
}

async function authenticateOnce(params: Params, authorization: string | undefined, ctx: OAuthContext, allowAdmin: boolean): Promise<Caller> {
  const bodyClientId = params.get('client_id');
  if (bodyClientId !== undefined && !isVschar(bodyClientId, MAX_CLIENT_ID)) throw new InvalidRequest('the client_id is malformed');
  const bodySecret = params.get('client_secret');
  const assertion = params.get('client_assertion');
  const assertionType = params.get('client_assertion_type');

  let basic: { clientId: string; clientSecret: string } | null = null;
  let bearer: string | null = null;
  if (authorization !== undefined) {
    const { scheme, credentials } = splitAuthorization(authorization);
    if (scheme === 'basic') basic = parseBasicCredentials(credentials);
    else if (scheme === 'bearer' && allowAdmin) bearer = credentials;
    else throw new InvalidRequest('unsupported Authorization scheme');
  }
  const methods = Number(basic !== null) + Number(bearer !== null) + Number(bodySecret !== undefined) + Number(assertion !== undefined || assertionType !== undefined);
  if (methods > 1) throw new InvalidRequest('client authentication must use exactly one method');

  if (bearer !== null) {
    if (bodyClientId !== undefined) throw new InvalidRequest('client_id is not expected with a bearer credential');
    if (!ctx.isAdminToken(bearer)) throw new InvalidClient('bad bearer credential', 'bearer');
    return { kind: 'admin' };
  }
  if (basic !== null) {
    if (bodyClientId !== undefined && bodyClientId !== basic.clientId) throw new InvalidRequest('client_id does not match the authenticated client');
    return { kind: 'client', client: await authenticateSecret(basic.clientId, basic.clientSecret, 'client_secret_basic', ctx) };
  }
  if (bodySecret !== undefined) {
    if (bodyClientId === undefined) throw new InvalidRequest('client_secret requires client_id');
    if (!isVschar(bodySecret, MAX_CLIENT_SECRET)) throw new InvalidRequest('the client_secret is malformed');
    return { kind: 'client', client: await authenticateSecret(bodyClientId, bodySecret, 'client_secret_post', ctx) };
  }
  if (assertion !== undefined || assertionType !== undefined) {
    if (assertion === undefined) throw new InvalidRequest('client_assertion is missing');
    const client = await authenticateAssertion(assertion, assertionType, bodyClientId, ctx);
    ctx.clientUsed?.(client.clientId, ctx.clock.now());
    return { kind: 'client', client };
  }
  // RFC 6749 §5.2: "no client authentication included" is invalid_client.
  throw new InvalidClient(bodyClientId === undefined ? 'no client authentication' : 'client_id without credentials', 'missing');
}
