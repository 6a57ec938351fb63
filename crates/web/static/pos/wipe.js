// Remote wipe: after the server says this device was revoked, delete everything the till kept
// (IndexedDB, localStorage, sessionStorage, CacheStorage, the service worker) and say so.
import { S } from './state.js';
import { closeDb, DB_NAME } from './db.js';
import { h, fill, closeAllModals } from './ui.js';

export const WIPED_MESSAGE = 'This device was removed from the shop. Ask a manager to pair it again.';

/** Delete all local data, then show the removed message. Safe to call more than once. */
export async function wipe() {
  if (S.wiped) return;
  S.wiped = true;
  S.token = null;
  S.cashier = null;
  closeAllModals();
  showMessage('Removing this till’s data…', 'wiping');
  closeDb();
  const jobs = [];
  try {
    const names = indexedDB.databases ? (await indexedDB.databases()).map((d) => d.name) : [];
    for (const name of new Set([DB_NAME, ...names])) {
      if (name) jobs.push(deleteDb(name));
    }
  } catch (_) {
    jobs.push(deleteDb(DB_NAME));
  }
  try {
    localStorage.clear();
  } catch (_) { /* already cleared by Clear-Site-Data */ }
  try {
    sessionStorage.clear();
  } catch (_) { /* idem */ }
  if (self.caches) {
    jobs.push(caches.keys().then((keys) => Promise.all(keys.map((k) => caches.delete(k)))).catch(() => {}));
  }
  if (navigator.serviceWorker) {
    jobs.push(navigator.serviceWorker.getRegistrations()
      .then((regs) => Promise.all(regs.map((r) => r.unregister()))).catch(() => {}));
  }
  await Promise.all(jobs);
  showMessage(WIPED_MESSAGE, 'wiped');
  document.documentElement.dataset.wiped = 'true';
}

function deleteDb(name) {
  return new Promise((resolve) => {
    const req = indexedDB.deleteDatabase(name);
    req.onsuccess = req.onerror = () => resolve();
    // Another tab holding it open: it closes on its own "versionchange"; do not wait forever.
    req.onblocked = () => setTimeout(resolve, 2000);
  });
}

function showMessage(text, test) {
  document.getElementById('statusbar')?.remove();
  const app = document.getElementById('app') || document.body;
  fill(app, h('div', { class: 'center-screen' },
    h('div', { class: 'card wiped', id: test, test, role: 'alert' }, h('h1', {}, text))));
}
