// Issue 16 item 7: deploy/grafana/tokenmill.json and deploy/prometheus/alerts.yml parse, are well
// formed, and every metric they query exists on the /metrics of a running app (after a token
// request, so labelled series exist): a renamed metric breaks this test, not a dashboard.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { ROOT } from '../helpers/server-process.js';
import { basic, build, register, tokenRequest } from '../helper.js';
import { metricNames } from '../helpers/prometheus.js';

const OUR_METRIC = /\b(?:tokenmill|process|nodejs)_[a-z0-9_]+\b/g;
const referenced = (expr: string): string[] => [...expr.matchAll(OUR_METRIC)].map((m) => m[0]);

interface Rule {
  alert?: string;
  expr?: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const alerts = parse(readFileSync(join(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/tokenmill.json'), 'utf8')) as {
  title: string;
  uid: string;
  panels: { id: number; title: string; type: string; targets: { refId: string; expr: string }[] }[];
  templating: { list: { name: string; query: unknown }[] };
};

t.test('alerts.yml: Prometheus rule groups, every rule named, with an expression, a severity and a summary', async (t) => {
  t.ok(alerts.groups.length >= 1);
  const names = new Set<string>();
  for (const group of alerts.groups) {
    t.type(group.name, 'string');
    for (const rule of group.rules) {
      t.match(rule, { alert: /^Tokenmill[A-Za-z0-9]+$/, expr: String, labels: { severity: /^(critical|warning)$/ }, annotations: { summary: String } }, rule.alert ?? 'a rule');
      if (rule.for !== undefined) t.match(rule.for, /^\d+[smh]$/, `${rule.alert}: for`);
      t.notOk(names.has(rule.alert as string), `${rule.alert} is unique`);
      names.add(rule.alert as string);
    }
  }
  for (const expected of [
    'TokenmillHigh5xxRate',
    'TokenmillNotReady',
    'TokenmillReplayWindowOpen',
    'TokenmillSigningKeyNotRotated',
    'TokenmillClientAuthFailureSpike',
    'TokenmillDatabaseErrors',
    'TokenmillRedisErrors',
  ])
    t.ok(names.has(expected), expected);
});

t.test('tokenmill.json: a Grafana dashboard with unique panel ids and a query per target', async (t) => {
  t.equal(dashboard.uid, 'tokenmill');
  const ids = dashboard.panels.map((p) => p.id);
  t.equal(new Set(ids).size, ids.length, 'unique panel ids');
  for (const p of dashboard.panels) {
    t.ok(p.targets.length > 0, `${p.title}: targets`);
    for (const target of p.targets) t.ok(referenced(target.expr).length > 0, `${p.title} ${target.refId}: queries a tokenmill or process metric`);
  }
});

t.test('every metric the alerts and the dashboard reference exists on /metrics', async (t) => {
  const b = await build(t);
  const c = await register(b.app, { client_name: 'deploy-files' });
  t.equal((await tokenRequest(b.app, { grant_type: 'client_credentials' }, { authorization: basic(c.client_id, c.client_secret as string) })).statusCode, 200);
  t.equal((await b.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
  const res = await (b.apps.admin ?? b.app).inject({ method: 'GET', url: '/metrics' });
  t.equal(res.statusCode, 200);
  const exposed = metricNames(res.body);
  const exprs = [
    ...alerts.groups.flatMap((g) => g.rules.map((r) => [`alert ${r.alert}`, r.expr as string] as const)),
    ...dashboard.panels.flatMap((p) => p.targets.map((x) => [`panel ${p.title}`, x.expr] as const)),
    ...dashboard.templating.list.filter((v) => typeof v.query === 'string').map((v) => [`variable ${v.name}`, v.query as string] as const),
  ];
  const checked = new Set<string>();
  const missing: string[] = [];
  for (const [where, expr] of exprs) {
    for (const name of referenced(expr)) {
      checked.add(name);
      if (!exposed.has(name)) missing.push(`${name} (${where})`);
    }
  }
  t.same(missing, [], 'no reference to a metric the app does not expose');
  t.ok(checked.size >= 15, `${checked.size} metric names checked`);
});
