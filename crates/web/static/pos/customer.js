// Attach a customer to the sale by exact email or phone (online only). Results live in the
// dialog and the cart in memory; nothing about customers is ever cached on the device.
import { S } from './state.js';
import { post } from './api.js';
import { h, modal, errorLine, fill } from './ui.js';
import { cart, setCustomer } from './cart.js';

/** Open the customer dialog. */
export function chooseCustomer() {
  const m = modal('Customer', { test: 'customer-dialog' });
  if (!S.online) {
    m.body.append(h('p', { class: 'warn', test: 'customer-offline' }, 'Customers are unavailable offline. Sell as a guest; the receipt can be printed.'));
    return;
  }
  const err = errorLine('customer-error');
  const q = h('input', { test: 'customer-query', type: 'search', autocomplete: 'off', placeholder: 'Email or phone', 'aria-label': 'Email or phone' });
  const results = h('div', { class: 'results', test: 'customer-results' });
  const email = h('input', { test: 'receipt-email', type: 'email', autocomplete: 'off', placeholder: 'Email for the receipt (optional)', 'aria-label': 'Receipt email', value: cart.receipt_email || '' });
  const form = h('form', { class: 'row' }, q, h('button', { type: 'submit', class: 'btn primary', test: 'customer-search' }, 'Find'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.set('');
    fill(results);
    if (!q.value.trim()) return;
    try {
      const r = await post('/pos/api/customers', { q: q.value.trim() });
      const list = r.customers || [];
      if (!list.length) results.append(h('p', {}, 'No customer with that exact email or phone.'));
      for (const c of list) {
        results.append(h('button', { type: 'button', class: 'person', test: 'customer-result', dataset: { id: c.id },
          onclick: () => { setCustomer(c, email.value.trim() || null); m.close(); } },
        h('span', { class: 'name' }, c.name || 'Customer'), h('small', {}, c.email_hint || '')));
      }
    } catch (ex) {
      err.set(ex.message);
    }
  });
  m.body.append(form, results, err, h('label', {}, 'Receipt by email', email),
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'btn', test: 'customer-guest',
        onclick: () => { setCustomer(null, email.value.trim() || null); m.close(); } }, 'Sell as guest'),
      cart.customer ? h('button', { type: 'button', class: 'btn', test: 'customer-remove',
        onclick: () => { setCustomer(null, null); m.close(); } }, 'Remove customer') : null));
  q.focus();
}
