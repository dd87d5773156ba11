import type { JSONWebKeySet } from 'jose';
import type { AccessTokenAlg, ClientAuthMethod } from '../protocol/index.js';
import type { TokenQuota } from '../quota/token-quota.js';

export type AuthMethod = ClientAuthMethod;
export type SigningAlg = AccessTokenAlg;

export type ClientStatus = 'active' | 'disabled';

/** One client secret: only its SHA-256 digest is ever stored. Times in epoch milliseconds. */
export interface ClientSecret {
  secretId: string;
  /** sha256(secret), 32 bytes */
  hash: Buffer;
  /** non-secret leading characters, shown in lists so people can tell secrets apart */
  prefix: string;
  createdAt: number;
  /** null = never expires */
  expiresAt: number | null;
  lastUsedAt: number | null;
}

/** The client as the core sees it (camelCase); `clients/registration.ts` maps it to RFC 7591 metadata. */
export interface Client {
  clientId: string;
  clientName: string | null;
  status: ClientStatus;
  tokenEndpointAuthMethod: AuthMethod;
  /** RFC 7591 token_endpoint_auth_signing_alg: when set, the only alg accepted for client assertions */
  tokenEndpointAuthSigningAlg: string | null;
  /** extension: the alg this client's access tokens are signed with (null = deployment default) */
  accessTokenSigningAlg: SigningAlg | null;
  grantTypes: string[];
  /** scopes the client may request; also its default when a request names none */
  scopes: string[];
  /** audiences the client may request; the first is the default */
  audiences: string[];
  /** seconds; null = deployment default */
  accessTokenTtl: number | null;
  jwks: JSONWebKeySet | null;
  jwksUri: string | null;
  /** sha256 of the RFC 7592 registration access token */
  registrationAccessTokenHash: Buffer | null;
  secrets: ClientSecret[];
  /** NumericDate of the last client-wide revocation: tokens minted later carry iat ≥ this */
  tokensRevokedBefore: number | null;
  createdAt: number;
  updatedAt: number;
  /** its own token quota (docs/contract.md "Quotas"); null = the configured default (TOKEN_QUOTA_*) */
  tokenQuota: TokenQuota | null;
  /** last authentication with an assertion (private_key_jwt), epoch ms; secrets record their own */
  lastUsedAt?: number | null;
  /** the organization the client belongs to (docs/contract.md "Organizations"); null = none */
  orgId: string | null;
  /**
   * The status of its organization when the record was loaded (absent without one). Cached with
   * the client: a change of the organization invalidates its clients' entries on every node, so the
   * token path reads no extra row.
   */
  orgStatus?: OrgStatus;
  /** the token quota of its organization when the record was loaded (absent or null: none); cached like orgStatus */
  orgTokenQuota?: TokenQuota | null;
}

export type OrgStatus = 'active' | 'disabled';

/** An organization (docs/contract.md "Organizations"). Times in epoch milliseconds. */
export interface Org {
  orgId: string;
  name: string;
  status: OrgStatus;
  /** most clients it may hold; null = unlimited */
  maxClients: number | null;
  /** tokens per second / hour / day over all its clients; null = none */
  tokenQuota: TokenQuota | null;
  createdAt: number;
  updatedAt: number;
}

/** Whether the client may authenticate and its tokens count as live: it is active, and so is its organization. */
export function clientUsable(client: Client): boolean {
  return client.status === 'active' && client.orgStatus !== 'disabled';
}

export function isSecretMethod(method: AuthMethod): boolean {
  return method === 'client_secret_basic' || method === 'client_secret_post';
}
