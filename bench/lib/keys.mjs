// Signing keys for the oidc-provider peer and the private_key_jwt bench client, generated per run
// into a temporary directory (adapted from shared/bench/keys.mjs). Writes PKCS8/SPKI PEM and
// private/public JWK per key: rsa (RS256/PS256), ec (ES256), ed25519 (EdDSA), client_ec (the
// client's ES256 assertion key).
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const SPECS = {
  rsa: ['rsa', { modulusLength: 2048 }],
  ec: ['ec', { namedCurve: 'P-256' }],
  ed25519: ['ed25519', {}],
  client_ec: ['ec', { namedCurve: 'P-256' }],
};

export function generateKeys(dir) {
  mkdirSync(dir, { recursive: true });
  for (const [name, [type, opts]] of Object.entries(SPECS)) {
    const f = join(dir, `${name}.key.pem`);
    if (existsSync(f)) continue;
    const { privateKey, publicKey } = generateKeyPairSync(type, opts);
    writeFileSync(f, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(dir, `${name}.pub.pem`), publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(dir, `${name}.jwk.json`), JSON.stringify({ ...privateKey.export({ format: 'jwk' }), kid: name }));
    writeFileSync(join(dir, `${name}.pub.jwk.json`), JSON.stringify({ ...createPublicKey(privateKey).export({ format: 'jwk' }), kid: name }));
  }
  return dir;
}
