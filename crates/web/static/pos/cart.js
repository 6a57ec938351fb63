// The current sale in memory: lines, discounts, customer. Parked carts go to IndexedDB without
// the customer's name or email (only their id), so no personal data is cached.
import { S, emit } from './state.js';
import { priceSale, discountBp, discountJson } from './pricing.js';
import { saveParked, listParked, removeParked } from './db.js';

const NONE = { kind: 'none', value: 0 };

function empty() {
  return {
    id: crypto.randomUUID(),
    lines: [],
    order_discount: { ...NONE },
    customer: null, // {id, name, email_hint}: memory only
    receipt_email: null,
    approver: null, // {user_id, pin}: memory only, for a discount above the cashier's limit
    key: null, // the sale's idempotency key, fixed at the first payment attempt
    owner: null, // cashier id who rang it up
    owner_name: '',
  };
}

export let cart = empty();

function changed() {
  // A manager approved the cart as it was: any change needs their PIN again (the server asks).
  cart.approver = null;
  emit('cart', cart);
}

/** Add one of `item` (a PosItem), or bump the quantity of its line. */
export function addItem(item, qty = 1) {
  const line = cart.lines.find((l) => l.variant_id === item.variant_id && l.discount.kind === 'none');
  if (line) line.quantity = Math.min(9999, line.quantity + qty);
  else {
    cart.lines.push({
      variant_id: item.variant_id,
      sku: item.sku,
      name: item.name,
      unit_price_minor: item.price_minor,
      tax_rate_bp: item.tax_rate_bp,
      quantity: qty,
      discount: { ...NONE },
    });
  }
  if (!cart.owner && S.cashier) {
    cart.owner = S.cashier.id;
    cart.owner_name = S.cashier.name;
  }
  cart.key = null;
  changed();
}

/** Set a line's quantity; 0 removes it. */
export function setQty(i, qty) {
  if (!cart.lines[i]) return;
  if (qty <= 0) cart.lines.splice(i, 1);
  else cart.lines[i].quantity = Math.min(9999, qty);
  cart.key = null;
  changed();
}

/** Set a line discount {kind, value} (value: basis points or minor units). */
export function setLineDiscount(i, d) {
  if (!cart.lines[i]) return;
  cart.lines[i].discount = d;
  cart.key = null;
  changed();
}

export function setOrderDiscount(d) {
  cart.order_discount = d;
  cart.key = null;
  changed();
}

export function setApprover(a) {
  cart.approver = a;
}

export function setCustomer(c, email) {
  cart.customer = c;
  cart.receipt_email = email || null;
  changed();
}

/** Start a new, empty sale. */
export function clearCart() {
  cart = empty();
  changed();
}

/** The priced preview (the server's totals are what count). */
export function preview() {
  return priceSale(cart.lines, cart.order_discount, !!S.shop.prices_include_tax);
}

/** The largest discount of the cart in basis points. */
export function cartDiscountBp() {
  return discountBp(cart.lines, cart.order_discount, preview());
}

/** The lines as the sale API wants them. */
export function linesForApi() {
  return cart.lines.map((l) => ({
    variant_id: l.variant_id,
    quantity: l.quantity,
    unit_price_minor: l.unit_price_minor,
    discount: discountJson(l.discount),
  }));
}

/** Park the current cart (if it has lines) and start a new one. */
export async function park(label) {
  if (!cart.lines.length) return false;
  const stored = {
    ...cart,
    customer: cart.customer ? { id: cart.customer.id } : null,
    receipt_email: null,
    approver: null,
    key: null,
  };
  await saveParked({
    id: cart.id,
    label: label || `${cart.lines.length} line(s)`,
    parked_at: Date.now(),
    parked_by: cart.owner_name || S.cashier?.name || '',
    cart: stored,
  });
  clearCart();
  emit('parked');
  return true;
}

/** Resume a parked cart; the current one is parked first. */
export async function resume(id) {
  const all = await listParked();
  const p = all.find((x) => x.id === id);
  if (!p) return;
  if (cart.lines.length) await park();
  await removeParked(id);
  cart = { ...empty(), ...p.cart, approver: null, key: null };
  emit('parked');
  changed();
}

export { listParked, removeParked, discountJson };
