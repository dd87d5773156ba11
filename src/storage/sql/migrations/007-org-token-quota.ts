/** An organization's token quota (docs/contract.md "Organizations", "Quotas"): counted over all its clients; null = none. */
export const up = `
ALTER TABLE orgs ADD COLUMN token_quota jsonb;
`;
