import { html, type Html } from '../html.js';
import { barePage, field, NOTICES } from '../layout.js';

export function signInPage(opts: { error?: string | null; clientId?: string; notice?: string | null } = {}): Html {
  const notice = opts.notice ? NOTICES[opts.notice] : undefined;
  return barePage(
    'Sign in to the tokenmill console',
    html`${notice ? html`<p class="notice" role="status">${notice}</p>` : ''} ${opts.error ? html`<p class="error" role="alert" id="signin-error">${opts.error}</p>` : ''}
      <section aria-labelledby="h-token" class="card">
        <h2 id="h-token">With the admin token</h2>
        <form method="post" action="/console/sign-in" autocomplete="off">
          <input type="hidden" name="method" value="admin_token" />
          ${field({ name: 'admin_token', label: 'Admin token', type: 'password', required: true, autocomplete: 'off', hint: 'ADMIN_TOKEN, or the token printed at first start. It is checked once and not kept: the browser gets only a session cookie.' })}
          <button type="submit">Sign in</button>
        </form>
      </section>
      <section aria-labelledby="h-client" class="card">
        <h2 id="h-client">With an administrator client</h2>
        <form method="post" action="/console/sign-in" autocomplete="off">
          <input type="hidden" name="method" value="client" />
          ${field({ name: 'client_id', label: 'Client ID', value: opts.clientId ?? '', required: true, autocomplete: 'username' })}
          ${field({ name: 'client_secret', label: 'Client secret', type: 'password', required: true, autocomplete: 'off', hint: 'A client whose registered scopes include tokenmill:admin' })}
          <button type="submit">Sign in</button>
        </form>
      </section>`,
  );
}

export function errorPage(status: number, message: string): Html {
  return barePage(
    status === 404 ? 'Not found' : 'Something went wrong',
    html`<p>${message}</p>
      <p><a href="/console/">Back to the console</a></p>`,
  );
}
