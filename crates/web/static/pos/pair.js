// Pairing: the one-time code a manager got when registering this device in the admin.
import { S } from './state.js';
import { post } from './api.js';
import { h, fill, errorLine } from './ui.js';

/** Codes are 8 characters; people type them with spaces, dashes or in lower case. */
export function normalizeCode(s) {
  return String(s || '').toUpperCase().replace(/[\s-]/g, '');
}

/** Render the pairing screen; `onPaired()` runs after the server accepted the code. */
export function renderPair(root, onPaired) {
  const err = errorLine('pair-error');
  const code = h('input', {
    id: 'pair-code', test: 'pair-code', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false',
    maxlength: '12', placeholder: 'ABCD-EFGH', 'aria-label': 'Pairing code', class: 'code-input',
  });
  const submit = h('button', { type: 'submit', id: 'pair-submit', class: 'btn pay', test: 'pair-submit' }, 'Pair this device');
  const form = h('form', { class: 'stack' }, code, submit, err);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.set('');
    const c = normalizeCode(code.value);
    if (c.length !== 8) return err.set('The pairing code has 8 letters and digits, like ABCD-EFGH.');
    submit.disabled = true;
    try {
      const r = await post('/pos/api/pair', { code: c, app_version: S.version }, { cashier: false });
      S.device = r.device;
      await onPaired();
    } catch (ex) {
      err.set(ex.offline ? 'The shop server cannot be reached. Check the network and try again.' : ex.message);
    } finally {
      submit.disabled = false;
    }
  });
  fill(root, h('div', { class: 'center-screen' }, h('section', { class: 'card pair', id: 'pair-screen', test: 'pair-screen' },
    h('h1', {}, 'Pair this till'),
    h('p', {}, 'A manager registers this device under Admin → Tills and gets a one-time code. Enter it here.'),
    form)));
  code.focus();
}
