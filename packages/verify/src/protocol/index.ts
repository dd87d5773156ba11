/**
 * `@tokenmill/verify/protocol` — the constants, grammar and wire formats the tokenmill server and its
 * verifier share: access-token algorithms, `typ` and claims, client authentication methods and HTTP
 * Basic credentials, RFC 6749 grammar, and the Redis key and stream layout.
 *
 * @packageDocumentation
 */
export { ACCESS_TOKEN_ALGS, ACCESS_TOKEN_TYP, MAX_TOKEN_LIFETIME } from './algorithms.js';
export type { AccessTokenAlg, AccessTokenClaims } from './algorithms.js';
export { CLIENT_AUTH_METHODS, basicCredentials, formEncode } from './client-auth.js';
export type { ClientAuthMethod } from './client-auth.js';
export { MAX_CLIENT_ID, MAX_CLIENT_SECRET, isScopeToken, isVschar, parseScope, sanitizeDescription } from './grammar.js';
export { DEFAULT_REDIS_KEY_PREFIX, REVOCATION_ENTRY, redisKeys } from './redis.js';
export type { RedisKeys } from './redis.js';
