import { html, type Html } from '../html.js';
import { badge, page, select, type Viewer } from '../layout.js';
import { secretExpiringSoon, type ClientData } from './types.js';

export interface ClientListQuery {
  q: string;
  status: string;
  auth_method: string;
  cursor: string;
}

export const AUTH_METHOD_OPTIONS = [
  ['client_secret_basic', 'client_secret_basic (secret in the Authorization header)'],
  ['client_secret_post', 'client_secret_post (secret in the form body)'],
  ['private_key_jwt', 'private_key_jwt (signed assertion, no secret)'],
] as const;

/** Status and expiry badges of a client (list and client page). */
export function clientBadges(c: ClientData, now: number): Html {
  return html`${c.status === 'disabled' ? badge('disabled', 'bad') : badge('active', 'ok')}${secretExpiringSoon(c, now) ? html` ${badge('secret expires within 7 days', 'warn')}` : ''}`;
}

/**
 * The clients table. Columns are the API's client view; organization (`org_id`) and token-quota
 * columns join here as one `<th>` and one `<td>` each once the admin API's view carries them.
 */
export function clientsPage(viewer: Viewer, query: ClientListQuery, items: ClientData[], nextCursor: string | null, now: number, notice: string | null, error: string | null): Html {
  const next = nextCursor ? `/console/clients?${new URLSearchParams({ ...query, cursor: nextCursor }).toString()}` : null;
  return page(
    viewer,
    'clients',
    'Clients',
    html`<form class="filters" method="get" action="/console/clients" role="search">
        <div class="field">
          <label for="f-q">Name or client ID</label><input id="f-q" name="q" type="search" value="${query.q}" aria-describedby="f-q-hint" />
          <p class="hint" id="f-q-hint">Names match from their start; an exact client ID finds that client.</p>
        </div>
        ${select({
          name: 'status',
          label: 'Status',
          value: query.status,
          options: [
            ['', 'any'],
            ['active', 'active'],
            ['disabled', 'disabled'],
          ],
        })}
        ${select({ name: 'auth_method', label: 'Authentication', value: query.auth_method, options: [['', 'any'], ...AUTH_METHOD_OPTIONS.map(([v]) => [v, v] as const)] })}
        <div class="actions"><button type="submit">Search</button> <a href="/console/clients">Clear</a></div>
      </form>
      ${error ? html`<p class="error" role="alert">${error}</p>` : ''}
      <p><a class="button" href="/console/clients/new">New client</a></p>
      <div class="table-wrap">
        <table>
          <caption>
            ${items.length} client${items.length === 1 ? '' : 's'} on this page
          </caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Client ID</th>
              <th scope="col">Authentication</th>
              <th scope="col">Status</th>
              <th scope="col">Last used</th>
            </tr>
          </thead>
          <tbody>
            ${
              items.length
                ? items.map(
                    (c) =>
                      html`<tr>
                        <td><a href="/console/clients/${encodeURIComponent(c.client_id)}">${c.client_name ?? '(no name)'}</a></td>
                        <td><code>${c.client_id}</code></td>
                        <td>${c.token_endpoint_auth_method}</td>
                        <td>${clientBadges(c, now)}</td>
                        <td>${c.last_used_at ? c.last_used_at.slice(0, 16).replace('T', ' ') : '—'}</td>
                      </tr>`,
                  )
                : html`<tr>
                    <td colspan="5">No client matches.</td>
                  </tr>`
            }
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Pages">
        ${query.cursor ? html`<a href="/console/clients?${new URLSearchParams({ ...query, cursor: '' }).toString()}">First page</a>` : ''}
        ${next ? html`<a href="${next}" rel="next">Next page</a>` : ''}
      </nav>`,
    notice,
  );
}
