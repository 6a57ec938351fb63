// A preview of the server's till pricing (core::pos::price_sale), in BigInt so it rounds
// exactly like the Rust code: line discount (percent half up, amount capped at the line), then
// the order discount (same rule, on the lines after their own discounts) spread over the lines
// by largest remainder, then tax per line (half up; tax-included or added per the shop). The
// server re-prices every sale; a disagreement is refused, so keep the two in step.

const FULL = 10000n;

function divHalfUp(num, den) {
  return num >= 0n ? (2n * num + den) / (2n * den) : -((-2n * num + den) / (2n * den));
}

/** Amount a discount {kind: none|percent|amount, value} takes off `base` (BigInt), 0..=base. */
function off(d, base) {
  if (!d || d.kind === 'none' || base <= 0n) return 0n;
  const v = BigInt(Math.trunc(Number(d.value) || 0));
  let x = d.kind === 'percent' ? divHalfUp(base * v, FULL) : v;
  if (x < 0n) x = 0n;
  return x > base ? base : x;
}

/** Share `total` by `weights`, largest remainder, ties to the earlier line (pricing.rs allocate). */
function allocate(total, weights) {
  const sum = weights.reduce((a, b) => a + b, 0n);
  if (sum <= 0n || total <= 0n) return weights.map(() => 0n);
  const shares = weights.map((w) => (total * w) / sum);
  const order = weights.map((w, i) => [(total * w) % sum, i]);
  order.sort((a, b) => (a[0] === b[0] ? a[1] - b[1] : a[0] > b[0] ? -1 : 1));
  let left = total - shares.reduce((a, b) => a + b, 0n);
  for (const [, i] of order) {
    if (left <= 0n) break;
    shares[i] += 1n;
    left -= 1n;
  }
  return shares;
}

function taxOn(amount, rateBp, inclusive) {
  const r = BigInt(rateBp);
  if (inclusive) return [divHalfUp(amount * r, FULL + r), amount];
  const tax = divHalfUp(amount * r, FULL);
  return [tax, amount + tax];
}

/**
 * Price cart lines [{unit_price_minor, quantity, tax_rate_bp, discount}] with an order discount.
 * Returns numbers: {lines:[{gross_minor, discount_minor, line_discount_minor, tax_minor, total_minor}],
 * subtotal_minor, discount_minor, tax_minor, total_minor, order_discount_minor}.
 */
export function priceSale(lines, orderDiscount, inclusive) {
  const grosses = lines.map((l) => BigInt(l.unit_price_minor) * BigInt(l.quantity));
  const lineOff = lines.map((l, i) => off(l.discount, grosses[i]));
  const nets = grosses.map((g, i) => g - lineOff[i]);
  const orderOff = off(orderDiscount, nets.reduce((a, b) => a + b, 0n));
  const shares = allocate(orderOff, nets);
  let tax = 0n;
  let total = 0n;
  let disc = 0n;
  const out = lines.map((l, i) => {
    const [t, tot] = taxOn(nets[i] - shares[i], l.tax_rate_bp, inclusive);
    tax += t;
    total += tot;
    disc += lineOff[i] + shares[i];
    return {
      gross_minor: Number(grosses[i]),
      line_discount_minor: Number(lineOff[i]),
      discount_minor: Number(lineOff[i] + shares[i]),
      tax_minor: Number(t),
      total_minor: Number(tot),
    };
  });
  return {
    lines: out,
    subtotal_minor: Number(grosses.reduce((a, b) => a + b, 0n)),
    order_discount_minor: Number(orderOff),
    discount_minor: Number(disc),
    tax_minor: Number(tax),
    total_minor: Number(total),
  };
}

/**
 * The largest discount in basis points, as core::pos::discount_bp works it out: for each line,
 * its own discount and the order discount combined, 1 - (1 - a)(1 - b), from the discounts as
 * asked for, rounded up. `lines` are the cart lines, `p` their priceSale().
 */
export function discountBp(lines, orderDiscount, p) {
  const big = (x) => BigInt(Math.trunc(Number(x) || 0));
  const clamp = (x, lo, hi) => (x < lo ? lo : x > hi ? hi : x);
  const nets = p.lines.reduce((a, l) => a + BigInt(l.gross_minor - l.line_discount_minor), 0n);
  let n2 = 0n;
  let d2 = 1n;
  if (orderDiscount && orderDiscount.kind === 'percent') [n2, d2] = [clamp(big(orderDiscount.value), 0n, FULL), FULL];
  else if (orderDiscount && orderDiscount.kind === 'amount' && nets > 0n) [n2, d2] = [clamp(big(orderDiscount.value), 0n, nets), nets];
  let max = 0n;
  lines.forEach((l, i) => {
    const gross = BigInt(p.lines[i].gross_minor);
    if (gross <= 0n) return;
    let n1 = 0n;
    let d1 = 1n;
    if (l.discount.kind === 'percent') [n1, d1] = [clamp(big(l.discount.value), 0n, FULL), FULL];
    else if (l.discount.kind === 'amount') [n1, d1] = [clamp(big(l.discount.value), 0n, gross), gross];
    const den = d1 * d2;
    const num = den - (d1 - n1) * (d2 - n2);
    const bp = (num * FULL + den - 1n) / den;
    if (bp > max) max = bp;
  });
  return Number(clamp(max, 0n, FULL));
}

/** A discount as the API wants it: {"kind":"none"} carries no value. */
export function discountJson(d) {
  if (!d || d.kind === 'none') return { kind: 'none' };
  return { kind: d.kind, value: Math.trunc(Number(d.value) || 0) };
}
