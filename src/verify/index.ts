/**
 * `tokenmill/verify`: kept for compatibility; the verifier is its own package, `@tokenmill/verify`
 * (packages/verify), which resource servers can install without the server.
 *
 * @packageDocumentation
 */
export * from '@tokenmill/verify';
