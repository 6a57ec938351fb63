// Taking payment: cash (tendered, quick-cash notes, change due), card on an external terminal
// (amount, optional brand and last 4 digits — never a card number), split between them.
// The preview total is computed here; the sale request carries it as total_minor and the
// server, which prices the sale itself, has the last word.
import { S, emit } from './state.js';
import { post, ApiError } from './api.js';
import { h, fill, modal, money, moneyInput, parseMoney, errorLine, fractionDigits } from './ui.js';
import { cart, preview, linesForApi, clearCart, setApprover, discountJson } from './cart.js';
import { askApproval } from './approve.js';
import { queueSale } from './offline.js';
import { syncCatalog, itemById } from './catalog.js';
import { showDone } from './receipt.js';

const BRANDS = ['', 'visa', 'mastercard', 'amex', 'discover', 'maestro', 'other'];

/** Next amounts a customer is likely to hand over: exact, then the next 5/10/20/50 notes. */
export function quickCash(due) {
  const unit = 10 ** fractionDigits();
  const out = [due];
  for (const note of [5, 10, 20, 50]) {
    const step = note * unit;
    const v = Math.ceil(due / step) * step;
    if (v > due && !out.includes(v)) out.push(v);
  }
  return out;
}

/** Open the payment dialog for the current cart. */
export function openPay() {
  if (!cart.lines.length) return;
  const m = modal('Payment', { test: 'pay-dialog', wide: true });
  const payments = [];
  const total = preview().total_minor;
  const err = errorLine('pay-error');
  const paid = () => payments.reduce((a, p) => a + p.amount_minor, 0);
  const left = () => total - paid();

  const summary = h('div', { class: 'pay-summary' });
  const list = h('ul', { class: 'payments', test: 'payments' });
  const tendered = h('input', { id: 'tendered', test: 'tendered', inputmode: 'decimal', autocomplete: 'off', 'aria-label': 'Cash tendered' });
  const change = h('output', { id: 'change-preview', test: 'change-preview', class: 'change' });
  const quick = h('div', { class: 'quick', test: 'quick-cash' });
  const cashBtn = h('button', { type: 'submit', id: 'pay-button', class: 'btn pay', test: 'pay-button' }, 'Take cash');
  const cashForm = h('form', { class: 'stack pay-cash' }, h('label', { for: 'tendered' }, 'Cash tendered'), tendered, quick,
    h('p', {}, 'Change due: ', change), cashBtn);

  const cardAmount = h('input', { test: 'card-amount', inputmode: 'decimal', autocomplete: 'off', 'aria-label': 'Card amount' });
  const brand = h('select', { test: 'card-brand', 'aria-label': 'Card brand' },
    BRANDS.map((b) => h('option', { value: b }, b ? b[0].toUpperCase() + b.slice(1) : 'Brand (optional)')));
  const last4 = h('input', { test: 'card-last4', inputmode: 'numeric', maxlength: '4', pattern: '[0-9]{4}', autocomplete: 'off',
    placeholder: 'Last 4 (optional)', 'aria-label': 'Last 4 digits' });
  last4.addEventListener('input', () => { last4.value = last4.value.replace(/\D/g, '').slice(0, 4); });
  const cardForm = S.online
    ? h('form', { class: 'stack pay-card' }, h('label', {}, 'Card on the terminal: amount'), cardAmount,
      h('div', { class: 'row' }, brand, last4),
      h('p', { class: 'muted' }, 'Run the card on the terminal first. Never type the card number here.'),
      h('button', { type: 'submit', class: 'btn', test: 'card-add' }, 'Card approved'))
    : h('div', { class: 'pay-card' }, h('p', { class: 'warn', test: 'card-offline' }, 'Card payments are unavailable offline.'));

  const refresh = () => {
    const due = left();
    fill(summary, h('div', {}, 'Total ', h('strong', { test: 'pay-total', dataset: { minor: String(total) } }, money(total))),
      h('div', {}, 'Left to pay ', h('strong', { test: 'pay-left', dataset: { minor: String(due) } }, money(due))));
    fill(list, ...payments.map((p, i) => h('li', { test: 'payment' },
      `${p.method === 'cash' ? 'Cash' : 'Card'} ${money(p.amount_minor)}`,
      h('button', { type: 'button', class: 'btn small', onclick: () => { payments.splice(i, 1); refresh(); } }, 'Remove'))));
    fill(quick, ...quickCash(due).map((v, i) => h('button', {
      type: 'button', class: 'btn', test: 'quick-cash-amount', dataset: { minor: String(v) },
      onclick: () => { tendered.value = moneyInput(v); showChange(); },
    }, i === 0 ? `Exact ${money(v)}` : money(v))));
    cardAmount.value = moneyInput(due);
    showChange();
  };
  const showChange = () => {
    const t = parseMoney(tendered.value);
    const c = t === null ? 0 : Math.max(0, t - left());
    change.textContent = money(c);
    change.dataset.minor = String(c);
  };
  tendered.addEventListener('input', showChange);

  const finishIfPaid = () => {
    refresh();
    if (left() === 0) submit(m, payments, total, err);
  };
  cashForm.addEventListener('submit', (e) => {
    e.preventDefault();
    err.set('');
    const due = left();
    const t = tendered.value.trim() === '' ? due : parseMoney(tendered.value);
    if (t === null || t <= 0) return err.set('Enter the cash handed over, like 20 or 12.50.');
    payments.push({ method: 'cash', amount_minor: Math.min(t, due), tendered_minor: t });
    tendered.value = '';
    finishIfPaid();
  });
  if (cardForm.tagName === 'FORM') {
    cardForm.addEventListener('submit', (e) => {
      e.preventDefault();
      err.set('');
      const a = parseMoney(cardAmount.value);
      if (a === null || a <= 0 || a > left()) return err.set(`Enter a card amount up to ${money(left())}.`);
      if (last4.value && !/^\d{4}$/.test(last4.value)) return err.set('Last 4: exactly 4 digits, or leave it empty.');
      payments.push({ method: 'card', amount_minor: a, brand: brand.value, last4: last4.value });
      last4.value = '';
      finishIfPaid();
    });
  }
  m.body.append(summary, list, h('div', { class: 'pay-cols' }, cashForm, cardForm), err);
  refresh();
  tendered.focus();
}

function saleBody(payments, total) {
  const b = {
    key: cart.key,
    lines: linesForApi(),
    order_discount: discountJson(cart.order_discount),
    payments: payments.map((p) => ({ ...p })),
    total_minor: total,
  };
  if (cart.customer) b.customer_id = cart.customer.id;
  if (cart.receipt_email) {
    b.receipt_email = cart.receipt_email;
    b.email_receipt = true;
  }
  return b;
}

async function submit(m, payments, total, err) {
  if (!cart.key) cart.key = crypto.randomUUID();
  const body = saleBody(payments, total);
  if (cart.approver) body.approver = cart.approver;
  if (S.online && S.token) {
    try {
      const r = await post('/pos/api/sales', body);
      const change = r.change_minor ?? 0;
      clearCart();
      m.close();
      showDone({ number: r.number, total_minor: r.total_minor, change_minor: change, receipt_url: r.receipt_url,
        stock_alerts: r.stock_alerts || [], offline: false });
      return;
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      if (e.code === 'approval_required') {
        const a = await askApproval(e.message || 'This sale needs a manager’s approval.');
        if (a) {
          setApprover(a);
          return submit(m, payments, total, err);
        }
        payments.length = 0;
        return err.set('Not approved. Change the discount or ask a manager.');
      }
      if (!e.offline) {
        payments.length = 0;
        err.set(e.message);
        if (e.status === 409 || e.code === 'total_mismatch' || /price|total/.test(e.field || '')) refreshPrices();
        return;
      }
      // No answer: the sale may or may not have reached the server. Its key makes a retry,
      // or the offline queue below, safe: the server keeps one sale per key.
    }
  }
  return queueOffline(m, payments, total, err, body);
}

async function queueOffline(m, payments, total, err, body) {
  const fail = (text) => {
    payments.length = 0;
    err.set(text);
  };
  if (!S.cashier) return fail('Unlock the till first.');
  if (payments.some((p) => p.method !== 'cash')) return fail('The shop server cannot be reached: only cash sales can be taken offline.');
  if (total > S.settings.offline_sale_limit_minor) return fail(`Offline sales are limited to ${money(S.settings.offline_sale_limit_minor)}. Wait for the connection or split the sale.`);
  if (cart.customer || cart.receipt_email) return fail('Customers are unavailable offline. Remove the customer to sell as a guest.');
  if (cart.approver) return fail('This discount was approved by a manager and needs the shop server. Remove it or wait for the connection.');
  const q = { ...body, cashier_id: S.cashier.id, sold_at: Date.now(), shift_id: S.shift ? S.shift.id : null, grant: S.grant };
  delete q.approver;
  try {
    await queueSale(q);
  } catch (_) {
    return fail('This device cannot store sales offline (storage unavailable). Wait for the connection.');
  }
  const change = payments.reduce((a, p) => a + (p.tendered_minor || 0) - p.amount_minor, 0);
  clearCart();
  m.close();
  showDone({ number: null, total_minor: total, change_minor: change, offline: true, stock_alerts: [] });
}

async function refreshPrices() {
  if (!(await syncCatalog().catch(() => false))) return;
  for (const l of cart.lines) {
    const it = itemById(l.variant_id);
    if (it) {
      l.unit_price_minor = it.price_minor;
      l.tax_rate_bp = it.tax_rate_bp;
    }
  }
  cart.key = null;
  emit('cart', cart); // the cart shows the shop's current prices; the cashier pays again
}
