import { html, type Html, type HtmlValue } from './html.js';

/** What every signed-in page knows about its viewer. */
export interface Viewer {
  actor: string;
  csrfToken: string;
  /** an organization admin's organization (it sees and changes only that); null for a super admin */
  org: string | null;
}

const NAV: readonly { href: string; label: string; section: string; superAdmin?: boolean }[] = [
  { href: '/console/', label: 'Overview', section: 'overview' },
  { href: '/console/clients', label: 'Clients', section: 'clients' },
  { href: '/console/clients/new', label: 'New client', section: 'new-client' },
  { href: '/console/keys', label: 'Keys', section: 'keys', superAdmin: true },
  { href: '/console/audit', label: 'Audit', section: 'audit' },
];

/** Outcome notices after a POST-redirect-GET: a fixed code in the URL, never data. */
export const NOTICES: Record<string, string> = {
  updated: 'Changes saved.',
  disabled: 'Client disabled: its tokens are revoked and the token endpoint refuses it.',
  enabled: 'Client enabled.',
  'tokens-revoked': 'Every token the client held is revoked.',
  'secret-deleted': 'The secret was deleted; it no longer works.',
  'registration-token-revoked': 'The registration access token was revoked.',
  deleted: 'The client was deleted.',
  created: 'Client created.',
  'key-rotated': 'A new signing key was created.',
  'signed-out': 'You are signed out.',
  expired: 'Your session ended. Sign in again.',
};

/** The hidden CSRF field every state-changing form carries. */
export const csrfField = (viewer: Viewer): Html => html`<input type="hidden" name="_csrf" value="${viewer.csrfToken}" />`;

function document(title: string, body: HtmlValue): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>${title} · tokenmill console</title>
        <link rel="stylesheet" href="/console/assets/console.css" />
        <script src="/console/assets/console.js" defer></script>
      </head>
      <body>
        ${body}
      </body>
    </html> `;
}

export function page(viewer: Viewer, section: string, title: string, content: HtmlValue, notice?: string | null): Html {
  const message = notice ? NOTICES[notice] : undefined;
  return document(
    title,
    html`<a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <a class="brand" href="/console/">tokenmill</a>
        <nav aria-label="Console">
          <ul>
            ${NAV.filter((n) => !n.superAdmin || viewer.org === null).map((n) => html`<li><a href="${n.href}" ${n.section === section ? html` aria-current="page"` : ''}>${n.label}</a></li>`)}
          </ul>
        </nav>
        <form class="signout" method="post" action="/console/sign-out">
          ${csrfField(viewer)}<span class="actor" title="signed in as">${viewer.actor}${viewer.org === null ? '' : html` (organization ${viewer.org})`}</span>
          <button type="submit" class="link">Sign out</button>
        </form>
      </header>
      <main id="main">
        <h1>${title}</h1>
        ${message ? html`<p class="notice" role="status">${message}</p>` : ''} ${content}
      </main>`,
  );
}

/** A page without navigation (sign-in, errors before a session exists). */
export function barePage(title: string, content: HtmlValue): Html {
  return document(
    title,
    html`<main id="main" class="narrow">
      <h1>${title}</h1>
      ${content}
    </main>`,
  );
}

/** A form field with its label, hint and (after a refused submit) the error next to it. */
export function field(opts: {
  name: string;
  label: string;
  value?: string | null;
  type?: string;
  hint?: string;
  error?: string;
  required?: boolean;
  textarea?: boolean;
  rows?: number;
  autocomplete?: string;
}): Html {
  const id = `f-${opts.name}`;
  const describedBy = [opts.hint ? `${id}-hint` : '', opts.error ? `${id}-error` : ''].filter(Boolean).join(' ');
  const common = html` id="${id}"
  name="${opts.name}"${opts.required ? html` required` : ''}${describedBy ? html` aria-describedby="${describedBy}"` : ''}${opts.error ? html` aria-invalid="true"` : ''}${opts.autocomplete ? html` autocomplete="${opts.autocomplete}"` : ''}`;
  const control = opts.textarea
    ? html`<textarea${common} rows="${opts.rows ?? 4}" spellcheck="false">${opts.value ?? ''}</textarea>`
    : html`<input${common} type="${opts.type ?? 'text'}" value="${opts.value ?? ''}"></input${common}>`;
  return html`<div class="field${opts.error ? ' has-error' : ''}">
    <label for="${id}">${opts.label}</label>
    ${opts.hint ? html`<p class="hint" id="${id}-hint">${opts.hint}</p>` : ''} ${control} ${opts.error ? html`<p class="error" id="${id}-error">${opts.error}</p>` : ''}
  </div>`;
}

export function select(opts: { name: string; label: string; options: readonly (readonly [string, string])[]; value?: string; hint?: string; error?: string }): Html {
  const id = `f-${opts.name}`;
  return html`<div class="field${opts.error ? ' has-error' : ''}">
    <label for="${id}">${opts.label}</label>
    ${opts.hint ? html`<p class="hint" id="${id}-hint">${opts.hint}</p>` : ''}
    <select id="${id}" name="${opts.name}" ${opts.hint ? html` aria-describedby="${id}-hint"` : ''}>
      ${opts.options.map(([v, l]) => html`<option value="${v}" ${v === opts.value ? html` selected` : ''}>${l}</option>`)}
    </select>
    ${opts.error ? html`<p class="error" id="${id}-error">${opts.error}</p>` : ''}
  </div>`;
}

export const chips = (items: readonly string[], empty = 'none'): Html =>
  items.length
    ? html`<ul class="chips">
        ${items.map((i) => html`<li class="chip">${i}</li>`)}
      </ul>`
    : html`<span class="muted">${empty}</span>`;

export const badge = (text: string, kind: 'ok' | 'warn' | 'bad' | 'info' = 'info'): Html => html`<span class="badge badge-${kind}">${text}</span>`;

/** An ISO date-time shown in UTC, minute precision, in a <time> element. */
export const when = (iso: string | null, none = '—'): Html => (iso ? html`<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>` : html`<span class="muted">${none}</span>`);
