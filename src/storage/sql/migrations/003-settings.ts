/** Small durable facts shared by the fleet (e.g. that a Redis key prefix has been seeded before). */
export const up = `
CREATE TABLE settings (
  name        text PRIMARY KEY,
  value       text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
`;
