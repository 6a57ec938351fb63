// The sell screen: category tabs, search by name/SKU, the product grid (large touch targets)
// and the cart panel. Barcode scans add items from anywhere on this screen.
import { S, on } from './state.js';
import { h, fill, money, toast, modalOpen } from './ui.js';
import { addItem } from './cart.js';
import { browse, search, categories, findByCode } from './catalog.js';
import { cartPanel } from './cartview.js';
import { setScanHandler } from './scanner.js';
import { openRefund } from './refund.js';
import { openShift } from './shift.js';

/** Tiles shown for a category without a search (a big catalog is searched, not scrolled). */
const BROWSE_LIMIT = 120;

let category = '';
let query = '';

/** Render the sell screen into `root`. */
export function renderSell(root) {
  const grid = h('div', { class: 'grid', test: 'product-grid', role: 'list' });
  const tabs = h('nav', { class: 'tabs', test: 'category-tabs', 'aria-label': 'Categories' });
  const input = h('input', {
    id: 'search', test: 'search', type: 'search', placeholder: 'Search name or SKU', autocomplete: 'off',
    'aria-label': 'Search products', value: query,
  });
  let seq = 0;
  const showItems = async () => {
    const mine = ++seq;
    let list;
    try {
      list = query.trim() ? await search(query, category) : browse(category, '', BROWSE_LIMIT);
    } catch (e) {
      toast(e.message, 'error');
      return;
    }
    if (mine !== seq) return; // a newer search finished first
    fill(grid, ...list.map(tile));
    if (!list.length) grid.append(h('p', { class: 'empty' }, query ? 'Nothing matches.' : 'No items here yet.'));
    if (!query.trim() && list.length >= BROWSE_LIMIT) {
      grid.append(h('p', { class: 'empty', test: 'more-items' },
        `Showing the first ${BROWSE_LIMIT}. Choose a category or search to find the rest.`));
    }
  };
  const showTabs = () => {
    const tab = (id, name) => h('button', {
      type: 'button', class: `tab${category === id ? ' active' : ''}`, test: 'category-tab', dataset: { id },
      'aria-pressed': String(category === id),
      onclick: () => { category = id; showTabs(); showItems(); },
    }, name);
    fill(tabs, tab('', 'All'), ...categories.map((c) => tab(c.id, c.name)));
  };
  let timer = null;
  input.addEventListener('input', () => {
    query = input.value;
    clearTimeout(timer);
    timer = setTimeout(showItems, S.online ? 200 : 50);
  });
  input.addEventListener('keydown', async (e) => {
    // Enter in the search box with an exact code adds it, like a scan typed by hand.
    if (e.key === 'Enter' && input.value.trim()) {
      e.preventDefault();
      const it = await findByCode(input.value.trim()).catch(() => null);
      if (it) {
        addItem(it);
        input.value = '';
        query = '';
        showItems();
      }
    }
  });
  const shiftNote = S.shift ? null : h('div', { class: 'banner', test: 'no-shift' }, 'No shift is open on this till. ',
    h('button', { type: 'button', class: 'btn small', onclick: openShift }, 'Open shift'));
  const screen = h('section', { class: 'sell', id: 'sell-screen', test: 'sell-screen' },
    h('div', { class: 'catalog' },
      h('div', { class: 'toolbar' }, input,
        h('button', { type: 'button', class: 'btn', test: 'refund-open', onclick: () => openRefund() }, 'Refund'),
        h('button', { type: 'button', class: 'btn', test: 'shift-open', onclick: openShift }, 'Shift')),
      shiftNote, tabs, grid),
    cartPanel());
  fill(root, screen);
  showTabs();
  showItems();
  const offCat = on('catalog', () => {
    if (!screen.isConnected) return offCat();
    showTabs();
    if (!query) showItems();
  });
  const offShift = on('shift', () => {
    if (!screen.isConnected) return offShift();
    if (S.shift && shiftNote) shiftNote.remove();
  });
  const offScan = setScanHandler(async (code) => {
    if (!screen.isConnected) return offScan();
    if (modalOpen()) return; // paying, refunding...: a stray scan must not change the sale
    try {
      const it = await findByCode(code);
      if (it) {
        addItem(it);
        toast(`Added ${it.name}`, 'ok');
      } else toast(`No item has the code ${code}.`, 'error');
    } catch (e) {
      toast(e.message, 'error');
    }
  });
}

function tile(it) {
  return h('button', {
    type: 'button', class: `tile${it.stock <= 0 ? ' out' : ''}`, role: 'listitem', test: 'product',
    dataset: { sku: it.sku, id: it.variant_id },
    onclick: () => addItem(it),
  }, h('span', { class: 'tile-name' }, it.name),
  h('span', { class: 'tile-price' }, money(it.price_minor)),
  h('small', { class: 'tile-stock' }, it.stock <= 0 ? 'Out of stock' : `${it.stock} in stock`));
}
