/**
 * Refusals of a client creation that concern its organization, raised inside the store's
 * transaction (so nothing is written) and mapped to each API's error by its route. Routes match
 * them by `name`, which survives the worker-to-primary IPC (cluster/ipc-rpc.ts) where classes do not.
 */
export class OrgLimitReached extends Error {
  constructor(orgId: string, maxClients: number) {
    super(`max_clients: the organization ${orgId} already has its limit of ${maxClients} client${maxClients === 1 ? '' : 's'}`);
    this.name = 'OrgLimitReached';
  }
}

/** The organization does not exist. */
export class OrgMissing extends Error {
  constructor() {
    super('org_id: no such organization');
    this.name = 'OrgMissing';
  }
}

/** The organization is disabled: it takes no new clients. */
export class OrgDisabled extends Error {
  constructor(orgId: string) {
    super(`org_id: the organization ${orgId} is disabled`);
    this.name = 'OrgDisabled';
  }
}

/** An org-bound initial access token that expired, was revoked or used up between its check and its use. */
export class InitialAccessTokenSpent extends Error {
  constructor() {
    super('the initial access token is invalid');
    this.name = 'InitialAccessTokenSpent';
  }
}

export type OrgRefusal = 'OrgLimitReached' | 'OrgMissing' | 'OrgDisabled' | 'InitialAccessTokenSpent';
const REFUSALS = new Set<string>(['OrgLimitReached', 'OrgMissing', 'OrgDisabled', 'InitialAccessTokenSpent']);

/** The refusal an error stands for, or null for any other error. */
export function orgRefusal(err: unknown): OrgRefusal | null {
  return err instanceof Error && REFUSALS.has(err.name) ? (err.name as OrgRefusal) : null;
}
