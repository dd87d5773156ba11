import { constants, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { ACCESS_TOKEN_TYP } from '../protocol/index.js';

/**
 * Produces compact JWS for access tokens. The key is imported once (jose holds every other key
 * operation); the protected header is serialised once per key; each token costs one JSON
 * serialisation of the claims and one node:crypto signature. `sign` with a callback runs the
 * signature on libuv's thread pool, off the event loop, which is what lets two cores do more
 * than one. Output is byte-for-byte what a JWS library produces (verified by tests with jose's
 * jwtVerify and oauth4webapi's RFC 9068 validator for every algorithm).
 */
export interface JwsSigner {
  readonly kid: string;
  readonly alg: string;
  sign(payload: Record<string, unknown>): Promise<string>;
}

type SignOptions = { hash: string | null; key: KeyObject | { key: KeyObject; padding?: number; saltLength?: number; dsaEncoding?: 'ieee-p1363' } };

function signOptions(alg: string, key: KeyObject): SignOptions {
  switch (alg) {
    case 'ES256':
      // RFC 7518 §3.4: R || S, 32 bytes each, not DER.
      return { hash: 'sha256', key: { key, dsaEncoding: 'ieee-p1363' } };
    case 'RS256':
      return { hash: 'sha256', key };
    case 'PS256':
      // RFC 7518 §3.5: MGF1 with SHA-256, salt length = hash length.
      return { hash: 'sha256', key: { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } };
    case 'EdDSA':
      return { hash: null, key };
    default:
      throw new Error(`unsupported access-token algorithm ${alg}`);
  }
}

export function createSigner(privateJwk: JWK, kid: string, alg: string): JwsSigner {
  const key = createPrivateKey({ key: privateJwk as import('node:crypto').JsonWebKey, format: 'jwk' });
  const { hash, key: keyOptions } = signOptions(alg, key);
  const header = Buffer.from(JSON.stringify({ alg, typ: ACCESS_TOKEN_TYP, kid })).toString('base64url');
  return {
    kid,
    alg,
    sign(payload) {
      const input = `${header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
      return new Promise((resolve, reject) => {
        sign(hash, Buffer.from(input), keyOptions, (err, signature) => {
          if (err) reject(err);
          else resolve(`${input}.${signature.toString('base64url')}`);
        });
      });
    },
  };
}
