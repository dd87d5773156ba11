import { html, type Html } from '../html.js';
import { badge, page, type Viewer } from '../layout.js';
import { hourlyChart } from '../chart.js';
import type { HourlySeries } from '../chart.js';
import { auditTable } from './audit.js';
import type { AuditData } from './types.js';

export interface OverviewData {
  clients: { active: number; disabled: number; expiringSoon: number; more: boolean };
  keys: { published: number; active: number; retired: number };
  tokens: HourlySeries;
  audit: AuditData[];
  health: { name: string; state: string }[];
}

const count = (n: number, more: boolean): string => (more ? `${n}+` : String(n));

export function overviewPage(viewer: Viewer, d: OverviewData, notice: string | null): Html {
  return page(
    viewer,
    'overview',
    'Overview',
    html`<div class="cards">
        <section class="card" aria-labelledby="h-clients">
          <h2 id="h-clients">Clients</h2>
          <dl class="stats">
            <dt>Active</dt>
            <dd><a href="/console/clients?status=active">${count(d.clients.active, d.clients.more)}</a></dd>
            <dt>Disabled</dt>
            <dd><a href="/console/clients?status=disabled">${count(d.clients.disabled, d.clients.more)}</a></dd>
            <dt>Secret expiring within 7 days</dt>
            <dd>${count(d.clients.expiringSoon, d.clients.more)}</dd>
          </dl>
        </section>
        ${
          viewer.org === null
            ? html`<section class="card" aria-labelledby="h-keys">
                <h2 id="h-keys">Signing keys</h2>
                <dl class="stats">
                  <dt>Active</dt>
                  <dd><a href="/console/keys">${d.keys.active}</a></dd>
                  <dt>Published</dt>
                  <dd>${d.keys.published}</dd>
                  <dt>Retired</dt>
                  <dd>${d.keys.retired}</dd>
                </dl>
              </section>`
            : ''
        }
        <section class="card" aria-labelledby="h-health">
          <h2 id="h-health">Backends</h2>
          <ul class="health">
            ${d.health.map((h) => html`<li>${h.name} ${h.state === 'ok' ? badge('ok', 'ok') : badge(h.state, 'bad')}</li>`)}
          </ul>
        </section>
      </div>
      <section aria-labelledby="h-tokens">
        <h2 id="h-tokens">Tokens issued per hour</h2>
        ${hourlyChart(d.tokens, 'Access tokens issued per hour, every node')}
        <p class="hint">From this node's metrics counter since it started; per-client usage will replace it once recorded.</p>
      </section>
      <section aria-labelledby="h-audit">
        <h2 id="h-audit">Latest audit events</h2>
        ${auditTable(d.audit, 'The 10 latest audit events')}
        <p><a href="/console/audit">All audit events</a></p>
      </section>`,
    notice,
  );
}
