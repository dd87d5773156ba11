import type { Client } from '../clients/client.js';
import type { Config } from '../config/schema.js';
import type { Keyring } from '../keys/keyring.js';
import type { Clock } from '../lib/clock.js';
import type { ReplayCache } from '../storage/types.js';
import type { Revocations } from './revocation.js';

/** What the protocol core needs, injected (no Fastify here). */
export interface OAuthContext {
  config: Pick<Config, 'issuer' | 'accessTokenTtl' | 'signingAlg' | 'assertionAudienceTokenEndpoint' | 'assertionAlgs' | 'production'>;
  clock: Clock;
  clients: { get(clientId: string): Promise<Client | null> };
  keyring: Keyring;
  replay: ReplayCache;
  revocations: Revocations;
  /** batched last-used bookkeeping for secrets */
  secretUsed(secretId: string, at: number): void;
  /** batched last-used bookkeeping for clients that authenticate with an assertion (private_key_jwt) */
  clientUsed?(clientId: string, at: number): void;
  /** token quotas: counts an issued token and returns its RateLimit headers, or throws TooManyRequests (quota/token-quotas.ts) */
  quota?: { admit(client: Client): Record<string, string> };
  /** the bootstrap admin credential, compared in constant time */
  isAdminToken(presented: string): boolean;
}
