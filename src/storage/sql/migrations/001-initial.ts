/** Initial schema. PostgreSQL SQL only: it runs unchanged on `pg` and on PGlite. */
export const up = `
CREATE TABLE clients (
  client_id                        text PRIMARY KEY,
  client_name                      text,
  status                           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  token_endpoint_auth_method       text NOT NULL,
  token_endpoint_auth_signing_alg  text,
  access_token_signing_alg         text,
  grant_types                      text[] NOT NULL,
  scopes                           text[] NOT NULL,
  audiences                        text[] NOT NULL,
  access_token_ttl                 integer,
  jwks                             jsonb,
  jwks_uri                         text,
  registration_access_token_hash   bytea,
  created_at                       timestamptz NOT NULL,
  updated_at                       timestamptz NOT NULL
);
CREATE INDEX clients_created_idx ON clients (created_at, client_id);

CREATE TABLE client_secrets (
  secret_id     text PRIMARY KEY,
  client_id     text NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
  secret_hash   bytea NOT NULL,
  prefix        text NOT NULL,
  created_at    timestamptz NOT NULL,
  expires_at    timestamptz,
  last_used_at  timestamptz
);
CREATE INDEX client_secrets_client_idx ON client_secrets (client_id);

CREATE TABLE signing_keys (
  kid           text PRIMARY KEY,
  alg           text NOT NULL,
  public_jwk    jsonb NOT NULL,
  private_jwe   text NOT NULL,
  origin        text NOT NULL,
  created_at    timestamptz NOT NULL,
  activates_at  timestamptz NOT NULL,
  retires_at    timestamptz,
  remove_at     timestamptz
);

CREATE TABLE revocations (
  id              bigserial PRIMARY KEY,
  kind            text NOT NULL CHECK (kind IN ('token', 'client')),
  jti             text,
  client_id       text,
  exp             bigint,
  revoked_before  bigint,
  until           bigint NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX revocations_until_idx ON revocations (until);

CREATE TABLE audit_log (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL,
  actor       text NOT NULL,
  action      text NOT NULL,
  target      text,
  outcome     text NOT NULL,
  request_id  text,
  detail      jsonb
);
`;
