import { createHash, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../lib/clock.js';
import { checksum, randomBase62 } from '../lib/random.js';
import type { ClientPatch, ClientStore, InvalidationBus } from '../storage/types.js';
import { clientUsable, isSecretMethod, type Client, type ClientSecret } from './client.js';
import type { ClientMetadata } from './registration.js';
import type { TokenQuota } from '../quota/token-quota.js';
import { newClientSecret } from './secret.js';
import { MAX_CLIENT_ID, isVschar } from '../protocol/index.js';

export const newClientId = (): string => `tmc_${randomBase62(22)}`;
export const newSecretId = (): string => `sec_${randomBase62(16)}`;

function newRegistrationAccessToken(): string {
  const body = `tmrat_${randomBase62(43)}`;
  return body + checksum(body);
}
const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

export interface Registered {
  client: Client;
  /** shown once, never stored */
  clientSecret: string | null;
  registrationAccessToken: string;
}

export interface RotatedSecret {
  secret: ClientSecret;
  clientSecret: string;
}

/** What the service needs of the revocations (oauth/revocation's `Revocations`): a client-wide revocation. */
export interface ClientRevocations {
  revokeClient(clientId: string): Promise<{ revokedBefore: number }>;
}

/**
 * Every write to a client goes through here: the store, then cache invalidation on every node
 * (the bus), and for deletion a client-wide revocation first, so no token of a deleted client
 * outlives it anywhere.
 */
export class ClientService {
  private readonly store: ClientStore;
  private readonly bus: InvalidationBus;
  private readonly revocations: ClientRevocations;
  private readonly clock: Clock;
  private readonly defaultSecretTtlMs: number | null;
  private readonly ensureSigningAlg: (alg: string) => Promise<void>;

  constructor(deps: { store: ClientStore; bus: InvalidationBus; revocations: ClientRevocations; clock: Clock; defaultSecretTtlMs: number | null; ensureSigningAlg: (alg: string) => Promise<void> }) {
    this.ensureSigningAlg = deps.ensureSigningAlg;
    this.store = deps.store;
    this.bus = deps.bus;
    this.revocations = deps.revocations;
    this.clock = deps.clock;
    this.defaultSecretTtlMs = deps.defaultSecretTtlMs;
  }

  /**
   * Registers a client; `secretTtlMs` overrides the default secret lifetime (null = never). With
   * `org` it lands in that organization, admitted by the store under the organization's lock
   * (max_clients, and one use of the org-bound initial access token it was registered with).
   * `tokenQuota` (admin API only) is its own token quota (default null: the configured default).
   */
  async register(meta: ClientMetadata, secretTtlMs?: number | null, org?: { orgId: string; initialAccessTokenId?: string }, tokenQuota: TokenQuota | null = null): Promise<Registered> {
    if (meta.accessTokenSigningAlg) await this.ensureSigningAlg(meta.accessTokenSigningAlg);
    const now = this.clock.now();
    const registrationAccessToken = newRegistrationAccessToken();
    let clientSecret: string | null = null;
    const secrets: ClientSecret[] = [];
    if (isSecretMethod(meta.tokenEndpointAuthMethod)) {
      const ttl = secretTtlMs === undefined ? this.defaultSecretTtlMs : secretTtlMs;
      const s = newClientSecret(newSecretId(), now, ttl === null ? null : now + ttl);
      clientSecret = s.value;
      secrets.push(s.record);
    }
    const client: Client = {
      ...meta,
      clientId: newClientId(),
      status: 'active',
      registrationAccessTokenHash: sha256(registrationAccessToken),
      secrets,
      tokensRevokedBefore: null,
      tokenQuota,
      createdAt: now,
      updatedAt: now,
      orgId: org?.orgId ?? null,
      ...(org ? { orgStatus: 'active' as const } : {}),
    };
    await this.store.create(client, org?.initialAccessTokenId === undefined ? {} : { initialAccessTokenId: org.initialAccessTokenId });
    return { client, clientSecret, registrationAccessToken };
  }

  /** The client as stored now (not cached); null for an unknown or malformed id. */
  async get(clientId: string): Promise<Client | null> {
    if (!isVschar(clientId, MAX_CLIENT_ID)) return null;
    return this.store.get(clientId);
  }

  /**
   * Constant-time check of an RFC 7592 registration access token against the stored hash. A
   * disabled client's token never matches (only the admin token manages a disabled client).
   */
  static registrationTokenMatches(client: Client | null, presented: string): boolean {
    const digest = sha256(presented);
    const expected = client?.registrationAccessTokenHash ?? sha256('tokenmill-no-registration-token');
    return timingSafeEqual(digest, expected) && client !== null && client.registrationAccessTokenHash !== null && clientUsable(client);
  }

  /**
   * Applies a metadata change. Switching to a secret method issues a first secret when the client
   * has none live; switching away from secrets ends them. A change that keeps the method issues no
   * secret: an expired or ended secret is renewed only by rotation (an administrator). Disabling
   * revokes every token the client holds (client-wide revocation, which offline verifiers follow
   * through the revocation feed) and ends its registration access token: re-enabling brings neither
   * back. With `rotateRegistrationToken` the registration access token is replaced in the same write
   * (RFC 7592 §2.2) and the new one returned.
   */
  async update(
    clientId: string,
    patch: ClientPatch & { status?: Client['status'] },
    options: { rotateRegistrationToken?: boolean } = {},
  ): Promise<{ client: Client; clientSecret: string | null; registrationAccessToken: string | null } | null> {
    const before = await this.store.get(clientId);
    if (!before) return null;
    if (patch.accessTokenSigningAlg) await this.ensureSigningAlg(patch.accessTokenSigningAlg);
    const now = this.clock.now();
    let clientSecret: string | null = null;
    const method = patch.tokenEndpointAuthMethod ?? before.tokenEndpointAuthMethod;
    const live = before.secrets.filter((s) => s.expiresAt === null || s.expiresAt > now);
    const switchingToSecrets = isSecretMethod(method) && !isSecretMethod(before.tokenEndpointAuthMethod);
    if (switchingToSecrets && live.length === 0) {
      const s = newClientSecret(newSecretId(), now, this.defaultSecretTtlMs === null ? null : now + this.defaultSecretTtlMs);
      await this.store.addSecret(clientId, s.record);
      clientSecret = s.value;
    } else if (!isSecretMethod(method) && live.length > 0) {
      await this.store.expireSecrets(
        clientId,
        live.map((s) => s.secretId),
        now,
      );
    }
    const write: ClientPatch = { ...patch };
    let registrationAccessToken: string | null = null;
    if (patch.status === 'disabled') {
      // Revocation first (as for deletion): if it fails, the client is not reported disabled.
      const { revokedBefore } = await this.revocations.revokeClient(clientId);
      write.tokensRevokedBefore = revokedBefore;
      write.registrationAccessTokenHash = null;
    } else if (options.rotateRegistrationToken) {
      registrationAccessToken = newRegistrationAccessToken();
      write.registrationAccessTokenHash = sha256(registrationAccessToken);
    }
    const client = await this.store.update(clientId, write, now);
    await this.changed(clientId);
    return client ? { client, clientSecret, registrationAccessToken } : null;
  }

  /** Deletes the client after revoking every token it holds (client-wide revocation). */
  async delete(clientId: string): Promise<boolean> {
    const existing = await this.store.get(clientId);
    if (!existing) return false;
    await this.revocations.revokeClient(clientId);
    const deleted = await this.store.delete(clientId);
    await this.changed(clientId);
    return deleted;
  }

  /**
   * Revokes every token the client holds now (client-wide revocation), and records the cut-off on
   * the client so tokens minted after it, even within the same second, are not covered by it. Ends
   * the registration access token as well.
   */
  async revokeTokens(clientId: string): Promise<{ revokedBefore: number } | null> {
    if (!(await this.store.get(clientId))) return null;
    const result = await this.revocations.revokeClient(clientId);
    // A leaked token usually means leaked credentials: the registration access token ends too.
    await this.store.update(clientId, { tokensRevokedBefore: result.revokedBefore, registrationAccessTokenHash: null }, this.clock.now());
    await this.changed(clientId);
    return result;
  }

  /**
   * Issues a new secret. Older live secrets end at once (`previousSecretTtlMs` 0) or after the
   * grace period; each secret keeps its own expiry. An immediate rotation is the "secret leaked"
   * step, so it also ends the registration access token (which could otherwise mint a new secret
   * through RFC 7592); a rotation with a grace period is routine and leaves it alone.
   */
  async rotateSecret(clientId: string, options: { expiresInMs: number | null | undefined; previousSecretTtlMs: number }): Promise<RotatedSecret | null> {
    const client = await this.store.get(clientId);
    if (!client) return null;
    const now = this.clock.now();
    if (options.previousSecretTtlMs === 0 && client.registrationAccessTokenHash !== null) {
      // First, so a failure later leaves no live registration access token behind.
      await this.store.update(clientId, { registrationAccessTokenHash: null }, now);
    }
    const expiresIn = options.expiresInMs === undefined ? this.defaultSecretTtlMs : options.expiresInMs;
    const s = newClientSecret(newSecretId(), now, expiresIn === null ? null : now + expiresIn);
    await this.store.addSecret(clientId, s.record);
    const older = client.secrets.filter((x) => x.expiresAt === null || x.expiresAt > now).map((x) => x.secretId);
    await this.store.expireSecrets(clientId, older, now + options.previousSecretTtlMs);
    await this.changed(clientId);
    return { secret: s.record, clientSecret: s.value };
  }

  /** Replaces the registration access token (admin API); returns the new one, shown once, or null for an unknown client. */
  async rotateRegistrationToken(clientId: string): Promise<string | null> {
    const token = newRegistrationAccessToken();
    const client = await this.store.update(clientId, { registrationAccessTokenHash: sha256(token) }, this.clock.now());
    if (!client) return null;
    await this.changed(clientId);
    return token;
  }

  /** Ends the registration access token (admin API): RFC 7592 then works only with the admin token. False for an unknown client. */
  async revokeRegistrationToken(clientId: string): Promise<boolean> {
    const client = await this.store.update(clientId, { registrationAccessTokenHash: null }, this.clock.now());
    if (!client) return false;
    await this.changed(clientId);
    return true;
  }

  async deleteSecret(clientId: string, secretId: string): Promise<boolean> {
    const deleted = await this.store.deleteSecret(clientId, secretId);
    if (deleted) await this.changed(clientId);
    return deleted;
  }

  /** Every node drops its cached copy (the publishing node included, through the bus). */
  private async changed(clientId: string): Promise<void> {
    await this.bus.publish('clients', clientId);
  }
}
