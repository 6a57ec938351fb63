// The cart panel: lines with quantity +/-, discounts, the customer, totals, park/resume, Pay.
import { S, on } from './state.js';
import { h, fill, money, modal, when, toast } from './ui.js';
import { cart, preview, setQty, clearCart, park, resume, listParked, removeParked } from './cart.js';
import { editDiscount } from './discount.js';
import { chooseCustomer } from './customer.js';
import { openPay } from './pay.js';

/** Build the cart panel; it re-renders on every cart change and stops once it left the DOM. */
export function cartPanel() {
  const root = h('aside', { class: 'cart', test: 'cart', 'aria-label': 'Sale' });
  let mounted = false;
  const offs = [];
  const render = () => {
    if (mounted && !root.isConnected) {
      // Removed by a lock or a screen change: stop listening.
      for (const off of offs) off();
      return;
    }
    fill(root, ...content());
  };
  offs.push(on('cart', render), on('online', render));
  render();
  queueMicrotask(() => {
    mounted = true;
  });
  return root;
}

function content() {
  const p = preview();
  const head = h('div', { class: 'cart-head' },
    cart.customer
      ? h('button', { type: 'button', class: 'chip', test: 'customer-chip', onclick: chooseCustomer },
        `Customer: ${cart.customer.name || 'attached'}`)
      : h('button', { type: 'button', class: 'btn', test: 'customer-button', onclick: chooseCustomer,
        disabled: !S.online, title: S.online ? '' : 'Unavailable offline' }, S.online ? 'Add customer' : 'Customer (offline)'),
    h('button', { type: 'button', class: 'btn', test: 'parked-button', onclick: showParked }, 'Parked'));
  const lines = h('ul', { class: 'lines', test: 'cart-lines' });
  cart.lines.forEach((l, i) => {
    const pl = p.lines[i];
    lines.append(h('li', { class: 'line', test: 'cart-line', dataset: { sku: l.sku, qty: String(l.quantity) } },
      h('div', { class: 'line-name' }, h('strong', {}, l.name), h('small', {}, `${l.sku} · ${money(l.unit_price_minor)}`),
        pl.line_discount_minor ? h('small', { class: 'disc' }, `− ${money(pl.line_discount_minor)}`) : null),
      h('div', { class: 'qty' },
        h('button', { type: 'button', class: 'key small', test: 'qty-minus', 'aria-label': 'One less', onclick: () => setQty(i, l.quantity - 1) }, '−'),
        h('span', { class: 'qty-n', test: 'qty' }, String(l.quantity)),
        h('button', { type: 'button', class: 'key small', test: 'qty-plus', 'aria-label': 'One more', onclick: () => setQty(i, l.quantity + 1) }, '+')),
      h('div', { class: 'line-total num' }, money(pl.total_minor)),
      h('div', { class: 'line-acts' },
        h('button', { type: 'button', class: 'btn small', test: 'line-discount', onclick: () => editDiscount(i) }, '%'),
        h('button', { type: 'button', class: 'btn small', test: 'line-remove', 'aria-label': 'Remove', onclick: () => setQty(i, 0) }, '×'))));
  });
  if (!cart.lines.length) lines.append(h('li', { class: 'empty' }, 'Scan or tap an item to start a sale.'));
  const totals = h('dl', { class: 'totals' },
    h('dt', {}, 'Subtotal'), h('dd', { class: 'num', test: 'cart-subtotal' }, money(p.subtotal_minor)),
    p.discount_minor ? [h('dt', {}, 'Discount'), h('dd', { class: 'num', test: 'cart-discount' }, `− ${money(p.discount_minor)}`)] : null,
    h('dt', {}, S.shop.prices_include_tax ? 'Tax included' : 'Tax'), h('dd', { class: 'num', test: 'cart-tax' }, money(p.tax_minor)),
    h('dt', { class: 'grand' }, 'Total'),
    h('dd', { class: 'grand num', id: 'cart-total', test: 'cart-total', dataset: { minor: String(p.total_minor) } }, money(p.total_minor)));
  const acts = h('div', { class: 'cart-actions' },
    h('button', { type: 'button', class: 'btn', test: 'order-discount', disabled: !cart.lines.length, onclick: () => editDiscount(null) }, 'Discount'),
    h('button', { type: 'button', class: 'btn', test: 'park', disabled: !cart.lines.length,
      onclick: async () => { if (await park()) toast('Sale parked.', 'ok'); } }, 'Park'),
    h('button', { type: 'button', class: 'btn', test: 'clear-cart', disabled: !cart.lines.length,
      onclick: () => { if (confirm('Clear this sale?')) clearCart(); } }, 'Clear'),
    h('button', { type: 'button', class: 'btn pay', id: 'pay-open', test: 'pay-open', disabled: !cart.lines.length, onclick: openPay },
      `Pay ${money(p.total_minor)}`));
  return [head, lines, totals, acts];
}

async function showParked() {
  const m = modal('Parked sales', { test: 'parked-dialog' });
  const list = await listParked().catch(() => []);
  if (!list.length) m.body.append(h('p', {}, 'No parked sales.'));
  for (const p of list) {
    m.body.append(h('div', { class: 'row parked', test: 'parked-sale', dataset: { id: p.id } },
      h('span', { class: 'grow' }, `${when(p.parked_at)} · ${p.parked_by} · ${p.cart.lines.length} line(s)`),
      h('button', { type: 'button', class: 'btn primary', test: 'resume', onclick: async () => { await resume(p.id); m.close(); } }, 'Resume'),
      h('button', { type: 'button', class: 'btn', onclick: async () => {
        if (confirm('Delete this parked sale?')) { await removeParked(p.id); m.close(); showParked(); }
      } }, 'Delete')));
  }
}
