// Pre-generated client assertions for the private_key_jwt rows. (Part of bench/run.mjs.)
import { randomUUID, createPrivateKey, sign as cryptoSign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { ASSERTION_LIFETIME } from './constants.mjs';

/** Writes COUNT unique ES256 client assertions (one per line), iat now, exp now + 240 s. */
export async function generateAssertions(file, count, { clientId, aud, keyPem, kid = 'client_ec' }) {
  const key = createPrivateKey(keyPem);
  const hdr = Buffer.from(JSON.stringify({ alg: 'ES256', kid })).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const lines = new Array(count);
  let next = 0;
  await new Promise((res, rej) => {
    let active = 0;
    const one = () => {
      if (next >= count) {
        if (active === 0) res();
        return;
      }
      const i = next++;
      active++;
      const input = `${hdr}.${Buffer.from(JSON.stringify({ iss: clientId, sub: clientId, aud, jti: randomUUID(), iat: now, exp: now + ASSERTION_LIFETIME })).toString('base64url')}`;
      cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }, (err, sig) => {
        active--;
        if (err) return rej(err);
        lines[i] = `${input}.${sig.toString('base64url')}`;
        one();
      });
    };
    for (let k = 0; k < 64; k++) one();
  });
  writeFileSync(file, lines.join('\n') + '\n');
}
