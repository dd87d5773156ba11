import t from 'tap';
import { randomBytes } from 'node:crypto';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, importJWK, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { createSigner } from '../../src/keys/signer.js';
import { publicOnly } from '../../src/keys/keyring.js';
import { kidFor } from '../../src/keys/kid.js';

const ISSUER = 'https://as.example.com';
const AUDIENCE = 'https://api.example.com';
const COUNT = Number(process.env.SIGNER_TOKENS ?? 1000);

// Deterministic algorithms must give exactly jose's bytes; randomised ones (ECDSA, PSS) must verify.
const DETERMINISTIC = new Set(['RS256', 'EdDSA']);

for (const alg of ['ES256', 'RS256', 'PS256', 'EdDSA']) {
  t.test(`${alg}: ${COUNT} tokens verify with jose and oauth4webapi's RFC 9068 validator`, async (t) => {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await kidFor(publicJwk);
    const privateJwk = await exportJWK(privateKey);
    const signer = createSigner(privateJwk, kid, alg);
    const jwks = { keys: [publicOnly(publicJwk, kid, alg)] };
    const keySet = createLocalJWKSet(jwks);
    const joseKey = await importJWK(privateJwk, alg);
    const as: oauth.AuthorizationServer = { issuer: ISSUER, jwks_uri: `${ISSUER}/.well-known/jwks.json` };
    const customFetch = async () => new Response(JSON.stringify(jwks), { headers: { 'content-type': 'application/json' } });

    const now = Math.floor(Date.now() / 1000);
    let joseOk = 0;
    let oauthOk = 0;
    let identical = 0;
    for (let i = 0; i < COUNT; i++) {
      const claims = {
        iss: ISSUER,
        sub: `tmc_${i}`,
        client_id: `tmc_${i}`,
        aud: AUDIENCE,
        exp: now + 300,
        iat: now,
        jti: randomBytes(16).toString('base64url'),
        scope: i % 3 === 0 ? 'a b:c' : 'ünïcode-scope é',
      };
      const token = await signer.sign(claims);
      const { payload, protectedHeader } = await jwtVerify(token, keySet, { issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt', algorithms: [alg] });
      if (payload.jti === claims.jti && protectedHeader.kid === kid && protectedHeader.alg === alg) joseOk++;
      if (i % 10 === 0) {
        const request = new Request(AUDIENCE, { headers: { authorization: `Bearer ${token}` } });
        const validated = await oauth.validateJwtAccessToken(as, request, AUDIENCE, { [oauth.customFetch]: customFetch, [oauth.allowInsecureRequests]: true });
        if (validated.jti === claims.jti && validated.client_id === claims.client_id) oauthOk++;
      }
      if (DETERMINISTIC.has(alg) && i % 50 === 0) {
        const reference = await new SignJWT(claims).setProtectedHeader({ alg, typ: 'at+jwt', kid }).sign(joseKey);
        if (reference === token) identical++;
      }
    }
    t.equal(joseOk, COUNT, 'every token verified by jose jwtVerify');
    t.equal(oauthOk, Math.ceil(COUNT / 10), 'every sampled token accepted by oauth4webapi validateJwtAccessToken');
    if (DETERMINISTIC.has(alg)) t.equal(identical, Math.ceil(COUNT / 50), 'byte-identical to jose SignJWT output');
  });
}

t.test('a tampered signature is refused', async (t) => {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const signer = createSigner(await exportJWK(privateKey), 'k', 'ES256');
  const token = await signer.sign({ iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 60 });
  const parts = token.split('.');
  const sig = Buffer.from(parts[2] ?? '', 'base64url');
  sig[0] = (sig[0] ?? 0) ^ 1;
  const tampered = `${parts[0]}.${parts[1]}.${sig.toString('base64url')}`;
  await t.rejects(jwtVerify(tampered, createLocalJWKSet({ keys: [publicOnly(publicJwk, 'k', 'ES256')] }), { issuer: ISSUER, typ: 'at+jwt', algorithms: ['ES256'] }));
});
