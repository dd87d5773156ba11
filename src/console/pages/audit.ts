import { html, type Html } from '../html.js';
import { badge, page, select, when, type Viewer } from '../layout.js';
import type { AuditData } from './types.js';

export interface AuditQuery {
  actor: string;
  action: string;
  target: string;
  since: string;
  cursor: string;
}

export function auditTable(items: AuditData[], caption: string): Html {
  return html`<div class="table-wrap">
    <table>
      <caption>
        ${caption}
      </caption>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Actor</th>
          <th scope="col">Action</th>
          <th scope="col">Target</th>
          <th scope="col">Outcome</th>
        </tr>
      </thead>
      <tbody>
        ${
          items.length
            ? items.map(
                (e) =>
                  html`<tr>
                    <td>${when(e.at)}</td>
                    <td><code>${e.actor}</code>${e.source ? html` <span class="muted">from ${e.source}</span>` : ''}</td>
                    <td>${e.action}${e.count > 1 ? html` <span class="muted">×${e.count}</span>` : ''}</td>
                    <td>${e.target ? html`<code>${e.target}</code>` : '—'}</td>
                    <td>${e.outcome === 'success' ? badge('success', 'ok') : badge(`failure${e.status ? ` ${e.status}` : ''}`, 'bad')}</td>
                  </tr>`,
              )
            : html`<tr>
                <td colspan="5">No events.</td>
              </tr>`
        }
      </tbody>
    </table>
  </div>`;
}

export const SINCE_PRESETS = [
  ['', 'any time'],
  ['1h', 'last hour'],
  ['24h', 'last 24 hours'],
  ['7d', 'last 7 days'],
  ['30d', 'last 30 days'],
] as const;

export function auditPage(viewer: Viewer, query: AuditQuery, items: AuditData[], nextCursor: string | null, error: string | null): Html {
  const next = nextCursor ? `/console/audit?${new URLSearchParams({ ...query, cursor: nextCursor }).toString()}` : null;
  return page(
    viewer,
    'audit',
    'Audit log',
    html`<form class="filters" method="get" action="/console/audit" role="search">
        <div class="field"><label for="f-actor">Actor</label><input id="f-actor" name="actor" value="${query.actor}" placeholder="admin-token:… or client:…" /></div>
        <div class="field"><label for="f-action">Action</label><input id="f-action" name="action" value="${query.action}" placeholder="client.create" /></div>
        <div class="field"><label for="f-target">Target</label><input id="f-target" name="target" value="${query.target}" placeholder="client ID" /></div>
        ${select({ name: 'since', label: 'Time range', options: SINCE_PRESETS, value: query.since })}
        <div class="actions"><button type="submit">Filter</button> <a href="/console/audit">Clear</a></div>
      </form>
      ${error ? html`<p class="error" role="alert">${error}</p>` : ''} ${auditTable(items, 'Audit events, newest first (exact matches)')}
      <nav class="pager" aria-label="Pages">
        ${query.cursor ? html`<a href="/console/audit?${new URLSearchParams({ ...query, cursor: '' }).toString()}">Newest</a>` : ''} ${next ? html`<a href="${next}" rel="next">Older events</a>` : ''}
      </nav>`,
  );
}
