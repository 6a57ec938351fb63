// Line and order discounts. Above the cashier's limit a manager approves on the spot with
// their PIN; the approval travels with the sale and the server checks it.
import { S, isManager } from './state.js';
import { h, modal, errorLine, parseMoney, moneyInput } from './ui.js';
import { cart, setLineDiscount, setOrderDiscount, setApprover, cartDiscountBp, preview } from './cart.js';
import { askApproval } from './approve.js';

function limitBp() {
  if (isManager()) return 10000;
  const c = S.cashier && S.cashier.discount_limit_bp;
  return Number.isFinite(c) ? c : S.settings.cashier_discount_limit_bp;
}

/** Open the discount dialog for line `index`, or for the whole order when index is null. */
export function editDiscount(index) {
  const line = index === null ? null : cart.lines[index];
  const current = line ? line.discount : cart.order_discount;
  const m = modal(line ? `Discount: ${line.name}` : 'Discount on the whole sale', { test: 'discount-dialog' });
  const err = errorLine('discount-error');
  const kind = h('select', { test: 'discount-kind', 'aria-label': 'Kind' },
    h('option', { value: 'percent' }, 'Percent (%)'), h('option', { value: 'amount' }, 'Amount off'));
  kind.value = current.kind === 'amount' ? 'amount' : 'percent';
  const value = h('input', { test: 'discount-value', inputmode: 'decimal', autocomplete: 'off', 'aria-label': 'Value' });
  if (current.kind === 'percent') value.value = String(current.value / 100);
  if (current.kind === 'amount') value.value = moneyInput(current.value);
  const quick = h('div', { class: 'quick' }, [5, 10, 15, 20, 50].map((p) => h('button', {
    type: 'button', class: 'btn', onclick: () => { kind.value = 'percent'; value.value = String(p); },
  }, `${p}%`)));

  const apply = async (d) => {
    const before = line ? { ...line.discount } : { ...cart.order_discount };
    if (line) setLineDiscount(index, d);
    else setOrderDiscount(d);
    if (cartDiscountBp() > limitBp()) {
      if (!S.online) {
        err.set('This discount needs a manager’s approval, which needs the shop server. The till is offline.');
        if (line) setLineDiscount(index, before); else setOrderDiscount(before);
        return;
      }
      const a = await askApproval(`A discount of this size is above your limit of ${limitBp() / 100}%.`);
      if (!a) {
        if (line) setLineDiscount(index, before); else setOrderDiscount(before);
        err.set('Not approved: the discount was not applied.');
        return;
      }
      setApprover(a);
    }
    m.close();
  };

  const form = h('form', { class: 'stack' }, h('div', { class: 'row' }, kind, value), quick, err,
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'btn', test: 'discount-remove',
        onclick: () => { apply({ kind: 'none', value: 0 }); } }, 'No discount'),
      h('button', { type: 'submit', class: 'btn primary', test: 'discount-apply' }, 'Apply')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    err.set('');
    let d;
    if (kind.value === 'percent') {
      const m2 = value.value.trim().replace(',', '.').match(/^(\d{1,3})(?:\.(\d{1,2}))?$/);
      const bp = m2 ? Number(m2[1]) * 100 + Number((m2[2] || '').padEnd(2, '0')) : NaN;
      if (!(bp >= 0 && bp <= 10000)) return err.set('Enter a percentage from 0 to 100.');
      d = { kind: 'percent', value: bp };
    } else {
      const v = parseMoney(value.value);
      if (v === null) return err.set('Enter an amount, like 2.50.');
      const p = preview();
      const base = line ? p.lines[index].gross_minor : p.subtotal_minor - p.lines.reduce((a, l) => a + l.line_discount_minor, 0);
      if (v > base) return err.set('A discount cannot be more than what it is taken from.');
      d = { kind: 'amount', value: v };
    }
    apply(d);
  });
  m.body.append(form);
  value.focus();
}
