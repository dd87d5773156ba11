/**
 * Token quotas (docs/contract.md "Quotas"): a client's own quota (null: the configured default), and
 * the tokens issued per client and UTC hour, written in batches and kept about 31 days.
 */
export const up = `
ALTER TABLE clients ADD COLUMN token_quota jsonb;
CREATE TABLE token_usage (
  client_id text NOT NULL,
  hour_start timestamptz NOT NULL,
  tokens bigint NOT NULL,
  PRIMARY KEY (client_id, hour_start)
);
CREATE INDEX token_usage_hour ON token_usage (hour_start);
`;
