/**
 * `tokenmill/verify` — offline verification of tokenmill access tokens for resource servers.
 *
 * - {@link createVerifier}: JWKS-backed RFC 9068 verification with a revocation deny set kept in sync.
 * - {@link VerifyError}: the error `verify` throws, carrying `status`, `code` and the RFC 6750 header.
 * - {@link tokenmillAuth}: Fastify plugin; {@link tokenmillMiddleware}: Node/Express middleware.
 *
 * @packageDocumentation
 */
export { createVerifier } from './verifier.js';
export type { AccessTokenClaims, Verifier, VerifierStats } from './verifier.js';
export { normalizeScopes, DEFAULT_ALGORITHMS } from './options.js';
export type { GuardOptions, OrgRequirement, PollRevocationOptions, RedisRevocationOptions, VerifierAlgorithm, VerifierOptions, VerifyOptions } from './options.js';
export { VerifierConfigError } from './metadata.js';
export { MAX_TOKEN_LENGTH, REQUIRED_CLAIMS } from './claims.js';
export { VerifyError, bearerChallenge, sanitizeDescription } from './errors.js';
export type { VerifyErrorCode, VerifyErrorInit, VerifyErrorStatus } from './errors.js';
export { extractBearerToken } from './bearer.js';
export { tokenmillAuth, sendVerifyError } from './fastify.js';
export type { TokenmillAuthOptions, TokenmillFastify } from './fastify.js';
export { tokenmillMiddleware, writeVerifyError } from './express.js';
export type { AuthenticatedRequest, NextFunction, TokenmillMiddleware } from './express.js';
export type { SyncStatus } from './sync.js';
