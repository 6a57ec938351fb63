// The till's copy of the catalog: GET /pos/api/items page by page into IndexedDB and memory,
// so browsing is instant and selling goes on offline. Items only: no customer data here.
import { S, emit } from './state.js';
import { get, ApiError } from './api.js';
import { replaceItems, loadCatalog } from './db.js';

let items = [];
const byId = new Map();
const byCode = new Map();
export let categories = [];
let syncing = null;

function index(list, cats) {
  items = list;
  categories = cats || [];
  byId.clear();
  byCode.clear();
  for (const it of list) {
    byId.set(it.variant_id, it);
    if (it.sku) byCode.set(it.sku, it);
    if (it.barcode) byCode.set(it.barcode, it);
  }
  emit('catalog');
}

/** Load what IndexedDB holds (at start, before the server answers). */
export async function loadCached() {
  try {
    const c = await loadCatalog();
    index(c.items, c.categories);
  } catch (_) {
    /* no IndexedDB: online only */
  }
}

/** Fetch the whole catalog again (one sync at a time). Resolves false when offline. */
export function syncCatalog() {
  if (!syncing) {
    syncing = (async () => {
      const all = [];
      let after = '';
      let cats = [];
      for (let page = 0; page < 1000; page++) {
        const q = new URLSearchParams({ limit: '500' });
        if (after) q.set('after', after);
        const r = await get(`/pos/api/items?${q}`);
        all.push(...(r.items || []));
        if (r.categories) cats = r.categories;
        if (!r.next) break;
        after = r.next;
      }
      index(all, cats);
      await replaceItems(all, cats).catch(() => {});
      return true;
    })().catch((e) => {
      if (e instanceof ApiError && e.offline) return false;
      throw e;
    }).finally(() => {
      syncing = null;
    });
  }
  return syncing;
}

/** A cached item by variant id. */
export const itemById = (id) => byId.get(id) || null;

/** A scanned or typed code (barcode or SKU, exact): the server when online, else the cache. */
export async function findByCode(code) {
  if (S.online) {
    try {
      const r = await get(`/pos/api/code/${encodeURIComponent(code)}`);
      return r.item || null;
    } catch (e) {
      if (e.status === 404) return null;
      if (!e.offline) throw e;
    }
  }
  return byCode.get(code) || byCode.get(code.toUpperCase()) || null;
}

/** Items in a category (or all) whose name or SKU contains `q`, from the cache. */
export function browse(category, q = '', limit = 120) {
  const needle = q.trim().toLowerCase();
  const out = [];
  for (const it of items) {
    if (category && it.category_id !== category) continue;
    if (needle && !it.name.toLowerCase().includes(needle) && !(it.sku || '').toLowerCase().includes(needle)
      && it.barcode !== q.trim()) continue;
    out.push(it);
    if (out.length >= limit) break;
  }
  return out;
}

/** Search by name/SKU: the server when online (fresh stock), the cache otherwise. */
export async function search(q, category) {
  if (S.online && q.trim()) {
    try {
      const p = new URLSearchParams({ q: q.trim() });
      if (category) p.set('category', category);
      const r = await get(`/pos/api/search?${p}`);
      return r.items || [];
    } catch (e) {
      if (!e.offline) throw e;
    }
  }
  return browse(category, q, 60);
}
