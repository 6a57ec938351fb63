// A PIN pad: a password field that takes keyboard digits plus large on-screen keys for touch.
import { h } from './ui.js';

/**
 * Build a PIN pad. `onSubmit(pin)` may return a promise; the pad is disabled meanwhile.
 * Returns {el, input, reset(), focus()}. Test hooks: #pin-input, pin-key-0..9, pin-back, pin-ok.
 */
export function pinPad(onSubmit, { okLabel = 'Unlock', prefix = 'pin' } = {}) {
  const input = h('input', {
    id: `${prefix}-input`, test: `${prefix}-input`, type: 'password', inputmode: 'numeric',
    autocomplete: 'off', maxlength: '8', pattern: '[0-9]*', 'aria-label': 'PIN', class: 'pin-input',
  });
  const ok = h('button', { type: 'submit', class: 'key key-ok', test: `${prefix}-ok` }, okLabel);
  const press = (d) => {
    if (input.value.length < 8) input.value += d;
    input.focus();
  };
  const keys = [];
  for (const d of ['1', '2', '3', '4', '5', '6', '7', '8', '9']) {
    keys.push(h('button', { type: 'button', class: 'key', test: `${prefix}-key-${d}`, onclick: () => press(d) }, d));
  }
  keys.push(h('button', { type: 'button', class: 'key key-soft', test: `${prefix}-back`, 'aria-label': 'Delete',
    onclick: () => { input.value = input.value.slice(0, -1); input.focus(); } }, '⌫'));
  keys.push(h('button', { type: 'button', class: 'key', test: `${prefix}-key-0`, onclick: () => press('0') }, '0'));
  keys.push(ok);
  input.addEventListener('input', () => {
    input.value = input.value.replace(/\D/g, '').slice(0, 8);
  });
  const form = h('form', { class: 'pinpad', autocomplete: 'off' }, input, h('div', { class: 'keys' }, keys));
  let busy = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy || !input.value) return;
    busy = true;
    form.classList.add('busy');
    for (const k of form.querySelectorAll('button')) k.disabled = true;
    try {
      await onSubmit(input.value);
    } finally {
      busy = false;
      form.classList.remove('busy');
      for (const k of form.querySelectorAll('button')) k.disabled = false;
    }
  });
  return {
    el: form,
    input,
    reset() {
      input.value = '';
      input.focus();
    },
    focus() {
      input.focus();
    },
  };
}
