/**
 * Node / Express / Connect-style middleware guarding routes with tokenmill access tokens.
 *
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extractBearerToken } from './bearer.js';
import { VerifyError } from './errors.js';
import { normalizeOrg, normalizeScopes, orgOf, type GuardOptions, type VerifierOptions } from './options.js';
import { createVerifier, type AccessTokenClaims, type Verifier } from './verifier.js';

/** A request that went through the middleware: `auth` holds the verified claims. */
export type AuthenticatedRequest = IncomingMessage & { auth?: AccessTokenClaims };

/** Express-style `next`: call with nothing to continue, with an error to hand it to error handlers. */
export type NextFunction = (err?: unknown) => void;

/** The middleware returned by {@link tokenmillMiddleware}. */
export interface TokenmillMiddleware {
  (req: IncomingMessage, res: ServerResponse, next: NextFunction): void;
  /** The verifier in use. */
  readonly verifier: Verifier;
  /** Closes the verifier if the middleware created it (no-op for a verifier passed in). */
  close(): Promise<void>;
}

/** Writes a {@link VerifyError} as the RFC 6750 response. */
export function writeVerifyError(res: ServerResponse, err: VerifyError): void {
  const body = JSON.stringify(err.toJSON());
  res.statusCode = err.status;
  if (err.wwwAuthenticate !== undefined) res.setHeader('WWW-Authenticate', err.wwwAuthenticate);
  if (err.retryAfter !== undefined) res.setHeader('Retry-After', String(err.retryAfter));
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

function isVerifier(v: unknown): v is Verifier {
  return typeof v === 'object' && v !== null && typeof (v as Verifier).verify === 'function' && typeof (v as Verifier).stats === 'function';
}

/**
 * Creates `(req, res, next)` middleware. It reads `Authorization: Bearer <token>` (scheme
 * case-insensitive, exactly one token), verifies it, sets `req.auth` to the claims and calls `next()`;
 * on failure it answers 400/401/403/503 with the RFC 6750 `WWW-Authenticate` header and a JSON
 * `{"error","error_description"}` body, without calling `next`. Unexpected errors go to `next(err)`.
 *
 * @param verifierOrOptions - a {@link Verifier} to share, or options to create one (close it with
 *   `middleware.close()`).
 * @param options - `{ scope, org }`: the scopes every request must carry, and the organization its
 *   token must belong to: an id, or `{ param: 'org' }` to read `req.params.org` (Express sets
 *   `req.params` for middleware on a route such as `/orgs/:org/...`; a request without it is refused).
 *
 * @example
 * ```ts
 * const verifier = createVerifier({ issuer, audience });
 * app.get('/orders', tokenmillMiddleware(verifier, { scope: 'orders:read' }), (req, res) => res.json(req.auth));
 * ```
 */
export function tokenmillMiddleware(verifierOrOptions: Verifier | VerifierOptions, options: GuardOptions = {}): TokenmillMiddleware {
  const owned = !isVerifier(verifierOrOptions);
  const verifier = isVerifier(verifierOrOptions) ? verifierOrOptions : createVerifier(verifierOrOptions);
  const scope = normalizeScopes(options.scope);
  const org = normalizeOrg(options.org);
  const middleware = (req: IncomingMessage, res: ServerResponse, next: NextFunction): void => {
    let token: string | undefined;
    try {
      token = extractBearerToken(req, verifier.issuer);
    } catch (err) {
      if (err instanceof VerifyError) writeVerifyError(res, err);
      else next(err);
      return;
    }
    verifier.verify(token, { scope, ...orgOf(org, (req as IncomingMessage & { params?: unknown }).params) }).then(
      (claims) => {
        (req as AuthenticatedRequest).auth = claims;
        next();
      },
      (err: unknown) => {
        if (err instanceof VerifyError && !res.headersSent) writeVerifyError(res, err);
        else next(err);
      },
    );
  };
  return Object.assign(middleware, {
    verifier,
    close: async (): Promise<void> => {
      if (owned) await verifier.close();
    },
  });
}
