// Shifts: open with a counted float, cash in/out with a reason, close with the counted cash
// (expected and variance shown; above the threshold a manager approves), the Z report.
import { S, emit } from './state.js';
import { get, post } from './api.js';
import { h, fill, modal, money, parseMoney, errorLine, when, toast } from './ui.js';
import { askApproval } from './approve.js';

function moneyField(test, label) {
  return h('input', { test, inputmode: 'decimal', autocomplete: 'off', 'aria-label': label, placeholder: label });
}

/** The Z report of a shift, printable, in its own window. */
export function openZ(id) {
  const w = window.open(`/pos/z/${encodeURIComponent(id)}`, `z-${id}`, 'width=480,height=760');
  if (!w) toast('The browser blocked the report window. Allow pop-ups for the till.', 'error');
}

/** Open the shift dialog. */
export async function openShift() {
  const m = modal('Shift', { test: 'shift-dialog', wide: true });
  if (!S.online) {
    m.body.append(h('p', { class: 'warn' }, 'Shifts need the shop server, and this till is offline.'));
    return;
  }
  const err = errorLine('shift-error');
  const area = h('div');
  m.body.append(area, err);
  let r;
  try {
    r = await get('/pos/api/shift');
  } catch (e) {
    return err.set(e.message);
  }
  S.shift = r.shift || null;
  emit('shift', S.shift);
  if (!S.shift) return renderOpen(area, err, m);
  renderOpenShift(area, err, r.expected_minor);
}

function renderOpen(area, err, m) {
  const float = moneyField('shift-float', 'Float counted in the drawer');
  const form = h('form', { class: 'stack' }, h('p', {}, 'Count the cash in the drawer to open the shift.'), float,
    h('button', { type: 'submit', class: 'btn pay', test: 'shift-open-submit' }, 'Open shift'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.set('');
    const v = parseMoney(float.value);
    if (v === null) return err.set('Enter the float, like 100 or 150.00.');
    try {
      S.shift = await post('/pos/api/shift/open', { float_minor: v });
      emit('shift', S.shift);
      toast('Shift opened.', 'ok');
      m.close();
    } catch (ex) {
      err.set(ex.message);
    }
  });
  fill(area, form);
}

function renderOpenShift(area, err, expected) {
  const sh = S.shift;
  const exp = h('strong', { test: 'shift-expected', dataset: { minor: String(expected) } }, money(expected));
  const kind = h('select', { test: 'cash-kind', 'aria-label': 'Cash in or out' }, h('option', { value: 'in' }, 'Cash in'), h('option', { value: 'out' }, 'Cash out'));
  const amount = moneyField('cash-amount', 'Amount');
  const reason = h('input', { test: 'cash-reason', maxlength: '200', autocomplete: 'off', placeholder: 'Reason', 'aria-label': 'Reason' });
  const move = h('form', { class: 'row' }, kind, amount, reason, h('button', { type: 'submit', class: 'btn', test: 'cash-submit' }, 'Record'));
  move.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.set('');
    const v = parseMoney(amount.value);
    if (v === null || v <= 0) return err.set('Enter an amount above zero.');
    if (!reason.value.trim()) return err.set('Give a reason.');
    try {
      const body = { kind: kind.value, amount_minor: v, reason: reason.value.trim() };
      let r;
      try {
        r = await post('/pos/api/shift/cash', body);
      } catch (ex) {
        if (ex.code !== 'approval_required') throw ex;
        const a = await askApproval(ex.message);
        if (!a) return err.set('Not approved: nothing was recorded.');
        r = await post('/pos/api/shift/cash', { ...body, approver: a });
      }
      exp.textContent = money(r.expected_minor);
      exp.dataset.minor = String(r.expected_minor);
      amount.value = '';
      reason.value = '';
      toast('Recorded.', 'ok');
    } catch (ex) {
      err.set(ex.message);
    }
  });
  const counted = moneyField('shift-counted', 'Cash counted');
  const note = h('input', { test: 'shift-note', maxlength: '500', autocomplete: 'off', placeholder: 'Note (optional)', 'aria-label': 'Note' });
  const close = h('form', { class: 'stack' }, h('h3', {}, 'Close the shift'), counted, note,
    h('button', { type: 'submit', class: 'btn pay', test: 'shift-close-submit' }, 'Close shift'));
  close.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.set('');
    const v = parseMoney(counted.value);
    if (v === null) return err.set('Enter the cash counted in the drawer.');
    const body = { counted_minor: v, note: note.value.trim() };
    try {
      let r;
      try {
        r = await post('/pos/api/shift/close', body);
      } catch (ex) {
        if (ex.code !== 'approval_required') throw ex;
        const a = await askApproval(ex.message);
        if (!a) return err.set('Not approved: the shift is still open. Count again or ask a manager.');
        r = await post('/pos/api/shift/close', { ...body, approver: a });
      }
      S.shift = null;
      emit('shift', null);
      showClosed(area, r);
    } catch (ex) {
      err.set(ex.message);
    }
  });
  fill(area,
    h('p', {}, `Shift ${sh.number} · opened ${when(sh.opened_at)} by ${sh.opened_by || ''} · float ${money(sh.float_minor)}`),
    h('p', { class: 'big-figure' }, 'Expected in the drawer ', exp),
    h('h3', {}, 'Cash in / out'), move, close,
    h('button', { type: 'button', class: 'btn', test: 'z-report-current', onclick: () => openZ(sh.id) }, 'X report (so far)'));
}

function showClosed(area, r) {
  const sh = r.shift || {};
  const v = sh.variance_minor || 0;
  fill(area, h('div', { class: 'stack', test: 'shift-closed' },
    h('p', {}, 'Expected ', h('strong', { test: 'shift-expected', dataset: { minor: String(sh.expected_minor) } }, money(sh.expected_minor || 0))),
    h('p', {}, 'Counted ', h('strong', {}, money(sh.counted_minor || 0))),
    h('p', { class: v ? 'warn' : '' }, 'Variance ', h('strong', { test: 'shift-variance', dataset: { minor: String(v) } },
      `${v > 0 ? '+' : ''}${money(v)}`), v ? (v > 0 ? ' over' : ' short') : ''),
    h('a', { class: 'btn primary', test: 'z-report-link', href: r.z_report_url || `/pos/z/${sh.id}`, target: '_blank', rel: 'noopener',
      onclick: (e) => { e.preventDefault(); openZ(sh.id); } }, 'Print Z report')));
}
