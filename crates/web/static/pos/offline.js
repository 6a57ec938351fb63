// Heartbeat, offline detection, the offline grace period and the offline sales queue.
// Queued sales carry a random idempotency key and are removed only after the server answers
// 2xx; a 4xx refusal stays listed as "refused" with the server's message for a manager.
import { S, emit } from './state.js';
import { get, post, lastContact, ApiError } from './api.js';
import { addQueued, listQueued, removeQueued, updateQueued } from './db.js';
import { h, modal, money, when, toast } from './ui.js';
import { idleFor, lockNow, forgetVerifier } from './lock.js';

const BEAT_MS = 30000;
const hooks = { grace: null };
let beatTimer = null;

/** app.js: called with true when the grace period ran out, false when the server answered again. */
export function configureOffline(h) {
  Object.assign(hooks, h);
}

/** Whether the device has gone without the server for longer than settings.offline_grace_hours. */
export function graceExpired() {
  const last = lastContact();
  const hours = Number(S.settings.offline_grace_hours) || 24;
  return !S.online && last > 0 && Date.now() - last > hours * 3600000;
}

/** One heartbeat: tells the server we are alive and how many sales wait; syncs after. */
export async function beat() {
  await refreshQueue();
  try {
    const r = await post('/pos/api/heartbeat', {
      app_version: S.version,
      queued: S.queued,
      active: idleFor() < BEAT_MS, // lets the server keep an active cashier's session alive
    }, { noLockHandler: true, timeout: 10000 });
    if (hooks.grace) hooks.grace(false);
    if (r && r.signed_in === true && S.token && idleFor() < BEAT_MS) {
      // The heartbeat does not count as activity on the server, and browsing the cached catalog
      // makes no calls: tell the server the cashier is still at work, so it does not lock them.
      get('/pos/api/shift').then((x) => { S.shift = x.shift || null; emit('shift', S.shift); }).catch(() => {});
    }
    if (r && r.signed_in === false && S.cashier) {
      // Signed out from the admin: this cashier's PIN no longer unlocks the till offline.
      if (S.token) forgetVerifier(S.cashier.id);
      lockNow(S.token ? 'Signed out from the shop admin.' : 'The till is back online. Enter your PIN to go on.',
        { tellServer: false });
    }
    await syncQueue();
  } catch (e) {
    if (e instanceof ApiError && e.code === 'locked' && S.cashier) {
      lockNow('Your session ended. Enter your PIN to go on.', { tellServer: false });
    }
    if (graceExpired() && hooks.grace) hooks.grace(true);
  }
}

/** Start the 30 s heartbeat and the browser's online/offline hints. */
export function startHeartbeat() {
  if (beatTimer) return;
  beatTimer = setInterval(beat, BEAT_MS);
  window.addEventListener('online', () => beat());
  window.addEventListener('offline', () => {
    S.online = false;
    emit('online', false);
  });
  beat();
}

/** Re-count the queue for the status bar. */
export async function refreshQueue() {
  try {
    const all = await listQueued();
    S.queued = all.filter((q) => q.status !== 'refused').length;
    S.refused = all.length - S.queued;
  } catch (_) {
    S.queued = 0;
    S.refused = 0;
  }
  emit('queue');
}

/** Put an offline cash sale in the queue. `body` is the /pos/api/sales/offline request. */
export async function queueSale(body) {
  await addQueued({ key: body.key, body, status: 'pending', message: '', created_at: Date.now() });
  await refreshQueue();
}

let syncRun = null;

/** Send queued sales, oldest first, one at a time; one run at a time (across tabs too). */
export function syncQueue() {
  if (!syncRun) {
    const work = () => syncAll();
    syncRun = (navigator.locks ? navigator.locks.request('storefort-pos-sync', work) : work())
      .finally(() => {
        syncRun = null;
      });
  }
  return syncRun;
}

async function syncAll() {
  const pending = (await listQueued().catch(() => [])).filter((q) => q.status === 'pending');
  if (!pending.length) return;
  S.syncing = true;
  emit('queue');
  let sent = 0;
  try {
    for (const q of pending) {
      try {
        await post('/pos/api/sales/offline', q.body, { cashier: false, noLockHandler: true });
        await removeQueued(q.key);
        sent += 1;
      } catch (e) {
        if (!(e instanceof ApiError) || e.offline || e.status >= 500 || e.status === 401 || e.status === 429) break;
        // The server refused this sale for good (tampered, limit, unknown item): keep it visible.
        q.status = 'refused';
        q.message = e.message;
        q.refused_at = Date.now();
        await updateQueued(q);
      }
    }
  } finally {
    S.syncing = false;
    await refreshQueue();
  }
  if (sent) toast(`${sent} offline sale(s) sent to the shop.`, 'ok');
}

/** The queue for a manager: waiting and refused sales, with their messages. */
export async function showQueue() {
  const m = modal('Offline sales', { test: 'queue-dialog', wide: true });
  const list = await listQueued().catch(() => []);
  if (!list.length) {
    m.body.append(h('p', {}, 'Every sale has reached the shop.'));
    return;
  }
  const rows = list.map((q) => h('tr', { test: 'queued-sale', dataset: { key: q.key, status: q.status } },
    h('td', {}, when(q.body.sold_at)),
    h('td', { class: 'num' }, money(q.body.total_minor)),
    h('td', {}, q.status === 'refused' ? h('strong', { class: 'bad' }, 'Refused') : 'Waiting'),
    h('td', {}, q.message || ''),
    h('td', {}, q.status === 'refused' ? h('button', {
      type: 'button', class: 'btn small',
      onclick: async () => {
        q.status = 'pending';
        q.message = '';
        await updateQueued(q);
        m.close();
        await syncQueue();
        showQueue();
      },
    }, 'Try again') : '')));
  m.body.append(
    h('p', {}, 'Refused sales were not recorded by the shop. A manager should check each one (the cash is in the drawer) and record it in the admin.'),
    h('table', { class: 'table' }, h('thead', {}, h('tr', {}, h('th', {}, 'Sold'), h('th', {}, 'Total'),
      h('th', {}, 'Status'), h('th', {}, 'Message'), h('th', {}, ''))), h('tbody', {}, rows)),
    h('button', { type: 'button', class: 'btn', test: 'sync-now', disabled: !S.online,
      onclick: async () => { m.close(); await syncQueue(); } }, 'Send now'));
}
