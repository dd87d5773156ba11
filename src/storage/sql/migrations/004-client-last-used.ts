/** When a client last authenticated with an assertion (private_key_jwt); secrets keep their own. */
export const up = `
ALTER TABLE clients ADD COLUMN last_used_at timestamptz;
`;
