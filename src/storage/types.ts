import type { Client, ClientSecret, ClientStatus, AuthMethod } from '../clients/client.js';

/**
 * The only SQL surface. One dialect (PostgreSQL), two engines: `pg` and PGlite.
 * `transaction` runs `fn` on one connection inside BEGIN/COMMIT (ROLLBACK on throw), which
 * advisory transaction locks and multi-row writes need.
 */
export interface SqlQueryable {
  query<Row = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<{ rows: Row[] }>;
}
export interface Sql extends SqlQueryable {
  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Thrown by any store when its backend cannot be reached; rendered as 503 temporarily_unavailable. */
export class StoreUnavailableError extends Error {
  readonly store: string;
  constructor(store: string, cause?: unknown) {
    super(`${store} is unavailable`, { cause });
    this.name = 'StoreUnavailableError';
    this.store = store;
  }
}

export interface ClientListFilter {
  status?: ClientStatus;
  authMethod?: AuthMethod;
  namePrefix?: string;
  /** only the clients of this organization */
  orgId?: string;
}

/** How a client enters its organization (docs/contract.md "Organizations"). */
export interface CreateOptions {
  /** the org-bound initial access token it is registered with: one use is claimed in the same transaction */
  initialAccessTokenId?: string;
}
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export type ClientPatch = Partial<
  Pick<
    Client,
    | 'clientName'
    | 'status'
    | 'tokenEndpointAuthMethod'
    | 'tokenEndpointAuthSigningAlg'
    | 'accessTokenSigningAlg'
    | 'grantTypes'
    | 'scopes'
    | 'audiences'
    | 'accessTokenTtl'
    | 'jwks'
    | 'jwksUri'
    | 'registrationAccessTokenHash'
    | 'tokensRevokedBefore'
    | 'tokenQuota'
  >
>;

export interface ClientStore {
  /**
   * Inserts the client and its secrets atomically. A client of an organization is admitted under a
   * lock of the organization's row: OrgUnavailable, OrgLimitReached (max_clients) or
   * InitialAccessTokenSpent refuse it and write nothing.
   */
  create(client: Client, options?: CreateOptions): Promise<void>;
  /** The client with all its secrets (expired ones included; callers decide), or null. */
  get(clientId: string): Promise<Client | null>;
  /** Applies the patch, bumps updatedAt; null when the client does not exist. */
  update(clientId: string, patch: ClientPatch, now: number): Promise<Client | null>;
  delete(clientId: string): Promise<boolean>;
  list(limit: number, cursor: string | null, filter?: ClientListFilter): Promise<Page<Client>>;
  addSecret(clientId: string, secret: ClientSecret): Promise<void>;
  /** Sets expires_at of the given secrets to `expiresAt` when it is earlier than theirs. */
  expireSecrets(clientId: string, secretIds: string[], expiresAt: number): Promise<void>;
  deleteSecret(clientId: string, secretId: string): Promise<boolean>;
  /** Batched last-used bookkeeping: secretId → epoch ms. */
  touchSecrets(lastUsed: ReadonlyMap<string, number>): Promise<void>;
  /** Batched last-used bookkeeping of assertion (private_key_jwt) clients: clientId → epoch ms. */
  touchClients(lastUsed: ReadonlyMap<string, number>): Promise<void>;
  /** The per-client access-token algorithms registered (each needs an active key). */
  signingAlgsInUse(): Promise<string[]>;
}

export type KeyOrigin = 'generated' | 'imported';

/** A signing key at rest. Times in epoch ms; state is derived from them and the clock. */
export interface StoredKey {
  kid: string;
  alg: string;
  publicJwk: Record<string, unknown>;
  /** the private JWK as compact JWE (dir + A256GCM) under KEY_ENCRYPTION_KEY */
  privateJwe: string;
  origin: KeyOrigin;
  createdAt: number;
  /** signs from this time on (published before it) */
  activatesAt: number;
  /** stops signing at this time (null = until a newer key of the same alg activates) */
  retiresAt: number | null;
  /** removed from the JWKS at this time (null = not yet scheduled) */
  removeAt: number | null;
}

export interface KeyStore {
  list(): Promise<StoredKey[]>;
  insert(key: StoredKey): Promise<void>;
  /** Records retirement times of a key. */
  setRetirement(kid: string, retiresAt: number, removeAt: number): Promise<void>;
  delete(kid: string): Promise<void>;
  /**
   * Runs `fn` while holding the cluster-wide key-management lock (PostgreSQL advisory transaction
   * lock; a no-op mutex on PGlite), so two nodes never create keys at the same time.
   */
  withLock<T>(fn: (store: KeyStore) => Promise<T>): Promise<T>;
}

/** One entry of the revocation feed. Times in epoch seconds (JWT NumericDate), as resource servers see them. */
export type RevocationEvent = { type: 'token'; jti: string; exp: number; clientId: string | null } | { type: 'client'; clientId: string; revokedBefore: number; until: number };

/** Durable, ordered record of revocations (SQL). Used to re-seed a fast store that lost them. */
export interface RevocationLog {
  append(event: RevocationEvent): Promise<void>;
  /** Every event whose effect has not yet lapsed at `nowSeconds`. */
  live(nowSeconds: number): Promise<RevocationEvent[]>;
  prune(nowSeconds: number): Promise<void>;
}

export interface RevocationFeedPage {
  events: RevocationEvent[];
  cursor: string;
  /** true when the cursor was older than the retained window and `events` start a snapshot */
  snapshot: boolean;
  /**
   * true when entries follow this page (counted before lapsed entries are dropped); `cursor`
   * continues the feed, a snapshot included, with incremental pages
   */
  hasMore: boolean;
}

/** Fast revocation state shared by the fleet (Redis) or the process (memory). */
export interface RevocationStore {
  revokeToken(jti: string, exp: number, clientId: string | null): Promise<void>;
  revokeClient(clientId: string, revokedBefore: number, until: number): Promise<void>;
  /** true when the token is revoked, by jti or by a client-wide revocation covering its iat. */
  isRevoked(jti: string, clientId: string, iat: number): Promise<boolean>;
  feed(since: string | null, limit: number): Promise<RevocationFeedPage>;
  /** Loads events from the durable log (idempotent); used at start and when the store comes back empty. */
  seed(events: RevocationEvent[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * What the seed registry (storage/sql/seed-registry.ts) says of a Redis found without its markers:
 * `first` when nothing can have been lost (a new store, or this Redis run's first seeding under way
 * at another node); else a loss, where `sameRunSeededMsAgo` is how long ago this same Redis run's
 * seeding was recorded complete (null: another run, or none). Another node may be between recording
 * that and setting the markers.
 */
export interface SeedVerdict {
  first: boolean;
  sameRunSeededMsAgo: number | null;
}

/** How long after a loss of replay markers an assertion issued before the loss is refused (lifetime cap + skew, with margin). */
export const REPLAY_UNTRUSTED_WINDOW_SECONDS = 360;

/**
 * How far in the future a client assertion's `iat` may be (REQ-J6 asks servers to reject more than
 * 60 s and suggests accepting 10 s; tokenmill accepts 8 s, which FAPI 2.0's conformance suite
 * exercises). The replay window below relies on it: an assertion claimed at or before a time L
 * carries an `iat` ≤ L + this, so the smaller it is, the sooner fresh assertions are accepted after
 * a loss of the markers: within 10 s of it, detection included (the contract of the replay window).
 */
export const ASSERTION_MAX_FUTURE_IAT_SECONDS = 8;

/**
 * Single-use markers for client-assertion `jti`s (RFC 7523 §3 item 7, REQ-J7). Markers can be lost
 * (a Redis restart without persistence, a FLUSHALL, a restarted embedded process). An assertion
 * accepted at or before the loss time L had `iat` ≤ L + ASSERTION_MAX_FUTURE_IAT_SECONDS (REQ-J6)
 * and stays valid until at most L + 8 + 300 + 15 s (REQ-J5); so for REPLAY_UNTRUSTED_WINDOW_SECONDS
 * after L, an assertion with `iat` ≤ L + ASSERTION_MAX_FUTURE_IAT_SECONDS (or without `iat`) is
 * refused: it may have been used before the loss. One with a later `iat` is certainly new, so a
 * client stamping `iat` = now is accepted again 9 s after the loss (plus up to 1 s to notice it).
 */
export interface ReplayCache {
  /** Atomically claims `key` until `expiresAtSeconds`; false when it was already claimed (or may have been). */
  claim(key: string, expiresAtSeconds: number, issuedAtSeconds?: number | null): Promise<boolean>;
  close(): Promise<void>;
}

export interface AuditEvent {
  id?: string;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  outcome: 'success' | 'failure';
  requestId: string | null;
  detail?: Record<string, unknown> | null;
  /** the organization the event concerns (its caller's, or its target's), when any */
  orgId?: string | null;
}

/** Exact-match filters of the audit log; `since` in epoch ms, inclusive. */
export interface AuditFilter {
  actor?: string;
  action?: string;
  target?: string;
  since?: number;
  /** only events of this organization (an organization admin sees no other) */
  orgId?: string;
}

export interface AuditLog {
  record(event: AuditEvent): Promise<void>;
  list(limit: number, cursor: string | null, filter?: AuditFilter): Promise<Page<AuditEvent>>;
  /** Deletes the events recorded before `before` (epoch ms): AUDIT_RETENTION. */
  prune(before: number): Promise<void>;
}

/** Cross-node cache invalidation (Redis pub/sub; in-process on the embedded default). */
export interface InvalidationBus {
  publish(channel: 'clients' | 'keys', id: string): Promise<void>;
  subscribe(handler: (channel: 'clients' | 'keys', id: string) => void): void;
  close(): Promise<void>;
}
