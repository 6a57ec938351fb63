// Shared state of the till app and a tiny change notifier. Nothing here is persisted:
// the cashier token and PIN verifiers live in memory only (a reload means locked).

/** Settings as the server defines them (PosSettings); replaced by GET /pos/api/state. */
export const DEFAULT_SETTINGS = {
  idle_lock_minutes: 5,
  offline_grace_hours: 24,
  offline_sale_limit_minor: 20000,
  cashier_discount_limit_bp: 1000,
  variance_threshold_minor: 500,
  cash_out_approval_minor: 5000,
};

export const S = {
  version: document.documentElement.dataset.version || '0',
  device: null, // {id, name, location}
  settings: { ...DEFAULT_SETTINGS },
  shop: { name: '', currency: 'USD', prices_include_tax: true },
  cashiers: [], // [{id, name, role, has_pin, locked}]
  cashier: null, // {id, name, role, discount_limit_bp} while unlocked
  token: null, // X-POS-Cashier token (null when unlocked offline)
  grant: null, // offline grant from the last online unlock (sent with offline sales)
  shift: null,
  online: navigator.onLine,
  queued: 0,
  refused: 0,
  syncing: false,
  wiped: false,
};

const listeners = new Map();

/** Subscribe to a named change ("online", "cart", "queue", "cashier"...). Returns an unsubscribe. */
export function on(what, fn) {
  if (!listeners.has(what)) listeners.set(what, new Set());
  listeners.get(what).add(fn);
  return () => listeners.get(what).delete(fn);
}

/** Tell subscribers that `what` changed. A failing listener never stops the others. */
export function emit(what, detail) {
  for (const fn of listeners.get(what) || []) {
    try {
      fn(detail);
    } catch (e) {
      console.error(e);
    }
  }
}

/** Whether the signed-in cashier is a manager or owner. */
export function isManager(c = S.cashier) {
  return !!c && (c.role === 'manager' || c.role === 'owner');
}
