/**
 * Organizations (docs/contract.md "Organizations"): a client belongs to at most one; audit rows
 * carry the organization they concern; initial access tokens bound to one organization are stored
 * hashed with their expiry and use count.
 */
export const up = `
CREATE TABLE orgs (
  org_id       text PRIMARY KEY,
  name         text NOT NULL,
  status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  max_clients  integer CHECK (max_clients IS NULL OR max_clients >= 0),
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL
);
CREATE INDEX orgs_created_idx ON orgs (created_at, org_id);

ALTER TABLE clients ADD COLUMN org_id text REFERENCES orgs (org_id);
CREATE INDEX clients_org_idx ON clients (org_id, created_at, client_id);

ALTER TABLE audit_log ADD COLUMN org_id text;
CREATE INDEX audit_log_org_idx ON audit_log (org_id, id);

CREATE TABLE org_initial_access_tokens (
  id          text PRIMARY KEY,
  org_id      text NOT NULL REFERENCES orgs (org_id) ON DELETE CASCADE,
  token_hash  bytea NOT NULL UNIQUE,
  expires_at  timestamptz NOT NULL,
  max_uses    integer CHECK (max_uses IS NULL OR max_uses >= 1),
  uses        integer NOT NULL DEFAULT 0,
  revoked_at  timestamptz,
  created_at  timestamptz NOT NULL
);
CREATE INDEX org_iat_org_idx ON org_initial_access_tokens (org_id);
`;
