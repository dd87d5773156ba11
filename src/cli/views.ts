import type { ClientView, IssuedIat, KeyView, OrgView, SecretView } from './api.js';
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
  );
  if (c.org_id) pairs.splice(3, 0, ['org_id', c.org_id]);
  return details(pairs);
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
