import { createHash } from 'node:crypto';
import type { Org, OrgStatus } from '../clients/client.js';
import type { Clock } from '../lib/clock.js';
import type { TokenQuota } from '../quota/token-quota.js';
import { checksum, randomBase62 } from '../lib/random.js';
import type { OrgPatch, SqlOrgStore } from '../storage/sql/org-store.js';
import type { InvalidationBus, Page } from '../storage/types.js';

export const newOrgId = (): string => `org_${randomBase62(22)}`;
const newInitialAccessTokenId = (): string => `iat_${randomBase62(16)}`;
const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** Longest life of an org-bound initial access token, seconds (SECURITY REQ-D11: short-lived). */
export const MAX_INITIAL_ACCESS_TOKEN_TTL = 30 * 86400;

/** An org-bound initial access token as issued: `token` is shown this once, only its hash is stored. */
export interface IssuedInitialAccessToken {
  id: string;
  token: string;
  expiresAt: number;
  maxUses: number | null;
}

/** What the service needs of the client service: per-client revocation and deletion, as the admin API does them. */
export interface OrgClientOps {
  revokeTokens(clientId: string): Promise<{ revokedBefore: number } | null>;
  delete(clientId: string): Promise<boolean>;
}

/**
 * Organizations (docs/contract.md "Organizations"). Disabling one revokes every token of each of
 * its clients (a client-wide revocation, which offline verifiers follow through the revocation
 * feed) and drops the clients from every node's cache, whose records carry the organization's
 * status: the token endpoint, introspection and the admin API refuse them from then on.
 * Re-enabling brings no earlier token back. Deleting one deletes its clients as a client DELETE does.
 */
export class OrgService {
  private readonly store: SqlOrgStore;
  private readonly clients: OrgClientOps;
  private readonly bus: InvalidationBus;
  private readonly clock: Clock;
  private readonly defaultMaxClients: number | null;

  constructor(deps: { store: SqlOrgStore; clients: OrgClientOps; bus: InvalidationBus; clock: Clock; defaultMaxClients: number | null }) {
    this.store = deps.store;
    this.clients = deps.clients;
    this.bus = deps.bus;
    this.clock = deps.clock;
    this.defaultMaxClients = deps.defaultMaxClients;
  }

  /** A new active organization; `maxClients` undefined takes ORG_MAX_CLIENTS_DEFAULT (null = unlimited); `tokenQuota` null: none. */
  async create(name: string, maxClients: number | null | undefined, tokenQuota: TokenQuota | null = null): Promise<Org> {
    const now = this.clock.now();
    const org: Org = { orgId: newOrgId(), name, status: 'active', maxClients: maxClients === undefined ? this.defaultMaxClients : maxClients, tokenQuota, createdAt: now, updatedAt: now };
    await this.store.create(org);
    return org;
  }

  get(orgId: string): Promise<Org | null> {
    return this.store.get(orgId);
  }

  list(limit: number, cursor: string | null): Promise<Page<Org>> {
    return this.store.list(limit, cursor);
  }

  async update(orgId: string, patch: OrgPatch): Promise<Org | null> {
    const before = await this.store.get(orgId);
    if (!before) return null;
    const updated = await this.store.update(orgId, patch, this.clock.now());
    if (!updated) return null;
    if (patch.status !== undefined && patch.status !== before.status) await this.statusChanged(orgId, patch.status);
    // Its clients' cached records carry the organization's quota: every node reloads them.
    else if (patch.tokenQuota !== undefined) for (const id of await this.store.clientIds(orgId)) await this.bus.publish('clients', id);
    return updated;
  }

  /** Disables the organization (no new client, no token), deletes its clients as a client DELETE does, then the organization. */
  async delete(orgId: string): Promise<boolean> {
    const org = await this.store.get(orgId);
    if (!org) return false;
    if (org.status !== 'disabled') await this.update(orgId, { status: 'disabled' });
    for (const clientId of await this.store.clientIds(orgId)) await this.clients.delete(clientId);
    return this.store.delete(orgId);
  }

  async createInitialAccessToken(orgId: string, expiresInSeconds: number, maxUses: number | null): Promise<IssuedInitialAccessToken | null> {
    if (!(await this.store.get(orgId))) return null;
    const body = `tmiat_${randomBase62(43)}`;
    const token = body + checksum(body);
    const now = this.clock.now();
    const issued: IssuedInitialAccessToken = { id: newInitialAccessTokenId(), token, expiresAt: now + Math.min(expiresInSeconds, MAX_INITIAL_ACCESS_TOKEN_TTL) * 1000, maxUses };
    await this.store.createInitialAccessToken({ id: issued.id, orgId, hash: sha256(token), expiresAt: issued.expiresAt, maxUses, uses: 0, revokedAt: null, createdAt: now });
    return issued;
  }

  revokeInitialAccessToken(orgId: string, id: string): Promise<boolean> {
    return this.store.revokeInitialAccessToken(orgId, id, this.clock.now());
  }

  /** The org-bound initial access token presented, when it can register a client now; null otherwise. Its use is claimed with the creation. */
  async usableInitialAccessToken(presented: string): Promise<{ id: string; orgId: string } | null> {
    if (!/^tmiat_[0-9A-Za-z]{49}$/.test(presented)) return null;
    return this.store.usableInitialAccessToken(sha256(presented), this.clock.now());
  }

  /**
   * Disabled: every client's tokens are revoked (client-wide, as POST …/revoke-tokens does; that
   * also drops the client from every node's cache). Enabled: the caches are dropped so the clients
   * work again with new tokens only. The status is written first, so a node that reloads a client
   * meanwhile already sees it.
   */
  private async statusChanged(orgId: string, status: OrgStatus): Promise<void> {
    const ids = await this.store.clientIds(orgId);
    if (status === 'disabled') {
      try {
        for (const id of ids) await this.clients.revokeTokens(id);
      } catch (err) {
        // The status is written: every node must see it even if a revocation failed (the call fails; a retry revokes the rest).
        for (const id of ids) await this.bus.publish('clients', id).catch(() => {});
        throw err;
      }
    } else {
      for (const id of ids) await this.bus.publish('clients', id);
    }
  }
}
