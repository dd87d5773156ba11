import type { ClientUsage, ClientView, IssuedIat, KeyView, OrgView, SecretView, TokenQuotaView, UsageTop } from './api.js';
import { details, shortDate, table } from './table.js';

export const SECRET_WARNING = 'store this secret now: it cannot be shown again';

export function clientDetails(c: ClientView): string {
  const pairs: [string, unknown][] = [
    ['client_id', c.client_id],
    ['name', c.client_name],
    ['status', c.status],
    ['auth_method', c.token_endpoint_auth_method],
  ];
  if (c.token_endpoint_auth_signing_alg) pairs.push(['assertion_alg', c.token_endpoint_auth_signing_alg]);
  if (c.jwks) pairs.push(['jwks', `${c.jwks.keys.length} key${c.jwks.keys.length === 1 ? '' : 's'}`]);
  if (c.jwks_uri) pairs.push(['jwks_uri', c.jwks_uri]);
  pairs.push(
    ['grant_types', c.grant_types.join(' ')],
    ['scope', c.scope],
    ['audience', c.audience.join(' ')],
    ['token_ttl', c.access_token_ttl === null ? 'default' : `${c.access_token_ttl}s`],
    ['token_alg', c.access_token_signing_alg ?? 'default'],
    ['created', shortDate(c.created_at)],
    ['updated', shortDate(c.updated_at)],
    ['last_used', shortDate(c.last_used_at)],
    ['token_quota', c.effective_token_quota ? `${quotaText(c.effective_token_quota)} (${c.effective_token_quota.source === 'client' ? 'own' : 'default'})` : 'none'],
  );
  if (c.org_id) pairs.splice(3, 0, ['org_id', c.org_id]);
  return details(pairs);
}

/** `1000/hour, 20000/day, enforced` (or `counted only`). */
export function quotaText(q: Omit<TokenQuotaView, 'per_second' | 'per_hour' | 'per_day'> & { per_second?: number; per_hour?: number; per_day?: number }): string {
  const parts: string[] = [];
  if (q.per_second !== undefined) parts.push(`${q.per_second}/second`);
  if (q.per_hour !== undefined) parts.push(`${q.per_hour}/hour`);
  if (q.per_day !== undefined) parts.push(`${q.per_day}/day`);
  if (parts.length === 0) parts.push('no limit');
  return `${parts.join(', ')}, ${q.enforce ? 'enforced' : 'counted only'}`;
}

/** `clients usage`: the quota windows now, then the hours and days that issued tokens. */
export function usageDetails(u: ClientUsage): string {
  const windows = Object.entries(u.quota).filter((e): e is [string, NonNullable<(typeof e)[1]>] => e[1] !== undefined);
  const out: string[] = [];
  out.push(
    windows.length
      ? table(
          ['WINDOW', 'USED', 'LIMIT', 'RESETS'],
          windows.map(([name, w]) => [name, w.used, w.limit, shortDate(w.resets_at)]),
        )
      : 'no token quota\n',
  );
  const hours = u.hours.filter((h) => h.tokens > 0);
  out.push(
    hours.length
      ? table(
          ['HOUR (UTC)', 'TOKENS'],
          hours.map((h) => [h.start.slice(0, 13).replace('T', ' ') + ':00', h.tokens]),
        )
      : 'no tokens in the last 48 hours\n',
  );
  const days = u.days.filter((d) => d.tokens > 0);
  out.push(
    days.length
      ? table(
          ['DAY (UTC)', 'TOKENS'],
          days.map((d) => [d.start.slice(0, 10), d.tokens]),
        )
      : 'no tokens in the last 30 days\n',
  );
  return out.join('\n');
}

/** `usage top`: the clients with the most tokens this UTC hour. */
export function usageTopTable(top: UsageTop): string {
  if (top.items.length === 0) return `no tokens issued since ${top.hour_start}\n`;
  return table(
    ['CLIENT_ID', 'NAME', 'TOKENS'],
    top.items.map((i) => [i.client_id, i.client_name, i.tokens]),
  );
}

export function secretsTable(secrets: readonly SecretView[]): string {
  return table(
    ['SECRET_ID', 'PREFIX', 'CREATED', 'EXPIRES', 'LAST_USED', 'STATUS'],
    secrets.map((s) => [s.secret_id, s.prefix, shortDate(s.created_at), s.expires_at ? shortDate(s.expires_at) : 'never', shortDate(s.last_used_at), s.status]),
  );
}

export function clientsTable(clients: readonly ClientView[]): string {
  return table(
    ['CLIENT_ID', 'NAME', 'STATUS', 'AUTH', 'SCOPE', 'SECRETS', 'LAST_USED'],
    clients.map((c) => [c.client_id, c.client_name, c.status, c.token_endpoint_auth_method, c.scope, c.secrets.map((s) => s.prefix).join(','), shortDate(c.last_used_at)]),
  );
}

export function keysTable(keys: readonly KeyView[]): string {
  return table(
    ['KID', 'ALG', 'STATE', 'CREATED', 'ACTIVATES', 'RETIRES', 'REMOVE'],
    keys.map((k) => [k.kid, k.alg, k.state, shortDate(k.created_at), shortDate(k.activates_at), shortDate(k.retires_at), shortDate(k.remove_at)]),
  );
}

/** The one time a secret is shown: the secret, then the warning to store it. */
export function secretBlock(secretId: string | null, secret: string, expiresAt: string | null): string {
  return (
    details([
      ['secret_id', secretId],
      ['expires', expiresAt ? shortDate(expiresAt) : 'never'],
      ['client_secret', secret],
    ]) + `warning: ${SECRET_WARNING}\n`
  );
}

export function orgsTable(orgs: readonly OrgView[]): string {
  return table(
    ['ORG_ID', 'NAME', 'STATUS', 'MAX_CLIENTS', 'CREATED'],
    orgs.map((o) => [o.org_id, o.name, o.status, o.max_clients === null ? 'unlimited' : String(o.max_clients), shortDate(o.created_at)]),
  );
}

/** The one time an initial access token is shown. */
export function iatBlock(iat: IssuedIat): string {
  return (
    details([
      ['id', iat.id],
      ['expires', shortDate(iat.expires_at)],
      ['max_uses', iat.max_uses === null ? 'unlimited' : String(iat.max_uses)],
      ['token', iat.token],
    ]) + 'warning: store this initial access token now: it cannot be shown again\n'
  );
}
