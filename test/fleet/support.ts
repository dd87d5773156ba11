// Real-process helpers for the fleet and outage suites: tokenmill nodes as child processes, a
// throwaway redis-server, a throwaway PostgreSQL cluster, and small HTTP helpers. Teardowns here
// never throw (a throwing tap teardown skips the ones registered before it, which would leak a
// database or a server); exit codes are asserted by the tests themselves via `node.stop()`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import {
  basicAuth,
  fetchJson as fetchJsonNoTimeout,
  freePort,
  serverEnv,
  serverPorts,
  spawnServer,
  waitReady,
  type ExitInfo,
  type JsonResponse,
  type ServerProcess,
} from '../helpers/server-process.js';
import { backendOrSkip, pgTestDatabase, redisTestPrefix } from '../helpers/backends.js';
import { sleep } from '../helpers/time.js';

export { basicAuth, freePort, waitReady, type ExitInfo, type JsonResponse } from '../helpers/server-process.js';
export const PG_BIN = '/usr/lib/postgresql/15/bin';

/** A temp directory removed at teardown. */
export function tempDir(t: Test, label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tokenmill-${label}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A random ADMIN_TOKEN (≥ 32 chars) and a KEY_ENCRYPTION_KEY (32 bytes, base64url: 43 chars). */
export function fleetSecrets(): { ADMIN_TOKEN: string; KEY_ENCRYPTION_KEY: string } {
  return { ADMIN_TOKEN: `fleet-admin-${randomBytes(24).toString('hex')}`, KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url') };
}

/**
 * The set-up of a suite on the test PostgreSQL and Redis: a fresh database, a fresh key prefix and
 * fresh secrets; null (the test skipped, or failed in CI) when either backend is not configured.
 */
export async function fleetBackends(t: Test): Promise<{ databaseUrl: string; redisUrl: string; prefix: string; secrets: ReturnType<typeof fleetSecrets> } | null> {
  const pgUrl = backendOrSkip(t, 'postgres');
  const redisUrl = backendOrSkip(t, 'redis');
  if (!pgUrl || !redisUrl) return null;
  const databaseUrl = await pgTestDatabase(t);
  const prefix = redisTestPrefix(t);
  return { databaseUrl, redisUrl, prefix, secrets: fleetSecrets() };
}

/**
 * Two nodes A and B on fleetBackends: two distinct free ports, the issuer A's URL, and the
 * environment both share (PORT is each node's own); null when the backends are not configured.
 */
export async function twoNodeFleet(
  t: Test,
  logLevel: string,
): Promise<{ databaseUrl: string; redisUrl: string; prefix: string; adminToken: string; portA: number; portB: number; issuer: string; env: Record<string, string> } | null> {
  const backends = await fleetBackends(t);
  if (!backends) return null;
  const { databaseUrl, redisUrl, prefix, secrets } = backends;
  const portA = await freePort();
  let portB = await freePort();
  while (portB === portA) portB = await freePort();
  const issuer = `http://127.0.0.1:${portA}`;
  const env = { ...secrets, ISSUER: issuer, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: logLevel };
  return { databaseUrl, redisUrl, prefix, adminToken: secrets.ADMIN_TOKEN, portA, portB, issuer, env };
}

export interface Node extends ServerProcess {
  name: string;
  url: string;
  adminUrl: string;
  port: number;
  adminPort: number;
  dataDir: string;
}

export interface SpawnOptions {
  name?: string;
  /** PORT, ADMIN_PORT, ISSUER, DATA_DIR, KEYS_DIR are filled in unless given; '' removes a key */
  env: Record<string, string>;
}

/**
 * Spawns `node dist/src/server.cjs` on free ports (unless PORT/ADMIN_PORT are given) with its own
 * DATA_DIR and an empty KEYS_DIR (so files in ./keys never leak into a test). Does not wait.
 * `stop()` never throws: a process that outlives its timeout is SIGKILLed and reported with code -1.
 */
export async function spawnNode(t: Test, options: SpawnOptions): Promise<Node> {
  const env = options.env;
  const { port, adminPort } = await serverPorts(env);
  const dataDir = env.DATA_DIR ?? tempDir(t, 'node');
  const keysDir = env.KEYS_DIR ?? tempDir(t, 'keys');
  const childEnv = serverEnv(env, {
    defaults: { ISSUER: `http://127.0.0.1:${port}` },
    forced: { PORT: String(port), ADMIN_PORT: String(adminPort), DATA_DIR: dataDir, KEYS_DIR: keysDir },
  });
  const proc = spawnServer(childEnv, { onStopTimeout: 'report' });
  const node: Node = {
    ...proc,
    name: options.name ?? `node:${port}`,
    url: `http://127.0.0.1:${port}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    port,
    adminPort,
    dataDir,
  };
  // Registered after the temp dirs, so it runs before they are removed (tap runs teardowns LIFO).
  t.teardown(async () => {
    await proc.stop('SIGTERM', 15_000).catch(() => {});
  });
  return node;
}

/** Spawns a node and waits until it is ready. */
export async function startNode(t: Test, options: SpawnOptions): Promise<Node> {
  const node = await spawnNode(t, options);
  await waitReady(node);
  return node;
}

/** Runs a node that is expected to fail at start; resolves with its exit and output (kills it after `timeoutMs`). */
export async function runToExit(t: Test, options: SpawnOptions, timeoutMs = 40_000): Promise<{ exit: ExitInfo; timedOut: boolean; stderr: string; output: string }> {
  const node = await spawnNode(t, options);
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([node.exited, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)))]);
  clearTimeout(timer);
  const timedOut = result === 'timeout';
  const exit = timedOut ? await node.stop('SIGKILL') : result;
  return { exit, timedOut, stderr: node.stderrLines().join('\n'), output: node.lines().join('\n') };
}

// ---- HTTP ----------------------------------------------------------------------------------------

/** fetchJson with a 15 s timeout unless `init.signal` is given. */
export function fetchJson(url: string, init?: RequestInit): Promise<JsonResponse> {
  return fetchJsonNoTimeout(url, init, 15_000);
}

const FORM = 'application/x-www-form-urlencoded';

export function form(url: string, params: Record<string, string>, authorization?: string): Promise<JsonResponse> {
  const headers: Record<string, string> = { 'content-type': FORM };
  if (authorization) headers.authorization = authorization;
  return fetchJson(url, { method: 'POST', headers, body: new URLSearchParams(params).toString() });
}

/** client_credentials with client_secret_basic. */
export function tokenBasic(node: Node, id: string, secret: string, extra: Record<string, string> = {}): Promise<JsonResponse> {
  return form(`${node.url}/oauth2/token`, { grant_type: 'client_credentials', ...extra }, basicAuth(id, secret));
}

/** client_credentials with private_key_jwt. */
export function tokenAssertion(node: Node, clientAssertion: string): Promise<JsonResponse> {
  return form(`${node.url}/oauth2/token`, {
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: clientAssertion,
  });
}

/** Introspection authenticated with the admin token. */
export function introspect(node: Node, adminToken: string, token: string): Promise<JsonResponse> {
  return form(`${node.url}/oauth2/introspect`, { token }, `Bearer ${adminToken}`);
}

/** RFC 7009 revocation by the client that holds the token. */
export function revoke(node: Node, id: string, secret: string, token: string): Promise<JsonResponse> {
  return form(`${node.url}/oauth2/revoke`, { token }, basicAuth(id, secret));
}

export function register(node: Node, adminToken: string, metadata: Record<string, unknown>): Promise<JsonResponse> {
  return fetchJson(`${node.url}/oauth2/register`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(metadata),
  });
}

/** Registers or throws. */
export async function registerOk(node: Node, adminToken: string, metadata: Record<string, unknown>): Promise<any> {
  const res = await register(node, adminToken, metadata);
  if (res.status !== 201) throw new Error(`registration at ${node.name} failed: ${res.status} ${res.text}`);
  return res.body;
}

/** A call to the admin API (`path` under /admin/v1). */
export function admin(node: Node, adminToken: string, method: string, path: string, body?: unknown): Promise<JsonResponse> {
  const headers: Record<string, string> = { authorization: `Bearer ${adminToken}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetchJson(`${node.adminUrl}/admin/v1${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
}

/** The decoded protected header of a compact JWS. */
export function jwsHeader(jws: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jws.split('.')[0] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

// ---- throwaway redis-server ----------------------------------------------------------------------

/** One PING over a raw socket: true when it answers +PONG. */
export function redisPing(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((r) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      r(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

export interface ThrowawayRedis {
  port: number;
  url: string;
  /** starts redis-server (empty: no persistence) and waits for PING */
  start(): Promise<void>;
  /** SIGKILL and wait for the exit */
  kill(): Promise<void>;
}

export function hasBinary(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** A redis-server without persistence on a free port, killed at teardown. */
export async function throwawayRedis(t: Test): Promise<ThrowawayRedis> {
  const port = await freePort();
  const dir = tempDir(t, 'redis');
  let proc: ChildProcess | null = null;
  let log = '';
  const kill = async () => {
    const p = proc;
    proc = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGKILL');
    await gone;
  };
  const start = async () => {
    if (proc) throw new Error('redis-server already running');
    // dir: a fresh empty working directory, so no dump.rdb can ever be loaded.
    const p = spawn('redis-server', ['--save', '', '--appendonly', 'no', '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    p.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    p.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (p.exitCode !== null) throw new Error(`redis-server exited (${p.exitCode}):\n${log}`);
      if (await redisPing(port)) return;
      await sleep(50);
    }
    throw new Error(`redis-server on ${port} did not answer PING:\n${log}`);
  };
  t.teardown(() => kill());
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, start, kill };
}

// ---- throwaway PostgreSQL cluster ------------------------------------------------------------------

export interface ThrowawayPostgres {
  port: number;
  /** postgres://postgres@127.0.0.1:PORT/postgres (trust authentication) */
  url: string;
  dir: string;
  start(): Promise<void>;
  /** pg_ctl stop -m immediate */
  stop(): Promise<void>;
}

export function hasPostgresBinaries(): boolean {
  return existsSync(join(PG_BIN, 'initdb')) && existsSync(join(PG_BIN, 'pg_ctl'));
}

/** Runs a PostgreSQL binary, as the postgres user when we are root (initdb and pg_ctl refuse root). */
function pgRun(bin: string, args: string[], timeoutMs = 60_000): { status: number | null; output: string } {
  const asRoot = process.getuid?.() === 0;
  const cmd = asRoot ? 'runuser' : join(PG_BIN, bin);
  const argv = asRoot ? ['-u', 'postgres', '--', join(PG_BIN, bin), ...args] : args;
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: timeoutMs, cwd: tmpdir() });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

function postgresIds(): { uid: number; gid: number } | null {
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return null;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** initdb + pg_ctl start on a free port with trust auth; stopped (immediate) and removed at teardown. */
export async function throwawayPostgres(t: Test): Promise<ThrowawayPostgres> {
  const root = mkdtempSync(join(tmpdir(), 'tokenmill-pg-'));
  const dir = join(root, 'data');
  let running = false;
  t.teardown(() => {
    if (running) pgRun('pg_ctl', ['-D', dir, '-m', 'immediate', 'stop']);
    running = false;
    rmSync(root, { recursive: true, force: true });
  });
  if (process.getuid?.() === 0) {
    const ids = postgresIds();
    if (!ids) throw new Error('running as root but there is no postgres user to run initdb as');
    chownSync(root, ids.uid, ids.gid);
  }
  const init = pgRun('initdb', ['-D', dir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  if (init.status !== 0) throw new Error(`initdb failed:\n${init.output}`);
  const port = await freePort();
  const start = async () => {
    const r = pgRun('pg_ctl', ['-D', dir, '-w', '-t', '60', '-o', `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off`, '-l', join(root, 'log'), 'start']);
    if (r.status !== 0) throw new Error(`pg_ctl start failed:\n${r.output}`);
    running = true;
  };
  const stop = async () => {
    const r = pgRun('pg_ctl', ['-D', dir, '-m', 'immediate', 'stop']);
    if (r.status !== 0) throw new Error(`pg_ctl stop failed:\n${r.output}`);
    running = false;
  };
  await start();
  return { port, url: `postgres://postgres@127.0.0.1:${port}/postgres`, dir, start, stop };
}
