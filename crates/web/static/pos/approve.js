// "A manager must approve this": pick a manager or owner and take their PIN on the spot.
// The PIN goes to the server with the request that needs it; the till never checks it itself.
import { S } from './state.js';
import { h, modal, errorLine } from './ui.js';
import { pinPad } from './pinpad.js';

/**
 * Ask for a manager's approval. Resolves {user_id, pin} or null when cancelled.
 * `reason` says what is being approved.
 */
export function askApproval(reason) {
  return new Promise((resolve) => {
    let answered = false;
    const m = modal('Manager approval', {
      test: 'approval',
      onClose: () => {
        if (!answered) resolve(null);
      },
    });
    const managers = S.cashiers.filter((c) => (c.role === 'manager' || c.role === 'owner') && c.has_pin);
    if (!S.online) {
      m.body.append(h('p', { class: 'warn' }, 'A manager’s approval needs the shop server, and this till is offline.'));
      return;
    }
    if (!managers.length) {
      m.body.append(h('p', { class: 'warn' }, 'No manager has a PIN yet. A manager can set one on their account page.'));
      return;
    }
    const err = errorLine('approval-error');
    const pick = h('div', { class: 'people' });
    const padBox = h('div', { class: 'approval-pad', hidden: true });
    let chosen = null;
    const pad = pinPad(async (pin) => {
      if (!chosen) return;
      answered = true;
      resolve({ user_id: chosen.id, pin });
      m.close();
    }, { okLabel: 'Approve', prefix: 'approver-pin' });
    for (const c of managers) {
      pick.append(h('button', {
        type: 'button', class: 'person', test: 'approver', dataset: { id: c.id, name: c.name }, disabled: c.locked,
        onclick: (e) => {
          chosen = c;
          for (const b of pick.children) b.classList.toggle('selected', b === e.currentTarget);
          padBox.hidden = false;
          err.set('');
          pad.reset();
        },
      }, c.name, c.locked ? ' (PIN locked)' : ''));
    }
    padBox.append(h('p', {}, 'Manager PIN'), pad.el);
    m.body.append(h('p', {}, reason), pick, padBox, err);
  });
}
