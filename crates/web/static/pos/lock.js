// The lock screen (cashier picker + PIN pad), the idle timer and the offline PIN check.
// When an online unlock succeeds, a PBKDF2 verifier of that PIN is kept in memory only, so
// the idle lock can be lifted while offline by cashiers who unlocked during this page's life.
// Five wrong offline tries drop that verifier: the cashier then needs the server.
import { S, emit } from './state.js';
import { post, ApiError } from './api.js';
import { h, fill, errorLine, closeAllModals } from './ui.js';
import { pinPad } from './pinpad.js';

const OFFLINE_TRIES = 5;
const verifiers = new Map(); // cashier id -> {salt, hash, cashier, shift, fails}
const hooks = { unlocked: null, locked: null };
let lastInput = Date.now();
let idleTimer = null;

/** app.js: what to do after an unlock / a lock. */
export function configureLock(h) {
  Object.assign(hooks, h);
}

async function derive(pin, salt) {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(pin), 'PBKDF2', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'PBKDF2', salt, iterations: 150000, hash: 'SHA-256' }, key, 256));
}

function same(a, b) {
  let d = a.length ^ b.length;
  for (let i = 0; i < Math.min(a.length, b.length); i++) d |= a[i] ^ b[i];
  return d === 0;
}

async function remember(cashier, pin, shift, grant) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  verifiers.set(cashier.id, { salt, hash: await derive(pin, salt), cashier, shift, grant, fails: 0 });
}

/** Forget a cashier's offline verifier (sign-out). */
export function forgetVerifier(id) {
  verifiers.delete(id);
}

function idleMs() {
  const base = Math.max(1, Number(S.settings.idle_lock_minutes) || 5) * 60000;
  // Browser tests may ask for a shorter lock (never a longer one) with ?idle_ms=N.
  const t = Number(new URLSearchParams(location.search).get('idle_ms'));
  return t > 0 && t < base ? t : base;
}

/** Milliseconds since the last touch, click or key press. */
export function idleFor() {
  return Date.now() - lastInput;
}

/** Start watching for input; locks after settings.idle_lock_minutes without any. */
export function startIdleTimer() {
  if (idleTimer) return;
  const touch = () => {
    lastInput = Date.now();
  };
  for (const ev of ['pointerdown', 'keydown', 'touchstart', 'wheel', 'input']) {
    document.addEventListener(ev, touch, { capture: true, passive: true });
  }
  idleTimer = setInterval(() => {
    if (S.cashier && idleFor() > idleMs()) lockNow('Locked after inactivity.');
  }, 1000);
}

/** Lock: forget the token, tell the server, take the sale screen out of the DOM. */
export function lockNow(reason = 'Locked.', { tellServer = true } = {}) {
  const wasToken = S.token;
  S.token = null;
  S.cashier = null;
  closeAllModals();
  if (tellServer && wasToken && S.online) {
    // The old token goes along so the server clears exactly that session.
    post('/pos/api/lock', {}, { token: wasToken, noLockHandler: true }).catch(() => {});
  }
  emit('cashier', null);
  if (hooks.locked) hooks.locked(reason);
}

async function unlock(c, pin, err) {
  try {
    const r = await post('/pos/api/unlock', { cashier_id: c.id, pin }, { cashier: false });
    S.token = r.token;
    S.cashier = r.cashier;
    S.shift = r.shift || null;
    // The offline grant: the server accepts this cashier's offline sales only with it.
    S.grant = r.offline_grant || null;
    lastInput = Date.now();
    remember(r.cashier, pin, S.shift, S.grant).catch(() => {});
    emit('cashier', S.cashier);
    if (hooks.unlocked) hooks.unlocked();
    return true;
  } catch (e) {
    if (!(e instanceof ApiError) || !e.offline) {
      if (e.code === 'pin_locked') err.set(e.message || 'This PIN is locked after 5 wrong tries. A manager must reset it.');
      else err.set(e.message);
      return false;
    }
  }
  return offlineUnlock(c, pin, err);
}

async function offlineUnlock(c, pin, err) {
  const v = verifiers.get(c.id);
  if (!v) {
    err.set('This till is offline. Only cashiers who unlocked it since it was started can unlock it until the shop server is back.');
    return false;
  }
  if (same(await derive(pin, v.salt), v.hash)) {
    v.fails = 0;
    S.token = null; // no server session while offline; online calls will ask for the PIN again
    S.cashier = v.cashier;
    S.shift = v.shift;
    S.grant = v.grant;
    lastInput = Date.now();
    emit('cashier', S.cashier);
    if (hooks.unlocked) hooks.unlocked();
    return true;
  }
  v.fails += 1;
  if (v.fails >= OFFLINE_TRIES) {
    verifiers.delete(c.id);
    err.set('Too many wrong PINs. This cashier can unlock again when the till is back online.');
  } else {
    err.set(`Wrong PIN. ${OFFLINE_TRIES - v.fails} tries left while offline.`);
  }
  return false;
}

/** Render the lock screen into `root`. `reason` explains why it is showing. */
export function renderLock(root, reason = '') {
  const err = errorLine('pin-error');
  const who = h('h2', { class: 'who', test: 'pin-for' });
  const padBox = h('div', { class: 'lock-pad', hidden: true });
  let chosen = null;
  const pad = pinPad(async (pin) => {
    if (!chosen) return;
    err.set('');
    const ok = await unlock(chosen, pin, err);
    if (!ok) pad.reset();
  }, { okLabel: 'Unlock' });
  padBox.append(who, pad.el, err);
  const list = h('div', { class: 'people', test: 'cashiers' });
  for (const c of S.cashiers) {
    const note = c.locked ? 'PIN locked' : !c.has_pin ? 'no PIN yet' : '';
    list.append(h('button', {
      type: 'button', class: 'person', id: `cashier-${c.id}`, test: 'cashier',
      dataset: { id: c.id, name: c.name }, disabled: !!note,
      onclick: (e) => {
        chosen = c;
        for (const b of list.children) b.classList.toggle('selected', b === e.currentTarget);
        fill(who, `PIN for ${c.name}`);
        padBox.hidden = false;
        err.set('');
        pad.reset();
      },
    }, h('span', { class: 'name' }, c.name), note ? h('small', {}, note) : h('small', {}, c.role)));
  }
  if (!S.cashiers.length) list.append(h('p', {}, 'No staff can sell yet. An owner adds staff and PINs in the admin.'));
  fill(root, h('section', { class: 'lock-screen', id: 'lock-screen', test: 'lock-screen' },
    h('div', { class: 'lock-left' },
      h('h1', {}, S.shop.name || 'Till'),
      h('p', { class: 'muted' }, S.device ? `${S.device.name} · ${S.device.location || ''}` : ''),
      reason ? h('p', { class: 'lock-reason', test: 'lock-reason', role: 'status' }, reason) : null,
      h('h2', {}, 'Who is selling?'),
      list),
    padBox));
  const only = S.cashiers.filter((c) => c.has_pin && !c.locked);
  if (only.length === 1) list.querySelector(`[data-id="${CSS.escape(only[0].id)}"]`)?.click();
}
