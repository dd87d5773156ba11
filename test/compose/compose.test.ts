// docker-compose.yml describes a working fleet: PostgreSQL and Redis with healthchecks, two
// tokenmill nodes that wait for both to be healthy, share one ISSUER, ADMIN_TOKEN and
// KEY_ENCRYPTION_KEY, point at those services, and set only variables tokenmill knows
// (SPEC "Running it"; an unknown variable is silently ignored, which is how typos hide).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { ConfigSchema } from '../../src/config/schema.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

type Service = Record<string, unknown>;

/** `environment:` as a map, whether written as a map or as a list of KEY=VALUE. */
function environmentOf(service: Service): Record<string, string | null> {
  const env = service.environment;
  if (env === undefined || env === null) return {};
  if (Array.isArray(env)) {
    const out: Record<string, string | null> = {};
    for (const item of env) {
      const s = String(item);
      const eq = s.indexOf('=');
      if (eq === -1) out[s] = null;
      else out[s.slice(0, eq)] = s.slice(eq + 1);
    }
    return out;
  }
  const out: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(env as Record<string, unknown>)) out[k] = v === null || v === undefined ? null : String(v);
  return out;
}

/** `depends_on:` as name → condition (the short list form means service_started). */
function dependsOn(service: Service): Record<string, string> {
  const d = service.depends_on;
  if (!d) return {};
  if (Array.isArray(d)) return Object.fromEntries(d.map((n) => [String(n), 'service_started']));
  return Object.fromEntries(Object.entries(d as Record<string, { condition?: string } | null>).map(([k, v]) => [k, v?.condition ?? 'service_started']));
}

function hasHealthcheck(service: Service): boolean {
  const hc = service.healthcheck as { test?: unknown; disable?: boolean } | undefined;
  if (!hc || hc.disable) return false;
  const test = hc.test;
  if (Array.isArray(test)) return test.length > 0 && test[0] !== 'NONE';
  return typeof test === 'string' && test.length > 0;
}

const text = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
// Compose files use YAML merge keys (`<<: *anchor`); yaml 2 applies them only when asked.
const doc = parse(text, { merge: true }) as { services?: Record<string, Service> };
const services = doc.services ?? {};
const knownVariables = new Set(Object.keys(ConfigSchema.properties));
const nodeNames = Object.keys(services).filter((n) => n !== 'postgres' && n !== 'redis');

t.test('postgres and redis services with healthchecks', async (t) => {
  for (const name of ['postgres', 'redis']) {
    const s = services[name];
    t.ok(s, `service ${name} exists`);
    if (s) t.ok(hasHealthcheck(s), `${name} has a healthcheck`);
  }
});

t.test('two tokenmill nodes with healthchecks on /readyz', async (t) => {
  t.equal(nodeNames.length, 2, `two tokenmill nodes (${nodeNames.join(', ')})`);
  for (const name of nodeNames) {
    const s = services[name] as Service;
    t.ok(s.build !== undefined || s.image !== undefined, `${name} has a build or an image`);
    t.ok(hasHealthcheck(s), `${name} has a healthcheck`);
    t.match(JSON.stringify((s.healthcheck as { test?: unknown } | undefined)?.test ?? ''), /\/readyz/, `${name}'s healthcheck asks /readyz (database and Redis reachable)`);
  }
});

t.test('both nodes share the fleet settings and point at the compose services', async (t) => {
  const envs = nodeNames.map((n) => environmentOf(services[n] as Service));
  for (const [i, env] of envs.entries()) {
    const name = nodeNames[i];
    t.match(env.DATABASE_URL ?? '', /^postgres(ql)?:\/\//, `${name}: DATABASE_URL is postgres://`);
    t.match(env.REDIS_URL ?? '', /^rediss?:\/\//, `${name}: REDIS_URL is redis://`);
    if (env.DATABASE_URL) t.equal(new URL(env.DATABASE_URL).hostname, 'postgres', `${name}: DATABASE_URL names the postgres service`);
    if (env.REDIS_URL) t.equal(new URL(env.REDIS_URL).hostname, 'redis', `${name}: REDIS_URL names the redis service`);
    for (const v of ['ISSUER', 'ADMIN_TOKEN', 'KEY_ENCRYPTION_KEY']) t.ok(env[v], `${name}: ${v} is set`);
  }
  if (envs.length === 2) {
    const [a, b] = envs as [Record<string, string | null>, Record<string, string | null>];
    for (const v of ['ISSUER', 'ADMIN_TOKEN', 'KEY_ENCRYPTION_KEY', 'DATABASE_URL', 'REDIS_URL', 'REDIS_KEY_PREFIX', 'SIGNING_ALG']) {
      t.equal(a[v], b[v], `the same ${v} on both nodes`);
    }
  }
});

t.test('every variable a node sets is one tokenmill reads', async (t) => {
  t.ok(knownVariables.size > 10, 'ConfigSchema.properties lists the variables');
  for (const name of nodeNames) {
    const unknown = Object.keys(environmentOf(services[name] as Service)).filter((k) => !knownVariables.has(k));
    t.same(unknown, [], `${name}: no variable outside ConfigSchema`);
  }
});

t.test('nodes start only once postgres and redis are healthy', async (t) => {
  for (const name of nodeNames) {
    const deps = dependsOn(services[name] as Service);
    t.equal(deps.postgres, 'service_healthy', `${name} depends on postgres being healthy`);
    t.equal(deps.redis, 'service_healthy', `${name} depends on redis being healthy`);
  }
});
