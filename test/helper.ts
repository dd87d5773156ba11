import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import pino from 'pino';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp, type Apps } from '../src/app.js';
import { loadConfig } from '../src/config/load.js';
import type { Config } from '../src/config/schema.js';
import type { Clock } from '../src/lib/clock.js';
import { openRuntime, type Runtime } from '../src/runtime.js';
import { freePort } from './helpers/server-process.js';

/** A clock tests move by hand. */
export class TestClock implements Clock {
  private t: number;
  constructor(start = Date.UTC(2026, 10, 23, 12, 0, 0)) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  set(ms: number): void {
    this.t = ms;
  }
}

/** AUTH_FAILURE_MAX of test servers unless a test sets its own: counting on, never reached. */
const TEST_AUTH_FAILURE_MAX = '1000000';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdefghijklmnopqrstuvwxyz';
export const ISSUER = 'http://tokenmill.test';

export interface Built {
  rt: Runtime;
  apps: Apps;
  app: FastifyInstance;
  clock: TestClock;
  config: Config;
  /** every log line written so far (JSON strings) */
  logs: string[];
  dataDir: string;
  /** resolves once no audit write is in flight (they run in onResponse hooks, after the reply) */
  auditIdle(): Promise<void>;
}

/** Wraps the runtime's audit log so a test can wait for the writes that hooks started after a reply. */
function trackAuditWrites(rt: Runtime): () => Promise<void> {
  const pending = new Set<Promise<void>>();
  const record = rt.audit.record.bind(rt.audit);
  rt.audit.record = (e) => {
    const write = record(e);
    pending.add(write);
    void write.then(
      () => pending.delete(write),
      () => pending.delete(write),
    );
    return write;
  };
  return async () => {
    // A hook starts its write a few callbacks after the reply; then each write may start another.
    for (let quiet = 0; quiet < 3;) {
      await new Promise((resolve) => setImmediate(resolve));
      if (pending.size === 0) quiet++;
      else {
        quiet = 0;
        await Promise.allSettled([...pending]);
      }
    }
  };
}

/**
 * A tokenmill runtime and its Fastify instances on embedded stores (PGlite in memory unless
 * `persistent`), a fixed clock and a captured log; closed and removed at teardown.
 */
export async function build(t: Test, env: Record<string, string> = {}, options: { clock?: TestClock; dataDir?: string; persistent?: boolean } = {}): Promise<Built> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'tokenmill-test-'));
  // The failed-authentication limit counts, but is out of reach (suites send many failures from
  // 127.0.0.1); test/routes/failure-limit.test.ts sets it to what it tests.
  const config = loadConfig({ ISSUER, ADMIN_TOKEN, DATA_DIR: dataDir, LOG_LEVEL: 'info', AUTH_FAILURE_MAX: TEST_AUTH_FAILURE_MAX, ...env });
  const clock = options.clock ?? new TestClock();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  const logger = pino({ level: config.logLevel }, sink);
  const rt = await openRuntime(config, { logger, clock, inMemoryDatabase: !options.persistent });
  const auditIdle = trackAuditWrites(rt);
  const apps = await buildApp(rt);
  t.teardown(async () => {
    await apps.public.close();
    await apps.admin?.close();
    await rt.close();
    if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  return { rt, apps, app: apps.public, clock, config, logs, dataDir, auditIdle };
}

/** `build`, listening on one free port of 127.0.0.1 (public and admin), its issuer the listener's URL. */
export async function buildListening(t: Test, env: Record<string, string> = {}, options: { clock?: TestClock } = {}): Promise<{ b: Built; base: string }> {
  const port = String(await freePort());
  const base = `http://127.0.0.1:${port}`;
  const b = await build(t, { ISSUER: base, PORT: port, ADMIN_PORT: port, ...env }, options);
  await b.app.listen({ port: Number(port), host: '127.0.0.1' });
  return { b, base };
}

/** RFC 6749 §2.3.1 Basic credentials (form-urlencoded halves). */
export { basicCredentials as basic } from '@tokenmill/verify/protocol';

export const form = (params: Record<string, string | string[]>): string => {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) sp.append(k, x);
  return sp.toString();
};

export interface RegisteredClient {
  client_id: string;
  client_secret?: string;
  registration_access_token: string;
  registration_client_uri: string;
  [k: string]: unknown;
}

/** Registers a client through POST /oauth2/register with the admin token; fails the test otherwise. */
export async function register(app: FastifyInstance, metadata: Record<string, unknown> = {}): Promise<RegisteredClient> {
  const res = await app.inject({
    method: 'POST',
    url: '/oauth2/register',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    payload: { client_name: 'test', scope: 'api:read api:write', audience: ['https://api.example.com'], ...metadata },
  });
  if (res.statusCode !== 201) throw new Error(`registration failed: ${res.statusCode} ${res.body}`);
  return res.json() as RegisteredClient;
}

/** POST /oauth2/token with a form body. */
export function tokenRequest(app: FastifyInstance, params: Record<string, string | string[]>, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: '/oauth2/token', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: form(params) });
}
