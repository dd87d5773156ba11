// The reference peer of the benchmark; started by bench/run.mjs with oidc-provider from
// tokenmill's own devDependencies and keys generated for the run (KEYS_DIR).
// oidc-provider v9 peer: client_credentials only, JWT access tokens (RFC 9068) via resourceIndicators.
// Env: PORT (3200) HOST (127.0.0.1) ALG (ES256|RS256|PS256|EdDSA) CLIENT_ID CLIENT_SECRET
//      AUDIENCE (https://api.example.com) TOKEN_PATH (/oauth2/token) PKJWT_CLIENT_ID (<CLIENT_ID>-pkjwt)
//      SCOPES ('api:read api:write') TTL (300)
// Clients registered: CLIENT_ID (client_secret_basic; oidc-provider also accepts client_secret_post for it)
//                     PKJWT_CLIENT_ID (private_key_jwt, ES256, public key $KEYS_DIR/client_ec.pub.jwk.json)
import { readFileSync } from 'node:fs';
import { Provider } from 'oidc-provider';

const PORT = +(process.env.PORT ?? 3200),
  HOST = process.env.HOST ?? '127.0.0.1';
const ALG = process.env.ALG ?? 'ES256';
const CLIENT_ID = process.env.CLIENT_ID ?? 'bench-client';
const CLIENT_SECRET = process.env.CLIENT_SECRET ?? 'bench-secret-0123456789abcdef0123456789abcdef';
const PKJWT_CLIENT_ID = process.env.PKJWT_CLIENT_ID ?? `${CLIENT_ID}-pkjwt`;
const AUDIENCE = process.env.AUDIENCE ?? 'https://api.example.com';
const SCOPES = process.env.SCOPES ?? 'api:read api:write';
const TTL = +(process.env.TTL ?? 300);
const ISSUER = process.env.ISSUER ?? `http://${HOST}:${PORT}`;
const KEYS_DIR = process.env.KEYS_DIR ?? new URL('./keys/', import.meta.url).pathname;
const key = (f) => JSON.parse(readFileSync(`${KEYS_DIR}/${f}`, 'utf8'));
const file = { RS256: 'rsa', PS256: 'rsa', ES256: 'ec', EdDSA: 'ed25519' }[ALG];
if (!file) throw new Error(`unsupported ALG ${ALG}`);

const provider = new Provider(ISSUER, {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: SCOPES,
    },
    {
      client_id: PKJWT_CLIENT_ID,
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks: { keys: [{ ...key('client_ec.pub.jwk.json'), alg: 'ES256', use: 'sig' }] },
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: SCOPES,
    },
  ],
  jwks: { keys: [{ ...key(`${file}.jwk.json`), alg: ALG, use: 'sig' }] },
  scopes: SCOPES.split(' '),
  clientDefaults: { id_token_signed_response_alg: ALG, grant_types: ['client_credentials'], response_types: [] },
  clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
  enabledJWA: { clientAuthSigningAlgValues: ['ES256'] },
  ttl: { ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL ?? TTL },
  routes: { token: process.env.TOKEN_PATH ?? '/oauth2/token' },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => AUDIENCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, resourceIndicator) => {
        if (resourceIndicator !== AUDIENCE) throw new Error('unknown resource'); // surfaces as server_error
        return { scope: SCOPES, audience: AUDIENCE, accessTokenTTL: TTL, accessTokenFormat: 'jwt', jwt: { sign: { alg: ALG } } };
      },
    },
  },
});
let errs = 0;
provider.on('server_error', (ctx, err) => {
  if (errs++ < 5) console.error('server_error', err);
});
if (process.env.LOG_GRANT_ERRORS) provider.on('grant.error', (ctx, err) => console.error('grant.error', err.message, err.error_description));
const server = provider.listen(PORT, HOST, () => {
  console.log(`oidc-provider peer ${ALG} listening on ${ISSUER}${process.env.TOKEN_PATH ?? '/oauth2/token'} pid=${process.pid} clients=${CLIENT_ID},${PKJWT_CLIENT_ID}`);
});
for (const s of ['SIGTERM', 'SIGINT'])
  process.on(s, () => {
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
    server.closeAllConnections?.();
  });
