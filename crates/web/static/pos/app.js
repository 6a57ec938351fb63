// storefort till: screens pair -> cashier (lock) -> sell, and the status bar.
//
// Test hooks (stable `data-test` attributes; ids where noted) for the browser tests:
//   app root ............ #app [data-test=app]; <html data-wiped="true"> after a wipe
//   pairing ............. #pair-screen, #pair-code [data-test=pair-code], #pair-submit [data-test=pair-submit], [data-test=pair-error]
//   lock screen ......... #lock-screen [data-test=lock-screen], [data-test=lock-reason]
//   cashiers ............ [data-test=cashier][data-id=<user id>][data-name=<name>] (also #cashier-<id>)
//   PIN pad ............. #pin-input [data-test=pin-input], [data-test=pin-key-0..9], [data-test=pin-back], [data-test=pin-ok], [data-test=pin-error]
//   grace lock .......... #grace-lock [data-test=grace-lock]
//   wiped message ....... #wiped [data-test=wiped]
//   status bar .......... #statusbar, [data-test=device-name], [data-test=cashier-name],
//                         #offline-indicator [data-test=offline-indicator][data-state=online|offline],
//                         [data-test=queued-count][data-count=N], [data-test=sync-status][data-state=idle|pending|syncing|refused],
//                         [data-test=lock-button], [data-test=sign-out], [data-test=change-pin]
//   sell screen ......... #sell-screen, #search [data-test=search], [data-test=category-tab][data-id],
//                         [data-test=product][data-sku][data-id] (product tiles), [data-test=refund-open], [data-test=shift-open]
//   cart ................ [data-test=cart], [data-test=cart-line][data-sku][data-qty], [data-test=qty-plus|qty-minus|line-discount|line-remove],
//                         #cart-total [data-test=cart-total][data-minor], [data-test=order-discount|park|parked-button|clear-cart],
//                         [data-test=customer-button], #pay-open [data-test=pay-open]
//   discount ............ [data-test=discount-kind|discount-value|discount-apply]; approval: [data-test=approval], [data-test=approver][data-id],
//                         [data-test=approver-pin-input], [data-test=approver-pin-ok]
//   payment ............. [data-test=pay-dialog], #tendered [data-test=tendered], [data-test=quick-cash-amount][data-minor],
//                         #pay-button [data-test=pay-button], [data-test=change-preview][data-minor],
//                         [data-test=card-amount|card-brand|card-last4|card-add], [data-test=pay-error]
//   sale done ........... [data-test=sale-done], #change-due [data-test=change-due][data-minor], #receipt-link [data-test=receipt-link] (href),
//                         [data-test=done-offline], [data-test=email-receipt], [data-test=new-sale]
//   refund .............. [data-test=refund-number|refund-find|refund-line|refund-plus|refund-all|refund-method|refund-restock|refund-submit|refund-done]
//   shift ............... [data-test=shift-float|shift-open-submit|cash-kind|cash-amount|cash-reason|cash-submit|shift-counted|shift-close-submit|shift-expected|shift-variance|z-report-link]
//   offline queue ....... [data-test=queue-dialog], [data-test=queued-sale][data-status=pending|refused], [data-test=sync-now]
//   toasts .............. [data-test=toast]
// Shorter idle lock for tests: /pos?idle_ms=3000 (can only shorten settings.idle_lock_minutes).
import { S, emit, on } from './state.js';
import { get, post, setHandlers, ApiError } from './api.js';
import { h, fill, modal, errorLine, toast, closeAllModals } from './ui.js';
import { wipe } from './wipe.js';
import { renderPair } from './pair.js';
import { renderLock, configureLock, startIdleTimer, lockNow, forgetVerifier } from './lock.js';
import { renderSell } from './sell.js';
import { startScanner } from './scanner.js';
import { loadCached, syncCatalog } from './catalog.js';
import { startHeartbeat, configureOffline, graceExpired, showQueue, refreshQueue, beat } from './offline.js';
import { cart, park } from './cart.js';
import { pinPad } from './pinpad.js';

const STATE_KEY = 'sf_pos_state';
let screen = null;
let current = '';
let catalogTimer = null;

function show(name, render) {
  current = name;
  closeAllModals();
  render(screen);
  document.documentElement.dataset.screen = name;
}

function showLock(reason) {
  if (S.wiped) return;
  if (graceExpired()) return showGrace();
  show('lock', (root) => renderLock(root, reason));
  // Staff, PINs and PIN locks may have changed since the till started: refresh the list.
  if (S.online) {
    const before = JSON.stringify(S.cashiers);
    get('/pos/api/state', { cashier: false }).then((st) => {
      applyState(st);
      if (current === 'lock' && JSON.stringify(S.cashiers) !== before) {
        show('lock', (root) => renderLock(root, reason));
      }
    }).catch(() => {});
  }
}

function showGrace() {
  S.token = null;
  S.cashier = null;
  emit('cashier', null);
  show('grace', (root) => fill(root, h('div', { class: 'center-screen' },
    h('section', { class: 'card', id: 'grace-lock', test: 'grace-lock', role: 'alert' },
      h('h1', {}, 'This till is locked'),
      h('p', {}, `It has not reached the shop server for more than ${S.settings.offline_grace_hours} hours, so it stopped selling. `
        + 'Connect it to the network: it unlocks itself as soon as the server answers.'),
      h('button', { type: 'button', class: 'btn', onclick: () => beat() }, 'Try now')))));
}

function showSell() {
  show('sell', renderSell);
}

/** Apply an answer of GET /pos/api/state and keep a copy (no customer data in it) for offline starts. */
function applyState(st) {
  S.device = st.device;
  S.settings = { ...S.settings, ...(st.settings || {}) };
  S.shop = { ...S.shop, ...(st.shop || {}) };
  S.cashiers = st.cashiers || [];
  try {
    localStorage.setItem(STATE_KEY, JSON.stringify({ device: S.device, settings: S.settings, shop: S.shop, cashiers: S.cashiers }));
  } catch (_) { /* private mode: fine online */ }
  emit('device');
}

async function loadState() {
  try {
    applyState(await get('/pos/api/state', { cashier: false }));
    return true;
  } catch (e) {
    if (!(e instanceof ApiError) || !e.offline) return false; // not paired / revoked: handlers did it
    const saved = localStorage.getItem(STATE_KEY);
    if (!saved) {
      show('error', (root) => fill(root, h('div', { class: 'center-screen' }, h('section', { class: 'card', test: 'no-server' },
        h('h1', {}, 'The shop server cannot be reached'),
        h('p', {}, 'Check the network, then try again.'),
        h('button', { type: 'button', class: 'btn pay', onclick: () => location.reload() }, 'Try again')))));
      return false;
    }
    const st = JSON.parse(saved);
    Object.assign(S, { device: st.device, settings: { ...S.settings, ...st.settings }, shop: { ...S.shop, ...st.shop }, cashiers: st.cashiers || [] });
    emit('device');
    return true;
  }
}

async function started() {
  renderStatus();
  startIdleTimer();
  startScanner();
  await loadCached();
  startHeartbeat();
  showLock(S.online ? '' : 'Offline. Only cashiers who unlocked this till since it started can unlock it until the server is back.');
}

function renderStatus() {
  if (document.getElementById('statusbar')) return;
  const bar = h('header', { id: 'statusbar', class: 'statusbar' });
  document.getElementById('app').before(bar);
  const draw = () => {
    const state = S.syncing ? 'syncing' : S.refused ? 'refused' : S.queued ? 'pending' : 'idle';
    const syncText = { syncing: 'Sending…', refused: `${S.refused} refused`, pending: 'Waiting to send', idle: 'All sent' }[state];
    fill(bar,
      h('span', { class: 'sb-device', test: 'device-name' }, S.device ? S.device.name : ''),
      h('span', { class: 'sb-cashier', test: 'cashier-name' }, S.cashier ? S.cashier.name : 'Locked'),
      h('span', { id: 'offline-indicator', class: `sb-net ${S.online ? 'on' : 'off'}`, test: 'offline-indicator', dataset: { state: S.online ? 'online' : 'offline' } },
        S.online ? 'Online' : 'Offline'),
      h('button', { type: 'button', class: 'sb-queue', test: 'queued-count', dataset: { count: String(S.queued) }, onclick: showQueue,
        title: 'Offline sales' }, `Queued: ${S.queued}`),
      h('span', { class: `sb-sync ${state}`, test: 'sync-status', dataset: { state } }, syncText),
      h('span', { class: 'grow' }),
      S.cashier ? h('button', { type: 'button', class: 'btn small', test: 'change-pin', onclick: changePin, disabled: !S.online || !S.token }, 'My PIN') : null,
      S.cashier ? h('button', { type: 'button', class: 'btn small', test: 'lock-button', onclick: () => lockNow('Locked.') }, 'Lock') : null,
      S.cashier ? h('button', { type: 'button', class: 'btn small', test: 'sign-out', onclick: signOut }, 'Sign out') : null);
  };
  for (const ev of ['online', 'queue', 'cashier', 'device']) on(ev, draw);
  draw();
}

async function signOut() {
  const c = S.cashier;
  if (!c) return;
  if (cart.lines.length) await park().catch(() => {});
  const token = S.token;
  forgetVerifier(c.id);
  if (token && S.online) await post('/pos/api/sign-out', {}, { token, noLockHandler: true }).catch(() => {});
  lockNow(`${c.name} signed out.`, { tellServer: false });
}

function changePin() {
  const m = modal('Change my PIN', { test: 'pin-dialog' });
  const err = errorLine('change-pin-error');
  let current = null;
  const step = h('p', {}, 'Current PIN');
  const pad = pinPad(async (pin) => {
    err.set('');
    if (current === null) {
      current = pin;
      step.textContent = 'New PIN (4-8 digits)';
      return pad.reset();
    }
    try {
      await post('/pos/api/pin', { current_pin: current, new_pin: pin });
      toast('PIN changed.', 'ok');
      forgetVerifier(S.cashier.id);
      m.close();
    } catch (e) {
      err.set(e.message);
      current = null;
      step.textContent = 'Current PIN';
      pad.reset();
    }
  }, { okLabel: 'Next', prefix: 'change-pin' });
  m.body.append(step, pad.el, err);
  pad.focus();
}

async function onUnlocked() {
  // Another cashier's unfinished sale is parked, not handed over.
  if (cart.lines.length && cart.owner && cart.owner !== S.cashier.id) {
    await park().catch(() => {});
    toast('The previous cashier’s sale was parked.', 'info');
  }
  showSell();
  if (S.online && S.token) {
    syncCatalog().catch((e) => toast(e.message, 'error'));
    get('/pos/api/state', { cashier: false }).then(applyState).catch(() => {});
  }
  clearInterval(catalogTimer);
  catalogTimer = setInterval(() => {
    if (S.online && S.token) syncCatalog().catch(() => {});
  }, 10 * 60000);
}

async function boot() {
  screen = document.getElementById('app');
  fill(screen);
  if (navigator.serviceWorker) {
    navigator.serviceWorker.register('/pos/sw.js', { scope: '/pos/' }).catch(() => {});
  }
  setHandlers({
    revoked: () => wipe(),
    locked: () => {
      if (S.cashier) lockNow('Your session ended. Enter your PIN to go on.', { tellServer: false });
    },
    notPaired: () => {
      if (current !== 'pair') {
        S.device = null;
        S.token = null;
        S.cashier = null;
        show('pair', (root) => renderPair(root, paired));
      }
    },
  });
  configureLock({ unlocked: onUnlocked, locked: (reason) => showLock(reason) });
  configureOffline({
    grace: (expired) => {
      if (expired && current !== 'grace') showGrace();
      else if (!expired && current === 'grace') showLock('The till reached the shop server again.');
    },
  });
  if (await loadState()) await started();
  await refreshQueue();
}

async function paired() {
  if (await loadState()) await started();
}

boot().catch((e) => {
  console.error(e);
  toast('The till could not start. Reload the page.', 'error');
});
