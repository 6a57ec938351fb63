// After a sale: change due, the printable receipt (80 or 58 mm paper, in its own window since
// the receipt page may not be framed) and the email receipt.
import { S } from './state.js';
import { post } from './api.js';
import { h, modal, money, errorLine, toast } from './ui.js';

/** The receipt page of sale `number` for `paper` (80 | 58) mm. */
export function receiptUrl(number, paper = 80) {
  return `/pos/receipt/${encodeURIComponent(number)}?paper=${paper}`;
}

/** Open the receipt in a new window for printing. */
export function openReceipt(number, paper = 80) {
  const w = window.open(receiptUrl(number, paper), `receipt-${number}`, 'width=420,height=700');
  if (!w) toast('The browser blocked the receipt window. Allow pop-ups for the till.', 'error');
}

/** Show the finished sale: {number|null, total_minor, change_minor, receipt_url?, stock_alerts, offline}. */
export function showDone(r) {
  const m = modal(r.offline ? 'Sale saved offline' : `Sale ${r.number}`, { test: 'sale-done' });
  const err = errorLine('email-error');
  m.body.append(
    h('p', { class: 'big-figure' }, 'Change due ',
      h('strong', { id: 'change-due', test: 'change-due', dataset: { minor: String(r.change_minor) } }, money(r.change_minor))),
    h('p', {}, 'Total ', h('strong', { test: 'done-total', dataset: { minor: String(r.total_minor) } }, money(r.total_minor))));
  if (r.offline) {
    m.body.append(h('p', { class: 'warn', test: 'done-offline' },
      'The shop server cannot be reached. This cash sale is saved on the till and will be sent when the connection returns. Its receipt can be printed after that.'));
  } else {
    const url = r.receipt_url || receiptUrl(r.number, 80);
    m.body.append(h('div', { class: 'row' },
      h('a', { class: 'btn primary', id: 'receipt-link', test: 'receipt-link', href: url, target: '_blank', rel: 'noopener',
        onclick: (e) => { e.preventDefault(); openReceipt(r.number, 80); } }, 'Print receipt (80 mm)'),
      h('a', { class: 'btn', test: 'receipt-link-58', href: receiptUrl(r.number, 58), target: '_blank', rel: 'noopener',
        onclick: (e) => { e.preventDefault(); openReceipt(r.number, 58); } }, '58 mm')));
    // The server sends it to the address taken with the sale (customer dialog).
    const form = h('form', { class: 'row' }, h('button', { type: 'submit', class: 'btn', test: 'email-receipt' }, 'Email receipt again'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      err.set('');
      try {
        await post(`/pos/api/sales/${encodeURIComponent(r.number)}/email`, {});
        toast('Receipt sent.', 'ok');
      } catch (ex) {
        err.set(ex.message);
      }
    });
    if (S.online && r.receipt_emailed) m.body.append(form, err);
    if (r.stock_alerts && r.stock_alerts.length) {
      m.body.append(h('p', { class: 'warn' }, `Stock is short for ${r.stock_alerts.map((a) => a.name).join(', ')}. A manager has been told.`));
    }
  }
  m.body.append(h('button', { type: 'button', class: 'btn pay', test: 'new-sale', onclick: () => m.close() }, 'New sale'));
}
