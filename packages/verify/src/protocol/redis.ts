/**
 * The Redis layout the authorization server writes and the verifier's Redis mode reads. Every key
 * and channel starts with the deployment's prefix (REDIS_KEY_PREFIX, default `tokenmill:`).
 *
 * - `rev:jti:<jti>`: a revoked access token, living until the token's `exp`.
 * - `rev:client:<client_id>`: a client-wide revocation, value `revoked_before`, living until `until`.
 * - `revocations`: the stream of every revocation (see {@link REVOCATION_ENTRY}), trimmed to the
 *   retained window; `rev:nudge`: the pub/sub channel told of each append.
 * - `rev:seeded`: present (holding the Redis `run_id`) once the server has seeded the revocation
 *   state from its durable log.
 * - `replay:epoch`, `replay:untrusted_before`, `jti:<key>`: client-assertion replay state.
 * - `invalidate`: the pub/sub channel of cross-node cache invalidation.
 *
 * @packageDocumentation
 */

/** The default key prefix. */
export const DEFAULT_REDIS_KEY_PREFIX = 'tokenmill:';

/** The keys and channels under one prefix. */
export interface RedisKeys {
  /** Seed marker: Redis holds every live revocation (value: the server's Redis `run_id`). */
  readonly seeded: string;
  /** The revocation stream. */
  readonly revocationStream: string;
  /** Pub/sub channel nudged after each append to the stream. */
  readonly revocationNudge: string;
  /** Prefix of the revoked-jti keys (`revokedToken(jti)` = this + jti). */
  readonly revokedTokenPrefix: string;
  /** Prefix of the client-wide revocation keys (`revokedClient(id)` = this + id). */
  readonly revokedClientPrefix: string;
  /** Key of a revoked jti. */
  revokedToken(jti: string): string;
  /** Key of a client-wide revocation. */
  revokedClient(clientId: string): string;
  /** Replay marker: Redis holds every replay claim made since the last seeding. */
  readonly replayEpoch: string;
  /** Start of the replay untrusted window (epoch seconds), while it lasts. */
  readonly replayUntrustedBefore: string;
  /** Key of one claimed client-assertion jti. */
  replayClaim(key: string): string;
  /** Pub/sub channel of cache invalidation messages. */
  readonly invalidation: string;
}

/** The keys and channels under `prefix`. */
export function redisKeys(prefix: string = DEFAULT_REDIS_KEY_PREFIX): RedisKeys {
  const revokedTokenPrefix = `${prefix}rev:jti:`;
  const revokedClientPrefix = `${prefix}rev:client:`;
  return {
    seeded: `${prefix}rev:seeded`,
    revocationStream: `${prefix}revocations`,
    revocationNudge: `${prefix}rev:nudge`,
    revokedTokenPrefix,
    revokedClientPrefix,
    revokedToken: (jti) => `${revokedTokenPrefix}${jti}`,
    revokedClient: (clientId) => `${revokedClientPrefix}${clientId}`,
    replayEpoch: `${prefix}replay:epoch`,
    replayUntrustedBefore: `${prefix}replay:untrusted_before`,
    replayClaim: (key) => `${prefix}jti:${key}`,
    invalidation: `${prefix}invalidate`,
  };
}

/**
 * Field names and `type` values of a revocation stream entry: `type` = `token` with `jti`, `exp` and
 * optionally `client_id`; `type` = `client` with `client_id`, `revoked_before` and `until` (epoch seconds).
 */
export const REVOCATION_ENTRY = Object.freeze({
  type: 'type',
  token: 'token',
  client: 'client',
  jti: 'jti',
  exp: 'exp',
  clientId: 'client_id',
  revokedBefore: 'revoked_before',
  until: 'until',
} as const);
