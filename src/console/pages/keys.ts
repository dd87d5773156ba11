import { html, type Html } from '../html.js';
import { badge, csrfField, page, select, when, type Viewer } from '../layout.js';
import type { KeyData } from './types.js';

const STATE_BADGE = { published: 'info', active: 'ok', retired: 'warn' } as const;

export function keysPage(viewer: Viewer, keys: KeyData[], algs: readonly string[], defaultAlg: string, notice: string | null, error: string | null): Html {
  const ordered = [...keys].sort((a, b) => Date.parse(b.activates_at) - Date.parse(a.activates_at));
  return page(
    viewer,
    'keys',
    'Signing keys',
    html`${error ? html`<p class="error" role="alert">${error}</p>` : ''}
      <ol class="timeline" aria-label="Signing keys, newest first">
        ${ordered.map(
          (k) =>
            html`<li class="key key-${k.state}">
              <div class="key-head"><code>${k.kid}</code> ${badge(k.state, STATE_BADGE[k.state])} <span class="muted">${k.alg} · ${k.origin}</span></div>
              <dl class="dates">
                <dt>Published</dt>
                <dd>${when(k.created_at)}</dd>
                <dt>Signs from</dt>
                <dd>${when(k.activates_at)}</dd>
                <dt>Retired</dt>
                <dd>${when(k.retires_at, 'not yet')}</dd>
                <dt>Removed from JWKS</dt>
                <dd>${when(k.remove_at, 'not scheduled')}</dd>
              </dl>
            </li>`,
        )}
      </ol>
      <section aria-labelledby="h-rotate">
        <h2 id="h-rotate">Rotate now</h2>
        <form method="post" action="/console/keys/rotate" data-confirm="Create a new signing key now? It is published at once and signs after the delay chosen; the current key then retires.">
          ${csrfField(viewer)} ${select({ name: 'alg', label: 'Algorithm', options: algs.map((a) => [a, a] as const), value: defaultAlg })}
          ${select({
            name: 'activate_in',
            label: 'Start signing after',
            value: '',
            hint: 'Verifiers cache the JWKS: a key signs only after they can have fetched it',
            options: [
              ['', 'the JWKS cache lifetime (default)'],
              ['0', 'now (verifiers with a cached JWKS refetch on the unknown kid)'],
              ['3600', '1 hour'],
              ['86400', '24 hours'],
            ],
          })}
          <button type="submit">Rotate signing key</button>
        </form>
      </section>`,
    notice,
  );
}
