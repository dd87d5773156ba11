/**
 * Errors raised by the tokenmill resource-server verifier, shaped for RFC 6750 §3 responses.
 *
 * @packageDocumentation
 */
import { sanitizeDescription } from './protocol/index.js';

export { sanitizeDescription } from './protocol/index.js';

/**
 * The error codes a {@link VerifyError} carries.
 *
 * - `invalid_request` (RFC 6750 §3.1): no bearer token at all (status 401, the challenge then carries no
 *   error attribute) or a malformed `Authorization` header, e.g. more than one token (status 400).
 * - `invalid_token` (401): the token is malformed, badly signed, expired, for another audience or issuer,
 *   of the wrong `typ`, or revoked.
 * - `insufficient_scope` (403): the token is valid but lacks a required scope.
 * - `temporarily_unavailable` (503): the verifier cannot decide right now (authorization server metadata
 *   or JWKS unreachable, or the revocation feed stale while `failClosed` is on). Not an RFC 6750 code;
 *   borrowed from RFC 6749 §4.1.2.1 as tokenmill does everywhere for dependency outages.
 */
export type VerifyErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'temporarily_unavailable';

/** HTTP status codes a {@link VerifyError} carries. */
export type VerifyErrorStatus = 400 | 401 | 403 | 503;

/** Options for constructing a {@link VerifyError}. */
export interface VerifyErrorInit {
  /** HTTP status to answer with. */
  status: VerifyErrorStatus;
  /** The error code (also the `error` member of the JSON body). */
  code: VerifyErrorCode;
  /** Human-readable text; sanitised to RFC 6749 error_description characters, never holds token content. */
  description: string;
  /** The realm of the challenge: the issuer identifier. */
  realm: string;
  /** For `insufficient_scope`: the scopes the request needed (the `scope` attribute of the challenge). */
  scope?: readonly string[];
  /** For `invalid_request` with status 401: the request carried no token, so the challenge has no error. */
  missingToken?: boolean;
  /** For 503: seconds the caller should wait (`Retry-After`). */
  retryAfter?: number;
  /** The underlying cause, for logs only (never sent to the client). */
  cause?: unknown;
}

/** Quotes a value for an auth-param (RFC 9110 §11.2 quoted-string), escaping `"` and `\`. */
function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * Builds the RFC 6750 §3 `WWW-Authenticate` value.
 *
 * @param realm - the realm (the issuer identifier).
 * @param error - the error code, or `undefined` for a request that carried no token (§3.1: no error then).
 * @param description - the `error_description` (sanitised again here).
 * @param scope - for `insufficient_scope`, the scopes needed.
 */
export function bearerChallenge(realm: string, error?: string, description?: string, scope?: readonly string[]): string {
  let value = `Bearer realm=${quote(realm)}`;
  if (error === undefined) return value;
  value += `, error=${quote(error)}`;
  if (description) value += `, error_description=${quote(sanitizeDescription(description))}`;
  if (scope && scope.length > 0) value += `, scope=${quote(scope.join(' '))}`;
  return value;
}

/**
 * The error thrown by `verify()` (and sent by the Fastify plugin and the middleware).
 *
 * Send `status`, the `WWW-Authenticate: <wwwAuthenticate>` header when it is defined, `Retry-After` when
 * `retryAfter` is defined, and a JSON body `{"error": code, "error_description": description}` — or let
 * {@link VerifyError.toJSON} produce that body.
 *
 * @example
 * ```ts
 * try { req.auth = await verifier.verify(token, { scope: 'orders:read' }); }
 * catch (err) {
 *   if (!(err instanceof VerifyError)) throw err;
 *   if (err.wwwAuthenticate) res.setHeader('WWW-Authenticate', err.wwwAuthenticate);
 *   res.writeHead(err.status, { 'content-type': 'application/json' }).end(JSON.stringify(err));
 * }
 * ```
 */
export class VerifyError extends Error {
  /** HTTP status: 400, 401, 403 or 503. */
  readonly status: VerifyErrorStatus;
  /** Error code, also the `error` member of the body. */
  readonly code: VerifyErrorCode;
  /** Sanitised, token-free description (the `error_description`). */
  readonly description: string;
  /**
   * The RFC 6750 `WWW-Authenticate` value to send with a 400, 401 or 403; `undefined` for 503.
   * - no token: `Bearer realm="<issuer>"`
   * - invalid: `Bearer realm="<issuer>", error="invalid_token", error_description="<text>"`
   * - scope: `Bearer realm="<issuer>", error="insufficient_scope", error_description="<text>", scope="<scopes>"`
   */
  readonly wwwAuthenticate: string | undefined;
  /** For 503: seconds to put in `Retry-After`. */
  readonly retryAfter: number | undefined;
  /** For `insufficient_scope`: the scopes the request needed. */
  readonly requiredScopes: readonly string[] | undefined;

  constructor(init: VerifyErrorInit) {
    const description = sanitizeDescription(init.description);
    super(description, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'VerifyError';
    this.status = init.status;
    this.code = init.code;
    this.description = description;
    this.requiredScopes = init.scope ? [...init.scope] : undefined;
    this.retryAfter = init.retryAfter;
    if (init.status === 503) this.wwwAuthenticate = undefined;
    else if (init.missingToken) this.wwwAuthenticate = bearerChallenge(init.realm);
    else this.wwwAuthenticate = bearerChallenge(init.realm, init.code, description, init.scope);
  }

  /** The JSON error body: `{"error": code, "error_description": description}`. */
  toJSON(): { error: VerifyErrorCode; error_description: string } {
    return { error: this.code, error_description: this.description };
  }
}

/** Shorthand for a 401 `invalid_token` error. */
export function invalidToken(realm: string, description: string, cause?: unknown): VerifyError {
  return new VerifyError({ status: 401, code: 'invalid_token', description, realm, cause });
}

/** Shorthand for a 503 `temporarily_unavailable` error. */
export function unavailable(realm: string, description: string, cause?: unknown, retryAfter = 1): VerifyError {
  return new VerifyError({ status: 503, code: 'temporarily_unavailable', description, realm, cause, retryAfter });
}
