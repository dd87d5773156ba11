/**
 * The verifier's options: their types, defaults and validation.
 *
 * @packageDocumentation
 */
import { ACCESS_TOKEN_ALGS, isScopeToken } from './protocol/index.js';

/** Asymmetric JWS algorithms a verifier can be configured with. `none` and `HS*` are never accepted. */
export type VerifierAlgorithm = 'ES256' | 'ES384' | 'ES512' | 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'EdDSA' | 'Ed25519';

const SUPPORTED_ALGORITHMS: ReadonlySet<string> = new Set<VerifierAlgorithm>(['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA', 'Ed25519']);

/** The algorithms tokenmill signs with: `['ES256', 'RS256', 'PS256', 'EdDSA']`. */
export const DEFAULT_ALGORITHMS: readonly VerifierAlgorithm[] = Object.freeze([...ACCESS_TOKEN_ALGS] as VerifierAlgorithm[]);

/** Revocation sync through the authorization server's HTTP revocation feed. */
export interface PollRevocationOptions {
  /** A client registered at the authorization server, used (HTTP Basic) to read the feed. */
  clientId: string;
  /** Its secret. */
  clientSecret: string;
  /**
   * Milliseconds between polls. Default 500, so a revocation is honoured within one second
   * (poll interval + one round trip). Minimum 50.
   */
  pollInterval?: number;
}

/** Revocation sync straight from the authorization server's Redis. */
export interface RedisRevocationOptions {
  /** `redis://…` / `rediss://…` URL of the Redis the authorization server writes revocations to. */
  redisUrl: string;
  /** The server's key prefix. Default `tokenmill:`. */
  keyPrefix?: string;
  /**
   * Default `true`: sync rounds fail (the set is kept; past `maxStaleness` verification fails closed)
   * while the server's marker `${keyPrefix}rev:seeded` is missing — Redis was flushed or restarted empty
   * and the server has not re-seeded it from its durable log yet — or, after a (re)connect, holds the
   * `run_id` of another Redis run. Set `false` only for a server that does not write the marker.
   */
  requireSeeded?: boolean;
}

/** Options of {@link createVerifier}. */
export interface VerifierOptions {
  /**
   * The issuer identifier, exactly as in the tokens' `iss` and the metadata's `issuer` (compared as
   * strings). Metadata is fetched from `${issuer}/.well-known/oauth-authorization-server`.
   */
  issuer: string;
  /** This resource server's identifier(s): a token is accepted when its `aud` contains one of them. */
  audience: string | readonly string[];
  /** Allowed JWS algorithms. Default {@link DEFAULT_ALGORITHMS}. `none` and `HS*` are rejected. */
  algorithms?: readonly VerifierAlgorithm[];
  /** Leeway for `exp`, `nbf` and `iat`, in seconds. Default 30, at most 300. */
  clockTolerance?: number;
  /**
   * Keep a revocation deny set in sync: `{ clientId, clientSecret, pollInterval? }` polls the HTTP feed,
   * `{ redisUrl, keyPrefix? }` follows the server's Redis. Without it revoked tokens stay valid until `exp`.
   */
  revocations?: PollRevocationOptions | RedisRevocationOptions;
  /**
   * Fail closed (default `true`): when revocations are configured and the sync has been failing for
   * longer than `maxStaleness` — or has not succeeded even once yet — `verify` throws a 503
   * `temporarily_unavailable` {@link VerifyError} instead of accepting a token that may have been revoked.
   * (Revoked tokens already in the deny set are still answered 401.) With `false`, tokens are then
   * accepted on the last known deny set (or on none).
   */
  failClosed?: boolean;
  /**
   * Milliseconds the revocation sync may keep failing before the deny set counts as stale. Default 30000.
   * (As a backstop, it also counts as stale when no round has succeeded for `maxStaleness` + 60 s.)
   */
  maxStaleness?: number;
  /** JWKS cache lifetime in milliseconds (jose `cacheMaxAge`). Default 600000. */
  cacheMaxAge?: number;
  /**
   * Minimum milliseconds between two JWKS fetches triggered by an unknown `kid` (jose `cooldownDuration`,
   * the refetch rate limit). Default 30000.
   */
  cooldownDuration?: number;
  /** Milliseconds before a metadata, JWKS or feed request is abandoned. Default 5000. */
  timeoutDuration?: number;
  /** How often expired deny-set entries are dropped, in milliseconds. Default 1000. */
  pruneInterval?: number;
  /** `fetch` to use for metadata, JWKS and feed requests (tests, proxies). Default `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
  /** Called with each failed revocation-sync round or discovery attempt (for logging / metrics). */
  onSyncError?: (err: Error) => void;
}

/** Options of {@link Verifier.verify}. */
export interface VerifyOptions {
  /** Scopes the request needs, as an array or a space-separated string; every one must be granted. */
  scope?: string | readonly string[];
  /**
   * The organization the token must belong to (its `org_id` claim). A token of another
   * organization, or of none, is refused with 403 `insufficient_scope` and an `error_description`
   * saying so. An empty string is refused as a programming error (`TypeError`): it would name no
   * organization.
   */
  org?: string;
}

/**
 * Where the Fastify plugin and the middleware read the required organization: a fixed id, or a
 * route parameter (`{ param: 'org' }` for routes like `/orgs/:org/...`), so each URL's tenant is
 * enforced in one line. A request without the parameter is refused (fail closed).
 */
export type OrgRequirement = string | { param: string };

/** Options of the Fastify plugin's `require()` and of the middleware. */
export interface GuardOptions {
  /** Scopes every request must carry. */
  scope?: string | readonly string[];
  /** The organization every request's token must belong to. */
  org?: OrgRequirement;
}

/** Validates an {@link OrgRequirement} once, at route definition. */
export function normalizeOrg(org: OrgRequirement | undefined): OrgRequirement | undefined {
  if (org === undefined) return undefined;
  if (typeof org === 'string') {
    if (org === '') throw new TypeError('org must be a non-empty organization id');
    return org;
  }
  if (typeof org !== 'object' || org === null || typeof org.param !== 'string' || org.param === '') throw new TypeError('org must be an organization id or { param: "<route parameter>" }');
  return { param: org.param };
}

/** Stands for a missing route parameter: no token's org_id is ever equal to it, so the request is refused. */
const NO_ORG = '\u0000(no organization in the request)';

/** The `verify` option for a request: the fixed organization, or its route parameter's value. */
export function orgOf(org: OrgRequirement | undefined, params: unknown): { org?: string } {
  if (org === undefined) return {};
  if (typeof org === 'string') return { org };
  const value = params && typeof params === 'object' ? (params as Record<string, unknown>)[org.param] : undefined;
  return { org: typeof value === 'string' && value !== '' ? value : NO_ORG };
}

/** Splits and validates required scopes. Throws `TypeError` on a value outside the RFC 6749 grammar. */
export function normalizeScopes(scope: string | readonly string[] | undefined): string[] {
  if (scope === undefined) return [];
  const list = typeof scope === 'string' ? scope.split(' ').filter((s) => s !== '') : [...scope];
  for (const s of list) {
    if (typeof s !== 'string' || !isScopeToken(s)) throw new TypeError('required scope values must be RFC 6749 scope-tokens');
  }
  return [...new Set(list)];
}

/** Whether `value` is an http: or https: URL. */
export function httpUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    const u = new URL(value);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

function positive(name: string, value: number | undefined, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new TypeError(`${name} must be a number between ${min} and ${max}`);
  }
  return value;
}

/** The validated options, defaults applied. */
export interface Settings {
  issuer: string;
  audience: string[];
  algorithms: string[];
  clockTolerance: number;
  failClosed: boolean;
  maxStaleness: number;
  cacheMaxAge: number;
  cooldownDuration: number;
  timeoutDuration: number;
  pruneInterval: number;
  fetch: typeof globalThis.fetch;
  revocations: VerifierOptions['revocations'];
  onSyncError: ((err: Error) => void) | undefined;
}

/** Validates the options (TypeError on a bad one) and applies the defaults. */
export function settings(o: VerifierOptions): Settings {
  if (!o || typeof o !== 'object') throw new TypeError('options are required');
  if (!httpUrl(o.issuer) || /[^\x21\x23-\x5b\x5d-\x7e]/.test(o.issuer)) throw new TypeError('issuer must be an http(s) URL');
  const audience = typeof o.audience === 'string' ? [o.audience] : Array.isArray(o.audience) ? [...(o.audience as string[])] : [];
  if (audience.length === 0 || audience.some((a) => typeof a !== 'string' || a === '')) throw new TypeError('audience must be a non-empty string or array of strings');
  const algorithms = [...(o.algorithms ?? DEFAULT_ALGORITHMS)];
  if (algorithms.length === 0 || algorithms.some((a) => !SUPPORTED_ALGORITHMS.has(a))) {
    throw new TypeError(`algorithms must be a non-empty subset of ${[...SUPPORTED_ALGORITHMS].join(', ')} (never none or HS*)`);
  }
  const r = o.revocations;
  if (r !== undefined) {
    if ('redisUrl' in r) {
      if (typeof r.redisUrl !== 'string' || !/^rediss?:\/\//.test(r.redisUrl)) throw new TypeError('revocations.redisUrl must be a redis:// or rediss:// URL');
      if (r.keyPrefix !== undefined && typeof r.keyPrefix !== 'string') throw new TypeError('revocations.keyPrefix must be a string');
    } else {
      if (typeof r.clientId !== 'string' || r.clientId === '' || typeof r.clientSecret !== 'string' || r.clientSecret === '') {
        throw new TypeError('revocations needs { clientId, clientSecret } or { redisUrl }');
      }
      positive('revocations.pollInterval', r.pollInterval, 500, 50, 60_000);
    }
  }
  const f = o.fetch ?? globalThis.fetch;
  if (typeof f !== 'function') throw new TypeError('fetch must be a function');
  return {
    issuer: o.issuer,
    audience,
    algorithms,
    clockTolerance: positive('clockTolerance', o.clockTolerance, 30, 0, 300),
    failClosed: o.failClosed ?? true,
    maxStaleness: positive('maxStaleness', o.maxStaleness, 30_000, 0),
    cacheMaxAge: positive('cacheMaxAge', o.cacheMaxAge, 600_000, 0),
    cooldownDuration: positive('cooldownDuration', o.cooldownDuration, 30_000, 0),
    timeoutDuration: Math.round(positive('timeoutDuration', o.timeoutDuration, 5_000, 1)),
    pruneInterval: positive('pruneInterval', o.pruneInterval, 1_000, 10),
    fetch: f,
    revocations: r,
    onSyncError: o.onSyncError,
  };
}
