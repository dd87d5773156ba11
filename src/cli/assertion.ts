import { randomBytes } from 'node:crypto';
import type { JWK } from 'jose';
import { CliError } from './errors.js';
import { readJsonFile } from './parse.js';

/** A private JWK from a file (a JWK, or a JWK Set holding exactly one private key). */
export function readPrivateJwk(file: string): JWK {
  let jwk = readJsonFile(file) as JWK | { keys?: unknown } | null;
  if (jwk && typeof jwk === 'object' && Array.isArray((jwk as { keys?: unknown }).keys)) {
    const privates = (jwk as { keys: JWK[] }).keys.filter((k) => k && typeof k === 'object' && typeof k.d === 'string');
    if (privates.length !== 1) throw new CliError(`${file} is a JWK Set with ${privates.length} private keys: give a file with exactly one`);
    jwk = privates[0]!;
  }
  if (!jwk || typeof jwk !== 'object' || typeof (jwk as JWK).kty !== 'string') throw new CliError(`${file} holds no JWK`);
  if (typeof (jwk as JWK).d !== 'string') throw new CliError(`${file} is a public key: private_key_jwt signs with the private key (a JWK with "d")`);
  if ((jwk as JWK).kty === 'oct') throw new CliError(`${file} is a symmetric key: private_key_jwt needs an asymmetric key (EC, RSA, OKP)`);
  return jwk as JWK;
}

/** The algorithm for a key: its `alg`, else the usual one for its type and curve. */
export function algFor(jwk: JWK): string {
  if (typeof jwk.alg === 'string') return jwk.alg;
  if (jwk.kty === 'EC') return ({ 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' } as Record<string, string>)[jwk.crv ?? ''] ?? 'ES256';
  if (jwk.kty === 'OKP') return 'EdDSA';
  return 'RS256';
}

/**
 * An RFC 7523 client assertion: iss = sub = client_id, aud = the issuer identifier (as the server
 * requires: draft-ietf-oauth-rfc7523bis), exp 60 s ahead, a random single-use jti, kid from the JWK.
 */
export async function clientAssertion(jwk: JWK, clientId: string, issuer: string, alg = algFor(jwk)): Promise<string> {
  // jose loads only for the commands that sign or verify.
  const { SignJWT, importJWK } = await import('jose');
  let key;
  try {
    key = await importJWK(jwk, alg);
  } catch (err) {
    throw new CliError(`the key cannot sign ${alg}: ${(err as Error).message}`);
  }
  const now = Math.floor(Date.now() / 1000);
  const header: { alg: string; typ: string; kid?: string } = { alg, typ: 'JWT' };
  if (typeof jwk.kid === 'string') header.kid = jwk.kid;
  return new SignJWT({})
    .setProtectedHeader(header)
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(issuer)
    .setIssuedAt(now)
    .setExpirationTime(now + 60)
    .setJti(randomBytes(16).toString('base64url'))
    .sign(key);
}
