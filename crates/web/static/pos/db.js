// IndexedDB: the catalog cache (no customer data), the offline sales queue and parked carts.
// Every function resolves even when IndexedDB is unavailable (private mode): the till then
// works online only.

export const DB_NAME = 'storefort-pos';
const VERSION = 1;
let dbp = null;

function open() {
  if (!dbp) {
    dbp = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        const items = db.createObjectStore('items', { keyPath: 'variant_id' });
        items.createIndex('sku', 'sku');
        items.createIndex('barcode', 'barcode');
        db.createObjectStore('meta');
        db.createObjectStore('queue', { keyPath: 'key' });
        db.createObjectStore('parked', { keyPath: 'id' });
      };
      req.onsuccess = () => {
        const db = req.result;
        // A wipe in another tab deletes the database: let it.
        db.onversionchange = () => {
          db.close();
          dbp = null;
        };
        resolve(db);
      };
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error('database blocked'));
    });
    dbp.catch(() => {
      dbp = null;
    });
  }
  return dbp;
}

/** Close the connection so the wipe can delete the database. */
export function closeDb() {
  if (dbp) dbp.then((db) => db.close()).catch(() => {});
  dbp = null;
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = tx.onabort = () => reject(tx.error || new Error('transaction failed'));
  });
}

function result(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function run(store, mode, fn) {
  const db = await open();
  const tx = db.transaction(store, mode);
  const out = fn(tx.objectStore(store));
  await done(tx);
  return out instanceof IDBRequest ? out.result : out;
}

/** Replace the whole catalog cache in one transaction (items removed on the server go too). */
export async function replaceItems(items, categories) {
  const db = await open();
  const tx = db.transaction(['items', 'meta'], 'readwrite');
  const st = tx.objectStore('items');
  st.clear();
  for (const it of items) st.put(it);
  tx.objectStore('meta').put(categories || [], 'categories');
  tx.objectStore('meta').put(Date.now(), 'catalog_synced_at');
  await done(tx);
}

/** Every cached item and the categories, for the in-memory catalog. */
export async function loadCatalog() {
  const db = await open();
  const tx = db.transaction(['items', 'meta'], 'readonly');
  const items = result(tx.objectStore('items').getAll());
  const cats = result(tx.objectStore('meta').get('categories'));
  const at = result(tx.objectStore('meta').get('catalog_synced_at'));
  await done(tx);
  return { items: await items, categories: (await cats) || [], syncedAt: (await at) || 0 };
}

/** Offline queue: add one sale {key, body, status: 'pending'|'refused', message, created_at}. */
export const addQueued = (sale) => run('queue', 'readwrite', (st) => st.put(sale));
export const updateQueued = (sale) => run('queue', 'readwrite', (st) => st.put(sale));
export const removeQueued = (key) => run('queue', 'readwrite', (st) => st.delete(key));
/** Queued sales, oldest first (sync keeps the order they were rung up in). */
export async function listQueued() {
  const all = await run('queue', 'readonly', (st) => st.getAll());
  return (all || []).sort((a, b) => a.created_at - b.created_at);
}

/** Parked carts: {id, label, parked_at, parked_by, cart}. */
export const saveParked = (p) => run('parked', 'readwrite', (st) => st.put(p));
export const removeParked = (id) => run('parked', 'readwrite', (st) => st.delete(id));
export async function listParked() {
  const all = await run('parked', 'readonly', (st) => st.getAll());
  return (all || []).sort((a, b) => a.parked_at - b.parked_at);
}
