import { calculateJwkThumbprint, type JWK } from 'jose';

/** RFC 7638 SHA-256 thumbprint of the public key: the `kid`, so the same key material always has the same id. */
export function kidFor(publicJwk: JWK): Promise<string> {
  return calculateJwkThumbprint(publicJwk, 'sha256');
}
