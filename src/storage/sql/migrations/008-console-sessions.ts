/**
 * Web console sessions (docs/contract.md "Console"): shared by every node of a fleet, so a
 * browser may land on any of them. Only the SHA-256 of the session id is stored; the id itself
 * lives in the browser's HttpOnly cookie.
 */
export const up = `
CREATE TABLE console_sessions (
  id_hash bytea PRIMARY KEY,
  actor text NOT NULL,
  created_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL
);
CREATE INDEX console_sessions_last_seen ON console_sessions (last_seen_at);
`;
