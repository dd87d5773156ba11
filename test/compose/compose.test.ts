// docker-compose.yml describes a working production fleet: PostgreSQL and Redis (noeviction) with
// healthchecks, two tokenmill nodes from one image built once, in production mode, that wait for
// both to be healthy, take ISSUER, ADMIN_TOKEN and KEY_ENCRYPTION_KEY from one env file (never from
// the compose file itself), point at those services, publish their admin listeners on the host's
// loopback only, and set only variables tokenmill knows (contract "Running it"; an unknown variable is
// silently ignored, which is how typos hide). The Dockerfile compiles the server only and runs it
// as an unprivileged user. Docker itself is not needed: the files are parsed.
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

/** KEY=VALUE lines of an env file, commented-out assignments (`# KEY=`) listed as documented. */
function envFile(path: string): { values: Record<string, string>; documented: Set<string> } {
  const values: Record<string, string> = {};
  const documented = new Set<string>();
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    const line = raw.trim();
    const commented = /^#\s*([A-Z][A-Z0-9_]*)=/.exec(line);
    if (commented) documented.add(commented[1]!);
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) {
      values[m[1]!] = m[2]!.replace(/\s+#.*$/, '').trim();
      documented.add(m[1]!);
    }
  }
  return { values, documented };
}

/** `env_file:` as a list of paths relative to the compose file. */
function envFilesOf(service: Service): string[] {
  const e = service.env_file;
  if (e === undefined || e === null) return [];
  const list = Array.isArray(e) ? e : [e];
  return list.map((x) => (typeof x === 'string' ? x : String((x as { path?: string }).path)));
}

interface PortMapping {
  hostIp: string | null;
  published: string;
  target: string;
}

/** `ports:` in short (`[ip:]host:container`) or long (`{target, published, host_ip}`) syntax. */
function portsOf(service: Service): PortMapping[] {
  const ports = (service.ports ?? []) as unknown[];
  return ports.map((p) => {
    if (typeof p === 'object' && p !== null) {
      const o = p as { target: unknown; published?: unknown; host_ip?: unknown };
      return { hostIp: o.host_ip === undefined ? null : String(o.host_ip), published: String(o.published ?? ''), target: String(o.target) };
    }
    const parts = String(p)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    if (parts.length === 3) return { hostIp: parts[0]!, published: parts[1]!, target: parts[2]! };
    if (parts.length === 2) return { hostIp: null, published: parts[0]!, target: parts[1]! };
    return { hostIp: null, published: '', target: parts[0]! };
  });
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

// The env file a node reads (config/production.env) is the operator's, out of git: its template,
// config/production.example.env, stands in for it here.
const EXAMPLE_ENV = envFile(join(ROOT, 'config/production.example.env'));
/** What a node runs with: the env file (its template here), then `environment:`, which wins. */
function effectiveEnv(service: Service): Record<string, string | null> {
  return { ...(envFilesOf(service).length ? EXAMPLE_ENV.values : {}), ...environmentOf(service) };
}

t.test('both nodes share the fleet settings and point at the compose services', async (t) => {
  const envs = nodeNames.map((n) => effectiveEnv(services[n] as Service));
  for (const [i, env] of envs.entries()) {
    const name = nodeNames[i];
    t.match(env.DATABASE_URL ?? '', /^postgres(ql)?:\/\//, `${name}: DATABASE_URL is postgres://`);
    t.match(env.REDIS_URL ?? '', /^rediss?:\/\//, `${name}: REDIS_URL is redis://`);
    if (env.DATABASE_URL) t.equal(new URL(env.DATABASE_URL).hostname, 'postgres', `${name}: DATABASE_URL names the postgres service`);
    if (env.REDIS_URL) t.equal(new URL(env.REDIS_URL).hostname, 'redis', `${name}: REDIS_URL names the redis service`);
    t.ok(env.ISSUER, `${name}: ISSUER is set`);
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
  const unknownInEnvFile = [...EXAMPLE_ENV.documented].filter((k) => !knownVariables.has(k));
  t.same(unknownInEnvFile, [], 'config/production.example.env: no variable outside ConfigSchema');
});

t.test('one image, built once, for every node', async (t) => {
  const builders = Object.entries(services)
    .filter(([, s]) => s.build !== undefined)
    .map(([n]) => n);
  t.equal(builders.length, 1, `exactly one service builds (${builders.join(', ')})`);
  const image = services[builders[0] ?? '']?.image;
  t.type(image, 'string', 'the building service names its image');
  for (const name of nodeNames) {
    const s = services[name] as Service;
    t.equal(s.image, image, `${name} runs ${String(image)}`);
    if (s.build === undefined) t.equal(s.pull_policy, 'never', `${name} never pulls the locally built image from a registry`);
  }
});

t.test('production mode, with secrets from an env file and TLS in front', async (t) => {
  for (const name of nodeNames) {
    const s = services[name] as Service;
    const env = environmentOf(s);
    t.equal(env.NODE_ENV, 'production', `${name}: NODE_ENV=production`);
    t.same(envFilesOf(s), ['./config/production.env'], `${name}: reads ./config/production.env`);
    for (const secret of ['ADMIN_TOKEN', 'KEY_ENCRYPTION_KEY']) {
      t.notOk(secret in env, `${name}: ${secret} is not written in the compose file`);
      t.ok(EXAMPLE_ENV.documented.has(secret), `config/production.example.env documents ${secret}`);
      t.notOk(EXAMPLE_ENV.values[secret], `config/production.example.env holds no ${secret} value`);
    }
    const effective = effectiveEnv(s);
    t.match(effective.ISSUER ?? '', /^https:\/\//, `${name}: an https ISSUER`);
    t.ok(effective.TRUST_PROXY === 'true' || (effective.TLS_CERT_FILE && effective.TLS_KEY_FILE), `${name}: TLS terminated by a proxy (TRUST_PROXY) or served (TLS_CERT_FILE/TLS_KEY_FILE)`);
  }
  for (const ignore of ['.gitignore', '.dockerignore']) {
    const lines = readFileSync(join(ROOT, ignore), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    t.ok(
      lines.some((l) => l === 'config/production.env' || l === 'config/*.env'),
      `${ignore} keeps config/production.env out`,
    );
  }
});

t.test('admin listeners are published on the host loopback only; public ones are published', async (t) => {
  for (const name of nodeNames) {
    const s = services[name] as Service;
    const env = environmentOf(s);
    const adminPort = env.ADMIN_PORT ?? '8081';
    const port = env.PORT ?? '8080';
    t.not(adminPort, port, `${name}: a separate admin listener`);
    t.equal(env.ADMIN_HOST, '0.0.0.0', `${name}: the admin listener is reachable through the published port inside the container`);
    const ports = portsOf(s);
    const admin = ports.filter((p) => p.target === adminPort);
    t.equal(admin.length, 1, `${name}: the admin port is published once`);
    for (const p of admin) t.equal(p.hostIp, '127.0.0.1', `${name}: admin port ${p.published} bound to 127.0.0.1 on the host`);
    t.ok(
      ports.some((p) => p.target === port),
      `${name}: the public port is published`,
    );
  }
});

t.test('redis refuses writes when full instead of evicting', async (t) => {
  const redis = services.redis as Service;
  const command = Array.isArray(redis.command) ? (redis.command as unknown[]).map(String) : String(redis.command ?? '').split(/\s+/);
  const i = command.indexOf('--maxmemory-policy');
  t.ok(i >= 0, 'redis is started with --maxmemory-policy');
  t.equal(command[i + 1], 'noeviction', 'maxmemory-policy noeviction');
});

// ---- Dockerfile ----------------------------------------------------------------------------------

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile instructions per stage (continuation lines joined, comments dropped). */
function dockerStages(source: string): { from: string; instructions: Instruction[] }[] {
  const stages: { from: string; instructions: Instruction[] }[] = [];
  const logical: string[] = [];
  let current = '';
  for (const raw of source.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') && current === '') continue;
    if (line.endsWith('\\')) {
      current += line.slice(0, -1) + ' ';
      continue;
    }
    current += line;
    if (current.trim()) logical.push(current.trim());
    current = '';
  }
  for (const l of logical) {
    const m = /^(\w+)\s+(.*)$/.exec(l);
    if (!m) continue;
    const op = m[1]!.toUpperCase();
    if (op === 'FROM') stages.push({ from: m[2]!, instructions: [] });
    else stages[stages.length - 1]?.instructions.push({ op, args: m[2]! });
  }
  return stages;
}

const stages = dockerStages(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));

t.test('Dockerfile: the server only, compiled with the build tsconfig', async (t) => {
  t.ok(stages.length >= 2, 'a build stage and a runtime stage');
  const all = stages.flatMap((s) => s.instructions);
  const copies = all.filter((i) => i.op === 'COPY' || i.op === 'ADD');
  t.notOk(
    copies.some((i) => /(^|\s)(\.\/)?test(\/|\s|$)/.test(i.args)),
    'no COPY of test/',
  );
  t.notOk(
    copies.some((i) => i.args.split(/\s+/)[0] === '.'),
    'no COPY of the whole context',
  );
  t.ok(
    copies.some((i) => /(^|\s)(\.\/)?packages(\/|\s)/.test(i.args)),
    'the workspace packages are copied (the server imports @tokenmill/verify)',
  );
  const runs = all.filter((i) => i.op === 'RUN').map((i) => i.args);
  t.ok(
    runs.some((r) => /tsc\b.*-p\s+tsconfig\.build\.json/.test(r)),
    'compiles with tsconfig.build.json',
  );
  t.notOk(
    runs.some((r) => /tsc\b.*-p\s+tsconfig\.json/.test(r) || /npm run build(?!\s+--workspace)/.test(r)),
    'not with tsconfig.json (which includes the tests)',
  );
  const build = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { include?: string[]; extends?: string };
  t.ok(build.include?.length, 'tsconfig.build.json lists what it compiles');
  t.notOk(
    build.include?.some((p) => p.startsWith('test')),
    'tsconfig.build.json leaves test/ out',
  );
  t.ok(
    build.include?.some((p) => p.startsWith('src/')),
    'and compiles src/',
  );
});

t.test('Dockerfile: every npm workspace manifest is in place before each npm ci', async (t) => {
  const workspaces = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { workspaces?: string[] }).workspaces ?? [];
  t.ok(workspaces.length > 0, 'the package has workspaces');
  for (const [n, stage] of stages.entries()) {
    const ci = stage.instructions.findIndex((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
    if (ci < 0) continue;
    const before = stage.instructions.slice(0, ci).filter((i) => i.op === 'COPY');
    for (const ws of workspaces)
      t.ok(
        before.some((i) => i.args.includes(`${ws}/package.json`) || i.args.split(/\s+/).includes(ws)),
        `stage ${n}: ${ws}/package.json is copied before npm ci`,
      );
  }
});

t.test('Dockerfile: the runtime stage runs as a user that is not root', async (t) => {
  const runtime = stages[stages.length - 1]!;
  const users = runtime.instructions.filter((i) => i.op === 'USER').map((i) => i.args.trim());
  t.ok(users.length > 0, 'the runtime stage sets USER');
  const user = (users[users.length - 1] ?? '').split(':')[0];
  t.notOk(user === 'root' || user === '0', `runs as ${user}, not root`);
  t.match(runtime.from, /^node:/, 'from a node image (which has the node user)');
  const cmdAfterUser = runtime.instructions.findIndex((i) => i.op === 'CMD') > runtime.instructions.findIndex((i) => i.op === 'USER');
  t.ok(cmdAfterUser, 'USER comes before CMD');
});

t.test('nodes start only once postgres and redis are healthy', async (t) => {
  for (const name of nodeNames) {
    const deps = dependsOn(services[name] as Service);
    t.equal(deps.postgres, 'service_healthy', `${name} depends on postgres being healthy`);
    t.equal(deps.redis, 'service_healthy', `${name} depends on redis being healthy`);
  }
});
