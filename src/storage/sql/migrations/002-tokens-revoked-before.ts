/** A client-wide revocation's cut-off (NumericDate), kept on the client so new tokens are minted after it. */
export const up = `
ALTER TABLE clients ADD COLUMN tokens_revoked_before bigint;
`;
