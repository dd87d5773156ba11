import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { StoreUnavailableError } from '../storage/types.js';
import { errorFields } from '../logger.js';
import { sanitizeDescription } from '../protocol/index.js';
import { OAuthError } from './oauth-error.js';
import { InsufficientScope, InvalidClient, InvalidClientMetadata, InvalidRequest, InvalidToken, PayloadTooLarge, TemporarilyUnavailable } from './oauth-errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** the OAuth error code for a schema violation on this route (default invalid_request) */
    schemaErrorCode?: 'invalid_request' | 'invalid_client_metadata';
  }
}

/** Maps anything thrown to the OAuthError that answers it. */
function toOAuthError(err: FastifyError | Error, request: FastifyRequest): OAuthError | null {
  if (err instanceof OAuthError) return err;
  if (err instanceof StoreUnavailableError) return new TemporarilyUnavailable(`the ${err.store} is unavailable; retry later`);
  const fe = err as FastifyError;
  if (fe.validation) {
    const first = fe.validation[0];
    const params = (first?.params ?? {}) as { missingProperty?: string; additionalProperty?: string };
    const path = first?.instancePath?.replace(/^\//, '').replace(/\//g, '.') ?? '';
    const named = params.additionalProperty ?? params.missingProperty;
    const field = [path, named].filter(Boolean).join('.') || fe.validationContext || 'body';
    const message = params.additionalProperty ? `${field}: is not a known field` : `${field}: ${first?.message ?? 'is invalid'}`;
    return request.routeOptions.config.schemaErrorCode === 'invalid_client_metadata' ? new InvalidClientMetadata(message) : new InvalidRequest(message);
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PayloadTooLarge();
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new InvalidRequest('the request body is malformed or of an unsupported type');
    default:
      break;
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return new InvalidRequest('the request is malformed');
  return null;
}

/**
 * The only serializer of errors (architecture "Errors"): `{"error","error_description"}` with the status and the
 * headers the RFCs require — a Basic challenge on invalid_client unless the credentials came in
 * the body (RFC 6749 §5.2, threat model C3) and RFC 6750 §3 Bearer challenges.
 */
export function createErrorHandler(issuer: string) {
  const realm = `realm="${issuer}"`;
  return function errorHandler(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
    const oauth = toOAuthError(err, request);
    if (!oauth) {
      // Only what identifies the fault: database errors carry the statement's parameters, which can hold hashes and client input.
      request.log.error({ err: errorFields(err) }, 'unhandled error');
      request.failure = { error: 'server_error' };
      return reply
        .code(500)
        .header('cache-control', 'no-store')
        .header('pragma', 'no-cache')
        .type('application/json; charset=utf-8')
        .send({ error: 'server_error', error_description: 'internal error' });
    }
    request.failure = oauth.detail === undefined ? { error: oauth.error } : { error: oauth.error, detail: oauth.detail };
    if (err instanceof StoreUnavailableError) request.failure.detail = err.message;
    // No error response is cacheable (RFC 6749 §5.1 for the OAuth endpoints; harmless elsewhere).
    reply.code(oauth.status).headers(oauth.headers).header('cache-control', 'no-store').header('pragma', 'no-cache');
    if (oauth instanceof InvalidClient) {
      if (oauth.challenge) reply.header('www-authenticate', `Basic ${realm}`);
    } else if (oauth instanceof InvalidToken)
      reply.header('www-authenticate', oauth.bearerError ? `Bearer ${realm}, error="${oauth.bearerError}", error_description="${sanitizeDescription(oauth.description ?? '')}"` : `Bearer ${realm}`);
    else if (oauth instanceof InsufficientScope)
      reply.header('www-authenticate', `Bearer ${realm}, error="insufficient_scope", error_description="${sanitizeDescription(oauth.description ?? '')}", scope="${oauth.requiredScope}"`);
    return reply.type('application/json; charset=utf-8').send(oauth.toJSON());
  };
}
