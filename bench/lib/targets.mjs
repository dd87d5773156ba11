// tokenmill, its clients, and the PostgreSQL database and Redis prefix of one run. (Part of bench/run.mjs.)
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { basicCredentials } from '@tokenmill/verify/protocol';
import { HERE, ROOT, DIST_SERVER, SERVER_NODE_ARGS, AUDIENCE, SCOPES, TOKEN_TTL } from './constants.mjs';
import { asyncCleanups, freePort, sleep, tail, startServer, waitReady } from './processes.mjs';
import { generateAssertions } from './assertions.mjs';
import { urlenc, ASSERTION_PREFIX } from './load.mjs';

export async function configKeys() {
  const { ConfigSchema } = await import(pathToFileURL(join(ROOT, 'dist/src/config/schema.js')).href);
  return Object.keys(ConfigSchema.properties);
}

/**
 * The bare-Fastify ceiling (bench/ceiling.mjs) on a free loopback port, as a target. `nodeArgs`:
 * Node options for it; `cwd`: its working directory (default: the repository).
 */
export async function startCeiling({ tmp, keys, nodeArgs = [], cwd }) {
  const port = await freePort();
  const entry = startServer('ceiling', [...nodeArgs, join(HERE, 'ceiling.mjs')], {
    cwd,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'production' },
    logFile: join(tmp, 'ceiling.log'),
  });
  const issuer = `http://127.0.0.1:${port}`;
  await waitReady(entry, `${issuer}/`);
  return { name: 'ceiling', kind: 'ceiling', entry, issuer, url: `${issuer}/oauth2/token`, tmp, keys, clients: { any: { id: 'bench-client', secret: 'x' } } };
}

/**
 * `nodeArgs`: Node options after those of `npm start`; `cwd`: the server's working directory
 * (default: the repository; the server reads nothing from it).
 */
export async function startTokenmill(name, { tmp, logLevel, keys, extraEnv = {}, cfgKeys, nodeArgs = [], cwd }) {
  const dir = join(tmp, name);
  mkdirSync(join(dir, 'data'), { recursive: true });
  mkdirSync(join(dir, 'keys'), { recursive: true }); // empty KEYS_DIR: no operator keys imported
  const [port, adminPort] = [await freePort(), await freePort()];
  const adminToken = `tmbench_${randomBytes(24).toString('base64url')}`;
  const env = { ...process.env };
  for (const k of cfgKeys) delete env[k]; // nothing of the caller's tokenmill configuration leaks in
  Object.assign(env, {
    PORT: String(port),
    ADMIN_PORT: String(adminPort),
    HOST: '127.0.0.1',
    ADMIN_TOKEN: adminToken,
    DATA_DIR: join(dir, 'data'),
    KEYS_DIR: join(dir, 'keys'),
    LOG_LEVEL: logLevel,
    SHUTDOWN_TIMEOUT: '5',
    ...extraEnv,
  });
  const entry = startServer(name, [...SERVER_NODE_ARGS, ...nodeArgs, DIST_SERVER], { env, cwd, logFile: join(dir, 'server.log') });
  const issuer = `http://127.0.0.1:${port}`;
  await waitReady(entry, `${issuer}/readyz`);
  // /readyz answers 503 until the stores and the signing key are up: wait for a 200
  const until = Date.now() + 60_000;
  for (;;) {
    const r = await fetch(`${issuer}/readyz`).catch(() => null);
    if (r?.status === 200) break;
    if (Date.now() > until) throw new Error(`${name}: /readyz not 200 after 60 s:\n${tail(entry.logFile)}`);
    await sleep(250);
  }
  return { name, kind: 'ours', entry, issuer, adminUrl: `http://127.0.0.1:${adminPort}`, url: `${issuer}/oauth2/token`, adminToken, keys, clients: {}, workers: Number(extraEnv.WORKERS ?? 1) };
}

/** The key of a row's client on its tokenmill target: rows with a client quota get a client of their own. */
export const clientKey = (row) => `${row.alg}-${row.auth}${row.clientQuota ? '-quota' : ''}`;

/** Registers a client (RFC 7591); with `tokenQuota`, the admin API then sets the client's own token quota. */
export async function registerClient(t, { auth, alg, keys, tokenQuota }) {
  const body = {
    client_name: `bench-${alg}-${auth}`,
    scope: SCOPES,
    audience: [AUDIENCE],
    access_token_ttl: TOKEN_TTL,
    access_token_signing_alg: alg,
    token_endpoint_auth_method: { basic: 'client_secret_basic', post: 'client_secret_post', pkjwt: 'private_key_jwt' }[auth],
  };
  if (auth === 'pkjwt') body.jwks = { keys: [{ ...JSON.parse(readFileSync(join(keys, 'client_ec.pub.jwk.json'), 'utf8')), alg: 'ES256', use: 'sig' }] };
  const r = await fetch(`${t.issuer}/oauth2/register`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const j = await r.json().catch(() => ({}));
  if (r.status !== 201 && r.status !== 200) throw new Error(`${t.name}: registering ${alg}/${auth} failed: ${r.status} ${JSON.stringify(j)}`);
  if (tokenQuota) {
    const p = await fetch(`${t.adminUrl}/admin/v1/clients/${encodeURIComponent(j.client_id)}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ token_quota: tokenQuota }),
    });
    if (p.status !== 200) throw new Error(`${t.name}: setting the token quota of ${alg}/${auth} failed: ${p.status} ${await p.text()}`);
  }
  return { id: j.client_id, secret: j.client_secret ?? null };
}

/**
 * One token request, to check a target and client before loading them. `rateLimited` (tokenmill
 * only): whether the response must carry the RateLimit headers of a token quota, or must not.
 */
export async function probe(t, auth, client, rateLimited) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  let body = 'grant_type=client_credentials';
  if (auth === 'basic') headers.authorization = basicCredentials(client.id, client.secret);
  else if (auth === 'post') body += `&client_id=${urlenc(client.id)}&client_secret=${urlenc(client.secret)}`;
  else {
    const f = join(t.tmp, `probe-${randomBytes(4).toString('hex')}.jwt`);
    await generateAssertions(f, 1, { clientId: client.id, aud: t.issuer, keyPem: readFileSync(join(t.keys, 'client_ec.key.pem')) });
    body = ASSERTION_PREFIX + readFileSync(f, 'utf8').trim();
    rmSync(f);
  }
  const r = await fetch(t.url, { method: 'POST', headers, body });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${t.name} ${auth}: probe token request answered ${r.status} ${text.slice(0, 300)}`);
  if (rateLimited !== undefined && r.headers.has('ratelimit-policy') !== rateLimited)
    throw new Error(`${t.name} ${auth}: the probe's response ${rateLimited ? 'lacks' : 'has'} RateLimit-Policy (${r.headers.get('ratelimit-policy')})`);
  const j = JSON.parse(text);
  if (t.kind !== 'ceiling') {
    const hdr = JSON.parse(Buffer.from(j.access_token.split('.')[0], 'base64url').toString());
    return hdr.alg;
  }
  return null;
}

export async function setUpPostgres(baseUrl, label) {
  const pg = (await import('pg')).default;
  const name = `tokenmill_bench_${label}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  asyncCleanups.push(async () => {
    const c = new pg.Client({ connectionString: baseUrl });
    await c.connect();
    try {
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } catch {
        await c.query(`DROP DATABASE IF EXISTS "${name}"`);
      }
    } finally {
      await c.end();
    }
  });
  const u = new URL(baseUrl);
  u.pathname = `/${name}`;
  return { url: u.toString(), name };
}

export async function setUpRedisPrefix(redisUrl, label) {
  const prefix = `tmbench_${label}_${randomBytes(5).toString('hex')}:`;
  asyncCleanups.push(async () => {
    const { Redis } = await import('ioredis');
    const r = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
    await r.connect();
    try {
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await r.del(...keys);
      } while (cursor !== '0');
    } finally {
      r.disconnect();
    }
  });
  return prefix;
}
