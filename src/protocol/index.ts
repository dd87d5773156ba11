/**
 * The protocol constants, grammar and wire formats the server shares with its verifier. They live in
 * the verifier package (which cannot import the server) and are re-exported here for the server.
 */
export * from '@tokenmill/verify/protocol';
