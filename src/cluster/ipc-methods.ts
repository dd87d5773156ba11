import type { OrgService } from '../orgs/org-service.js';
import type { Revocations } from '../oauth/revocation.js';
import type { SharedCounts } from '../quota/shared-counts.js';
import type { TokenUsageStore } from '../storage/sql/token-usage.js';
import type { AuditLog, ClientStore, KeyStore, ReplayCache } from '../storage/types.js';

/** The methods a worker may call on each store (nothing that closes or re-seeds). */
export const CLIENT_STORE_METHODS = [
  'create',
  'get',
  'update',
  'delete',
  'list',
  'addSecret',
  'expireSecrets',
  'deleteSecret',
  'touchSecrets',
  'signingAlgsInUse',
] as const satisfies readonly (keyof ClientStore)[];
export const KEY_STORE_METHODS = ['list', 'insert', 'setRetirement', 'delete'] as const satisfies readonly (keyof KeyStore)[];
export const REVOCATION_METHODS = ['revokeToken', 'revokeClient', 'isRevoked', 'feed'] as const satisfies readonly (keyof Revocations)[];
export const REPLAY_METHODS = ['claim'] as const satisfies readonly (keyof ReplayCache)[];
export const AUDIT_METHODS = ['record', 'list'] as const satisfies readonly (keyof AuditLog)[];
export const USAGE_METHODS = ['add', 'hourly', 'totals', 'top'] as const satisfies readonly (keyof TokenUsageStore)[];
export const QUOTA_COUNT_METHODS = ['add'] as const satisfies readonly (keyof SharedCounts)[];
export const ORG_METHODS = [
  'create',
  'get',
  'list',
  'update',
  'delete',
  'createInitialAccessToken',
  'revokeInitialAccessToken',
  'usableInitialAccessToken',
] as const satisfies readonly (keyof OrgService)[];
