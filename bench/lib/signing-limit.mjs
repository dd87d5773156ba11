// Signing limit of this machine: access-token-sized JWS signatures per second with node:crypto's
// asynchronous sign (libuv thread pool), as tokenmill's signer does, with the pool size given by
// UV_THREADPOOL_SIZE (set by the caller to tokenmill's own). Argument: ALG (RS256|ES256|EdDSA|PS256)
// SECONDS. Prints one JSON line {alg, threads, perSec, signatures}.
import { generateKeyPairSync, sign, constants } from 'node:crypto';

const [alg = 'RS256', secs = '3'] = process.argv.slice(2);
const type = { RS256: ['rsa', { modulusLength: 2048 }], PS256: ['rsa', { modulusLength: 2048 }], ES256: ['ec', { namedCurve: 'P-256' }], EdDSA: ['ed25519', {}] }[alg];
if (!type) throw new Error(`unsupported ${alg}`);
const { privateKey } = generateKeyPairSync(...type);
const opts = {
  RS256: ['sha256', privateKey],
  PS256: ['sha256', { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }],
  ES256: ['sha256', { key: privateKey, dsaEncoding: 'ieee-p1363' }],
  EdDSA: [null, privateKey],
}[alg];
const header = Buffer.from(JSON.stringify({ alg, typ: 'at+jwt', kid: 'x'.repeat(43) })).toString('base64url');
const payload = {
  iss: 'http://127.0.0.1:40000',
  sub: 'tmc_' + 'a'.repeat(22),
  client_id: 'tmc_' + 'a'.repeat(22),
  aud: 'https://api.example.com',
  exp: 1795464174,
  iat: 1795460574,
  jti: 'b'.repeat(22),
  scope: 'api:read api:write',
};
const input = Buffer.from(`${header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`);
const INFLIGHT = 64;
let counting = false,
  count = 0,
  stop = false,
  live = 0;
await new Promise((resolve) => {
  const one = () => {
    live++;
    sign(opts[0], input, opts[1], (err) => {
      live--;
      if (err) throw err;
      if (counting) count++;
      if (!stop) one();
      else if (live === 0) resolve();
    });
  };
  for (let i = 0; i < INFLIGHT; i++) one();
  setTimeout(() => {
    counting = true;
    const t0 = process.hrtime.bigint();
    setTimeout(
      () => {
        counting = false;
        stop = true;
        const s = Number(process.hrtime.bigint() - t0) / 1e9;
        process.stdout.write(JSON.stringify({ alg, threads: Number(process.env.UV_THREADPOOL_SIZE ?? 4), perSec: count / s, signatures: count }) + '\n');
      },
      Number(secs) * 1000,
    );
  }, 500);
});
