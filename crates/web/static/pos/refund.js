// Refunds and returns: find the sale by its number or receipt barcode, pick lines and
// quantities, refund to cash or the original method, restock, with a manager's PIN.
import { S } from './state.js';
import { get, post } from './api.js';
import { h, fill, modal, money, errorLine, when } from './ui.js';
import { askApproval } from './approve.js';
import { setScanHandler } from './scanner.js';

/** The order number in a scanned or typed receipt code ("1042", "#1042", "R-1042"). */
export function saleNumber(code) {
  const m = String(code).match(/(\d{1,12})\s*$/);
  return m ? Number(m[1]) : null;
}

/** Open the refund dialog, optionally on sale `number`. */
export function openRefund(number = null) {
  const offScan = setScanHandler((code) => {
    const n = saleNumber(code);
    if (n) load(n);
  });
  const m = modal('Refund', { test: 'refund-dialog', wide: true, onClose: () => offScan() });
  if (!S.online) {
    m.body.append(h('p', { class: 'warn', test: 'refund-offline' }, 'Refunds need the shop server, and this till is offline.'));
    return;
  }
  const err = errorLine('refund-error');
  const num = h('input', { test: 'refund-number', inputmode: 'numeric', autocomplete: 'off', placeholder: 'Receipt number or scan', 'aria-label': 'Sale number' });
  const find = h('form', { class: 'row' }, num, h('button', { type: 'submit', class: 'btn primary', test: 'refund-find' }, 'Find sale'));
  const area = h('div', { class: 'refund-area' });
  find.addEventListener('submit', (e) => {
    e.preventDefault();
    const n = saleNumber(num.value);
    if (!n) return err.set('Enter the number printed on the receipt.');
    load(n);
  });
  m.body.append(find, err, area);
  num.focus();

  async function load(n) {
    err.set('');
    num.value = String(n);
    fill(area, h('p', {}, 'Looking for the sale…'));
    try {
      const v = await get(`/pos/api/sales/${n}`);
      showSale(n, v);
    } catch (e) {
      fill(area);
      err.set(e.status === 404 ? `No till sale has the number ${n}.` : e.message);
    }
  }

  function showSale(n, v) {
    const sale = v.sale || v;
    const lines = v.lines || sale.lines || [];
    const qty = new Map();
    let key = null; // one refund key per choice, so a retry after a lost answer cannot refund twice
    const rows = lines.map((l) => {
      const leftQty = l.refundable_quantity ?? l.quantity - (l.refunded_quantity || 0);
      const out = h('output', { test: 'refund-qty', dataset: { position: String(l.position) } }, '0');
      const set = (q) => {
        const x = Math.max(0, Math.min(leftQty, q));
        qty.set(l.position, x);
        out.textContent = String(x);
        key = null;
      };
      return h('tr', { test: 'refund-line', dataset: { position: String(l.position), sku: l.sku } },
        h('td', {}, l.name, h('br'), h('small', {}, l.sku)),
        h('td', { class: 'num' }, money(l.total_minor)),
        h('td', { class: 'num' }, `${l.quantity} sold${leftQty < l.quantity ? `, ${l.quantity - leftQty} back` : ''}`),
        h('td', { class: 'qty' },
          h('button', { type: 'button', class: 'key small', test: 'refund-minus', disabled: !leftQty, onclick: () => set((qty.get(l.position) || 0) - 1) }, '−'),
          out,
          h('button', { type: 'button', class: 'key small', test: 'refund-plus', disabled: !leftQty, onclick: () => set((qty.get(l.position) || 0) + 1) }, '+'),
          h('button', { type: 'button', class: 'btn small', test: 'refund-all', disabled: !leftQty, onclick: () => set(leftQty) }, 'All')));
    });
    const method = h('select', { test: 'refund-method', 'aria-label': 'Refund to' },
      h('option', { value: 'original' }, 'Original payment method'), h('option', { value: 'cash' }, 'Cash'));
    const restock = h('input', { type: 'checkbox', test: 'refund-restock', checked: true });
    const reason = h('input', { test: 'refund-reason', maxlength: '200', autocomplete: 'off', placeholder: 'Reason', value: 'Returned by customer', 'aria-label': 'Reason' });
    const form = h('form', { class: 'stack' },
      h('p', { class: 'muted' }, `Sale ${n} · ${when(v.sold_at || sale.sold_at)} · ${v.cashier || ''} · total ${money(sale.total_minor || 0)}`),
      h('table', { class: 'table' }, h('tbody', {}, rows)),
      h('div', { class: 'row' }, h('label', {}, 'Refund to ', method), h('label', { class: 'check' }, restock, ' Put the items back in stock')),
      reason,
      h('button', { type: 'submit', class: 'btn pay', test: 'refund-submit' }, 'Refund (manager PIN)'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      err.set('');
      const picked = [...qty].filter(([, q]) => q > 0).map(([position, quantity]) => ({ position, quantity }));
      if (!picked.length) return err.set('Choose what comes back: tap + on a line.');
      if (!reason.value.trim()) return err.set('Give a reason for the refund.');
      const approver = await askApproval('A refund needs a manager’s PIN.');
      if (!approver) return;
      key = key || crypto.randomUUID();
      try {
        const r = await post(`/pos/api/sales/${n}/refund`, {
          key, lines: picked, method: method.value, restock: restock.checked, reason: reason.value.trim(), approver,
        });
        fill(area, h('div', { class: 'done', test: 'refund-done', dataset: { minor: String(r.amount_minor) } },
          h('p', { class: 'big-figure' }, 'Refunded ', h('strong', {}, money(r.amount_minor))),
          h('ul', {}, (r.by_method || []).map((x) => (Array.isArray(x) ? x : [x.method, x.amount_minor])).map(([mth, amt]) => h('li', {}, `${mth === 'cash' ? 'Give back in cash' : 'Back to the card'}: ${money(amt)}`)))));
      } catch (ex) {
        err.set(ex.message);
      }
    });
    fill(area, form);
  }

  if (number) load(number);
}
