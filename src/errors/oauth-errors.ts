import { OAuthError } from './oauth-error.js';

/** RFC 6749 §5.2: malformed, repeated or missing parameter, two auth methods, wrong content type. */
export class InvalidRequest extends OAuthError {
  constructor(description: string, detail?: string) {
    super(400, 'invalid_request', description, detail === undefined ? {} : { detail });
  }
}

/**
 * RFC 6749 §5.2 invalid_client, always 401. The public body is identical for every cause (threat model
 * C4); the cause is `detail`, for the log only. `challenge`: whether the answer carries
 * `WWW-Authenticate: Basic` (threat model C3) — yes when the client used the Authorization header
 * (RFC 6749 §5.2 requires it) or sent no credentials at all; no when the credentials came in the
 * body, as oidc-provider does, since standard clients (openid-client) turn any challenge into a
 * challenge error instead of an invalid_client error.
 */
export class InvalidClient extends OAuthError {
  /** the coarse cause, for tokenmill_client_auth_failures_total (never in the response) */
  readonly reason: ClientAuthFailureReason;
  readonly challenge: boolean;
  constructor(detail: string, reason: ClientAuthFailureReason, challenge = true) {
    super(401, 'invalid_client', 'client authentication failed', { detail });
    this.reason = reason;
    this.challenge = challenge;
  }
}

/**
 * Why a client authentication failed, coarsely. `secret` covers both an unknown client_id and a
 * wrong secret on purpose: not even the metrics tell the two apart.
 */
export type ClientAuthFailureReason =
  /** unknown client or wrong secret (client_secret_basic / client_secret_post) */
  | 'secret'
  /** the secret presented is one of the client's secrets, but expired */
  | 'expired_secret'
  /** a client assertion that fails verification (unknown client, signature, claims, no keys) */
  | 'assertion'
  /** an assertion whose jti was already used, or may have been (replay markers lost) */
  | 'replay'
  /** the client is registered for another token_endpoint_auth_method */
  | 'method_mismatch'
  /** the client is disabled */
  | 'disabled'
  /** no credentials at all (or a client_id without any) */
  | 'missing'
  /** a bad admin bearer credential (introspection, revocation feed) */
  | 'bearer';

export class UnauthorizedClient extends OAuthError {
  constructor(description = 'the client is not allowed to use this grant type') {
    super(400, 'unauthorized_client', description);
  }
}

export class UnsupportedGrantType extends OAuthError {
  constructor() {
    super(400, 'unsupported_grant_type', 'only grant_type=client_credentials is supported');
  }
}

export class InvalidScope extends OAuthError {
  constructor(description: string) {
    super(400, 'invalid_scope', description);
  }
}

/** RFC 8707 §2. */
export class InvalidTarget extends OAuthError {
  constructor(description: string) {
    super(400, 'invalid_target', description);
  }
}

/** RFC 7591 §3.2.2. */
export class InvalidClientMetadata extends OAuthError {
  constructor(description: string) {
    super(400, 'invalid_client_metadata', description);
  }
}

/** RFC 6750 §3.1: bearer token missing (no error code) or invalid. `realm` is filled in by the error handler. */
export class InvalidToken extends OAuthError {
  readonly bearerError: string | null;
  constructor(description?: string, missing = false) {
    super(401, 'invalid_token', description ?? 'the access token is missing, invalid or expired');
    this.bearerError = missing ? null : 'invalid_token';
  }
}

/** RFC 6750 §3.1. */
export class InsufficientScope extends OAuthError {
  readonly requiredScope: string;
  constructor(requiredScope: string) {
    super(403, 'insufficient_scope', 'the access token lacks the required scope');
    this.requiredScope = requiredScope;
  }
}

export class TemporarilyUnavailable extends OAuthError {
  constructor(description = 'a backing service is unavailable; retry later', retryAfterSeconds = 5) {
    super(503, 'temporarily_unavailable', description, { headers: { 'retry-after': String(retryAfterSeconds) } });
  }
}

export class MethodNotAllowed extends OAuthError {
  constructor(allow: string) {
    super(405, 'invalid_request', 'method not allowed', { headers: { allow } });
  }
}

export class PayloadTooLarge extends OAuthError {
  constructor() {
    super(413, 'invalid_request', 'request body too large');
  }
}

export class NotFound extends OAuthError {
  constructor(description = 'not found') {
    super(404, 'not_found', description);
  }
}

export class Conflict extends OAuthError {
  constructor(description: string) {
    super(409, 'conflict', description);
  }
}

/** 429 with Retry-After: a token quota (docs/contract.md "Quotas") or the per-source abuse limiter. */
export class TooManyRequests extends OAuthError {
  constructor(description: string, retryAfterSeconds: number, headers: Record<string, string> = {}) {
    super(429, 'too_many_requests', description, { headers: { ...headers, 'retry-after': String(retryAfterSeconds) } });
  }
}
