// A resource server that trusts tokenmill: verifies access tokens offline (JWKS) and honours
// revocations through the revocation feed, with the tokenmill/verify Fastify plugin.
// Env: ISSUER (http://127.0.0.1:8080)  AUDIENCE (https://api.example.com)  PORT (3000)
//      RS_CLIENT_ID / RS_CLIENT_SECRET: a client registered for this resource server (reads the feed)
import Fastify from 'fastify';
import { tokenmillAuth } from 'tokenmill/verify';

const issuer = process.env.ISSUER ?? 'http://127.0.0.1:8080';
const audience = process.env.AUDIENCE ?? 'https://api.example.com';
const port = Number(process.env.PORT ?? 3000);
const { RS_CLIENT_ID: clientId, RS_CLIENT_SECRET: clientSecret } = process.env;

const app = Fastify({ logger: true });
await app.register(tokenmillAuth, {
  issuer,
  audience,
  ...(clientId && clientSecret ? { revocations: { clientId, clientSecret } } : {}),
});

// Any valid token for this audience.
app.get('/hello', { preHandler: app.tokenmill.require() }, async (request) => ({
  hello: request.tokenClaims.client_id,
  scope: request.tokenClaims.scope ?? '',
  expires_in: request.tokenClaims.exp - Math.floor(Date.now() / 1000),
}));

// Tokens that carry the api:write scope (403 insufficient_scope otherwise).
app.post('/things', { preHandler: app.tokenmill.require({ scope: 'api:write' }) }, async (request, reply) => reply.code(201).send({ created_by: request.tokenClaims.client_id }));

await app.listen({ port, host: '127.0.0.1' });
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => app.close().then(() => process.exit(0)));
