import { html, type Html } from '../html.js';
import { badge, chips, csrfField, field, page, select, when, type Viewer } from '../layout.js';
import { clientBadges } from './clients.js';
import { hourlyChart } from '../chart.js';
import type { ClientData, FieldErrors } from './types.js';

/** GET /admin/v1/clients/:id/usage, as the console shows it. */
export interface UsageData {
  hours: { start: string; tokens: number }[];
  quota: Partial<Record<'second' | 'hour' | 'day', { limit: number; used: number; resets_at: string }>>;
}

function usageSection(usage: UsageData | undefined): Html {
  if (!usage) return html`<p class="muted">Usage is shown when the page is opened.</p>`;
  const series = { hours: usage.hours.map((h) => Date.parse(h.start)), counts: usage.hours.map((h) => h.tokens) };
  const windows = Object.entries(usage.quota);
  return html`${hourlyChart(series, 'Access tokens issued to this client per hour', 'usage-chart-title')}
  ${
    windows.length
      ? html`<table>
          <caption>
            Quota windows now
          </caption>
          <thead>
            <tr>
              <th scope="col">Window</th>
              <th scope="col">Used</th>
              <th scope="col">Limit</th>
              <th scope="col">Resets</th>
            </tr>
          </thead>
          <tbody>
            ${windows.map(
              ([name, w]) =>
                html`<tr>
                  <td>${name}</td>
                  <td>${w?.used ?? 0}</td>
                  <td>${w?.limit ?? ''}</td>
                  <td>${w?.resets_at ?? ''}</td>
                </tr>`,
            )}
          </tbody>
        </table>`
      : html`<p class="muted">No token quota applies to this client.</p>`
  }`;
}

export const GRACE_PRESETS = [
  ['0', 'none: older secrets stop working now'],
  ['3600', '1 hour'],
  ['86400', '24 hours'],
  ['604800', '7 days'],
] as const;

export const EXPIRY_PRESETS = [
  ['7d', '7 days'],
  ['30d', '30 days'],
  ['60d', '60 days'],
  ['90d', '90 days'],
  ['180d', '180 days'],
  ['1y', '1 year'],
  ['never', 'never'],
] as const;

/** The values of the edit form: as submitted after a refusal, else the client's. */
export interface EditValues {
  client_name: string;
  scope: string;
  audience: string;
  access_token_ttl: string;
  jwks: string;
  jwks_uri: string;
}

export const editValuesOf = (c: ClientData): EditValues => ({
  client_name: c.client_name ?? '',
  scope: c.scope,
  audience: c.audience.join('\n'),
  access_token_ttl: c.access_token_ttl === null ? '' : String(c.access_token_ttl),
  jwks: c.jwks ? JSON.stringify(c.jwks, null, 2) : '',
  jwks_uri: c.jwks_uri ?? '',
});

const action = (c: ClientData, path: string): string => `/console/clients/${encodeURIComponent(c.client_id)}${path}`;

/** A one-button form for a destructive or state-changing action; the sentence says what it does. */
function actionForm(viewer: Viewer, url: string, label: string, says: string, opts: { danger?: boolean; extra?: Html } = {}): Html {
  return html`<form method="post" action="${url}" class="action" data-confirm="${says}">
    ${csrfField(viewer)}${opts.extra ?? ''}<button type="submit" ${opts.danger ? html` class="danger"` : ''}>${label}</button> <span class="hint">${says}</span>
  </form>`;
}

export function clientPage(viewer: Viewer, c: ClientData, now: number, opts: { notice?: string | null; values?: EditValues; errors?: FieldErrors; status?: string; usage?: UsageData } = {}): Html {
  const errors = opts.errors ?? {};
  const values = opts.values ?? editValuesOf(c);
  const name = c.client_name ?? c.client_id;
  const secretMethod = c.token_endpoint_auth_method !== 'private_key_jwt';
  return page(
    viewer,
    'clients',
    `Client ${name}`,
    html`<section aria-labelledby="h-meta"><h2 id="h-meta">Metadata</h2>
<dl class="meta">
<dt>Client ID</dt><dd><code>${c.client_id}</code></dd>
<dt>Status</dt><dd>${clientBadges(c, now)}</dd>
<dt>Authentication</dt><dd>${c.token_endpoint_auth_method}${c.token_endpoint_auth_signing_alg ? html` (${c.token_endpoint_auth_signing_alg})` : ''}</dd>
<dt>Scopes</dt><dd>${chips(c.scope.split(' ').filter(Boolean))}</dd>
<dt>Audiences</dt><dd>${chips(c.audience)}</dd>
<dt>Token lifetime</dt><dd>${c.access_token_ttl === null ? 'server default' : `${c.access_token_ttl} s`}</dd>
${
  c.jwks_uri
    ? html`<dt>JWKS URI</dt>
        <dd><code>${c.jwks_uri}</code></dd>`
    : ''
}
${
  c.jwks
    ? html`<dt>Keys</dt>
        <dd>${chips(c.jwks.keys.map((k) => `${String(k.kid ?? 'no kid')} (${String(k.kty ?? '?')})`))}</dd>`
    : ''
}
<dt>Created</dt><dd>${when(c.created_at)}</dd>
<dt>Updated</dt><dd>${when(c.updated_at)}</dd>
<dt>Last used</dt><dd>${when(c.last_used_at, 'never')}</dd>
</dl>
</section>

<section aria-labelledby="h-edit"><h2 id="h-edit">Edit</h2>
<details${Object.keys(errors).length ? html` open` : ''}><summary>Edit metadata</summary>
<form method="post" action="${action(c, '/edit')}" novalidate>${csrfField(viewer)}
${errors._form ? html`<p class="error" role="alert">${errors._form}</p>` : ''}
${field({ name: 'client_name', label: 'Name', value: values.client_name, error: errors.client_name })}
${field({ name: 'scope', label: 'Scopes', value: values.scope, hint: 'Space-separated, e.g. api:read api:write', error: errors.scope })}
${field({ name: 'audience', label: 'Audiences', value: values.audience, textarea: true, rows: 3, hint: 'One per line', error: errors.audience })}
${field({ name: 'access_token_ttl', label: 'Token lifetime (seconds)', value: values.access_token_ttl, type: 'number', hint: 'Empty: the server default', error: errors.access_token_ttl })}
${secretMethod ? '' : html`${field({ name: 'jwks', label: 'JWKS (JSON)', value: values.jwks, textarea: true, rows: 6, hint: 'A JWK or a JWK Set; empty when a JWKS URI is used', error: errors.jwks })}${field({ name: 'jwks_uri', label: 'JWKS URI', value: values.jwks_uri, type: 'url', error: errors.jwks_uri })}`}
<button type="submit">Save changes</button>
</form></details>
</section>

${
  secretMethod
    ? html`<section aria-labelledby="h-secrets">
        <h2 id="h-secrets">Secrets</h2>
        <div class="table-wrap">
          <table>
            <caption>
              Secrets are shown by their prefix; the secret itself was shown once.
            </caption>
            <thead>
              <tr>
                <th scope="col">Prefix</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">State</th>
                <th scope="col"><span class="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              ${
                c.secrets.length
                  ? c.secrets.map(
                      (s) =>
                        html`<tr>
                          <td><code>${s.prefix}…</code></td>
                          <td>${when(s.created_at)}</td>
                          <td>${when(s.expires_at, 'never')}</td>
                          <td>${when(s.last_used_at, 'never')}</td>
                          <td>${s.status === 'active' ? badge('active', 'ok') : badge('expired', 'bad')}</td>
                          <td>
                            <form method="post" action="${action(c, `/secrets/${encodeURIComponent(s.secret_id)}/delete`)}" data-confirm="Delete the secret ${s.prefix}…? It stops working now.">
                              ${csrfField(viewer)}<button type="submit" class="danger small" aria-label="Delete secret ${s.prefix}">Delete</button>
                            </form>
                          </td>
                        </tr>`,
                    )
                  : html`<tr>
                      <td colspan="6">No secrets.</td>
                    </tr>`
              }
            </tbody>
          </table>
        </div>
        <h3>Rotate the secret</h3>
        <form method="post" action="${action(c, '/secrets')}" class="rotate">
          ${csrfField(viewer)}
          ${select({ name: 'previous_secret_ttl', label: 'Grace period for the current secrets', options: GRACE_PRESETS, value: '3600', hint: 'How long the secrets in use now keep working' })}
          ${select({ name: 'expires_in', label: 'The new secret expires after', options: EXPIRY_PRESETS, value: '90d' })}
          <button type="submit">Rotate secret</button>
        </form>
      </section>`
    : ''
}

<section aria-labelledby="h-actions"><h2 id="h-actions">Actions</h2>
${
  c.status === 'active'
    ? actionForm(viewer, action(c, '/status'), 'Disable client', 'Disabling revokes every token of this client and makes the token endpoint refuse it until enabled.', {
        danger: true,
        extra: html`<input type="hidden" name="status" value="disabled" />`,
      })
    : actionForm(viewer, action(c, '/status'), 'Enable client', 'The client can get tokens again (tokens revoked while disabled stay revoked).', {
        extra: html`<input type="hidden" name="status" value="active" />`,
      })
}
${actionForm(viewer, action(c, '/revoke-tokens'), 'Revoke all tokens', 'Every token this client holds now stops working, on every node.', { danger: true })}
${actionForm(viewer, action(c, '/registration-token'), 'New registration access token', 'Issues a new RFC 7592 registration access token (shown once); the current one stops working.', { extra: html`<input type="hidden" name="op" value="rotate" />` })}
${actionForm(viewer, action(c, '/registration-token'), 'Revoke registration access token', 'RFC 7592 self-service then needs an administrator.', { danger: true, extra: html`<input type="hidden" name="op" value="revoke" />` })}
</section>

<section aria-labelledby="h-delete" class="danger-zone"><h2 id="h-delete">Delete this client</h2>
<form method="post" action="${action(c, '/delete')}">${csrfField(viewer)}
${field({ name: 'confirm_name', label: `Type ${name} to confirm`, hint: 'Deleting revokes every token of this client and removes it; this cannot be undone.', error: errors.confirm_name, autocomplete: 'off' })}
<button type="submit" class="danger">Delete client</button>
</form>
</section>

<section aria-labelledby="h-usage"><h2 id="h-usage">Token usage</h2>
${usageSection(opts.usage)}
</section>`,
    opts.notice,
  );
}

/** The page a new secret or token is shown on, once: rendered in the POST response, never via a redirect. */
export function showOncePage(viewer: Viewer, opts: { title: string; clientId: string; label: string; value: string; intro: Html | string; extra?: Html }): Html {
  const back = `/console/clients/${encodeURIComponent(opts.clientId)}`;
  return page(
    viewer,
    'clients',
    opts.title,
    html`<dialog open class="show-once" aria-labelledby="once-title" aria-describedby="once-intro">
      <h2 id="once-title">${opts.label}</h2>
      <p id="once-intro">${opts.intro}</p>
      ${opts.extra ?? ''}
      <div class="field">
        <label for="once-value">${opts.label}</label>
        <div class="copy-row">
          <input id="once-value" class="secret" type="text" readonly value="${opts.value}" autocomplete="off" spellcheck="false" /><button type="button" class="copy" data-copy="once-value">
            Copy
          </button>
        </div>
        <p class="hint" id="copy-status" role="status" aria-live="polite"></p>
      </div>
      <form method="get" action="${back}" class="stored">
        <div class="check"><input type="checkbox" id="stored" name="stored" value="1" required /><label for="stored">I have stored it</label></div>
        <button type="submit">Done</button>
      </form>
    </dialog>`,
  );
}
