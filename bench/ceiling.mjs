// HTTP ceiling (adapted from shared/bench/ceiling.mjs): Fastify 5, logger off, @fastify/formbody,
// a fixed ~800-byte token response. No token endpoint on this stack can beat it. Unlike the
// shared one it also accepts client_secret_post and private_key_jwt shaped requests (credentials
// in the body), so every row's ceiling is measured with that row's exact request.
// Env: PORT (default 3100), HOST (127.0.0.1)
import Fastify from 'fastify';
import formbody from '@fastify/formbody';

const PORT = +(process.env.PORT ?? 3100),
  HOST = process.env.HOST ?? '127.0.0.1';
const FIXED = JSON.stringify({
  access_token: 'eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImVjIn0.' + 'x'.repeat(570) + '.' + 'y'.repeat(86),
  token_type: 'Bearer',
  expires_in: 300,
  scope: 'api:read api:write',
});
const app = Fastify({ logger: false });
await app.register(formbody);
app.post('/oauth2/token', async (req, reply) => {
  const b = req.body;
  if (b?.grant_type !== 'client_credentials' || !(req.headers.authorization || b.client_secret || b.client_assertion)) {
    reply.code(400);
    return { error: 'invalid_request' };
  }
  reply.header('cache-control', 'no-store').type('application/json; charset=utf-8');
  return FIXED;
});
await app.listen({ port: PORT, host: HOST });
console.log(`ceiling listening on http://${HOST}:${PORT} body=${Buffer.byteLength(FIXED)}B pid=${process.pid}`);
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => app.close().then(() => process.exit(0)));
