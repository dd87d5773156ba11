// tokenmill console: the few behaviours plain HTML lacks. Every page works without this file.
'use strict';

document.addEventListener('submit', (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  const question = form.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  // Progress: the button says the request is under way and cannot be pressed twice.
  const button = form.querySelector('button[type="submit"]');
  if (button instanceof HTMLButtonElement && form.method.toLowerCase() === 'post') {
    form.setAttribute('aria-busy', 'true');
    button.dataset.label = button.textContent ?? '';
    button.textContent = 'Working…';
    window.setTimeout(() => {
      button.disabled = true;
    }, 0);
  }
});

document.addEventListener('click', (event) => {
  const target = event.target;
  if (!(target instanceof HTMLElement)) return;
  const button = target.closest('button[data-copy]');
  if (!(button instanceof HTMLButtonElement)) return;
  const input = document.getElementById(button.dataset.copy ?? '');
  const status = document.getElementById('copy-status');
  if (!(input instanceof HTMLInputElement)) return;
  const done = (text) => {
    if (status) status.textContent = text;
  };
  input.select();
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(input.value).then(
      () => done('Copied to the clipboard.'),
      () => done('Copy failed: the text is selected, press Ctrl+C.'),
    );
  } else {
    done(document.execCommand('copy') ? 'Copied to the clipboard.' : 'The text is selected: press Ctrl+C.');
  }
});

// New client: show the fields of the chosen method, and check a pasted JWK or JWKS as it is typed.
function showMethodFields() {
  const form = document.querySelector('form.new-client');
  if (!form) return;
  const checked = form.querySelector('input[name="token_endpoint_auth_method"]:checked');
  const jwt = checked instanceof HTMLInputElement && checked.value === 'private_key_jwt';
  for (const el of form.querySelectorAll('.method-jwt')) el.hidden = !jwt;
  for (const el of form.querySelectorAll('.method-secret')) el.hidden = jwt;
}
document.addEventListener('change', showMethodFields);
document.addEventListener('DOMContentLoaded', showMethodFields);

document.addEventListener('input', (event) => {
  const area = event.target;
  if (!(area instanceof HTMLTextAreaElement) || area.name !== 'jwks') return;
  let message = '';
  const text = area.value.trim();
  if (text) {
    try {
      const value = JSON.parse(text);
      if (!value || typeof value !== 'object' || Array.isArray(value)) message = 'Must be a JWK or a JWK Set (a JSON object).';
      else if (Array.isArray(value.keys)) message = value.keys.some((k) => 'd' in k) ? 'A private key: paste the public key only.' : '';
      else if (typeof value.kty !== 'string') message = 'Must be a JWK (with kty) or a JWK Set (with keys).';
      else if ('d' in value) message = 'A private key: paste the public key only.';
    } catch {
      message = 'Not valid JSON yet.';
    }
  }
  let note = document.getElementById('f-jwks-live');
  if (!note) {
    note = document.createElement('p');
    note.id = 'f-jwks-live';
    note.className = 'hint';
    note.setAttribute('role', 'status');
    area.insertAdjacentElement('afterend', note);
  }
  note.textContent = message || (text ? 'Looks like a valid key.' : '');
  area.setAttribute('aria-invalid', message ? 'true' : 'false');
});
