import { html, type Html } from '../html.js';
import { csrfField, field, page, select, type Viewer } from '../layout.js';
import { AUTH_METHOD_OPTIONS } from './clients.js';
import { EXPIRY_PRESETS } from './client.js';
import type { FieldErrors } from './types.js';

export interface NewClientValues {
  client_name: string;
  token_endpoint_auth_method: string;
  scope: string;
  audience: string;
  access_token_ttl: string;
  secret_expires_in: string;
  jwks: string;
  jwks_uri: string;
}

export const EMPTY_NEW_CLIENT: NewClientValues = {
  client_name: '',
  token_endpoint_auth_method: 'client_secret_basic',
  scope: '',
  audience: '',
  access_token_ttl: '',
  secret_expires_in: '90d',
  jwks: '',
  jwks_uri: '',
};

export function newClientPage(viewer: Viewer, values: NewClientValues, errors: FieldErrors = {}): Html {
  return page(
    viewer,
    'new-client',
    'New client',
    html`<form method="post" action="/console/clients" class="new-client" novalidate>
      ${csrfField(viewer)} ${errors._form ? html`<p class="error" role="alert">${errors._form}</p>` : ''}
      ${field({ name: 'client_name', label: 'Name', value: values.client_name, required: true, hint: 'Shown in lists and the audit log', error: errors.client_name })}
      <fieldset class="field${errors.token_endpoint_auth_method ? ' has-error' : ''}">
        <legend>Authentication method</legend>
        ${AUTH_METHOD_OPTIONS.map(([v, l]) => html`<div class="check"><input type="radio" id="m-${v}" name="token_endpoint_auth_method" value="${v}" ${values.token_endpoint_auth_method === v ? html` checked` : ''} /><label for="m-${v}">${l}</label></div>`)}
        ${errors.token_endpoint_auth_method ? html`<p class="error">${errors.token_endpoint_auth_method}</p>` : ''}
      </fieldset>
      ${field({ name: 'scope', label: 'Scopes', value: values.scope, hint: 'Space-separated, e.g. api:read api:write', error: errors.scope })}
      ${field({ name: 'audience', label: 'Audiences', value: values.audience, textarea: true, rows: 3, hint: 'One per line, e.g. https://api.example.com', error: errors.audience })}
      ${field({ name: 'access_token_ttl', label: 'Token lifetime (seconds)', value: values.access_token_ttl, type: 'number', hint: 'Empty: the server default', error: errors.access_token_ttl })}
      <div class="method-secret">
        ${select({ name: 'secret_expires_in', label: 'Secret expires after', options: EXPIRY_PRESETS, value: values.secret_expires_in, hint: 'For client_secret_basic and client_secret_post', error: errors.secret_expires_in })}
      </div>
      <div class="method-jwt">
        ${field({ name: 'jwks', label: 'Public key: JWK or JWKS (JSON)', value: values.jwks, textarea: true, rows: 8, hint: 'For private_key_jwt: paste a public JWK or a JWK Set, or give a JWKS URI below. Checked as you type.', error: errors.jwks })}
        ${field({ name: 'jwks_uri', label: 'JWKS URI', value: values.jwks_uri, type: 'url', hint: 'For private_key_jwt, instead of pasted keys', error: errors.jwks_uri })}
      </div>
      <button type="submit">Create client</button>
    </form>`,
  );
}
