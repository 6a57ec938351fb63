// The till's service worker (scope /pos/): keeps the app shell (the /pos page, its JS and CSS)
// so the till starts without a connection. Network first, so a new version is picked up at
// once when online. API calls, receipts and reports are never cached: they go to the network.
const CACHE = 'storefort-pos-shell-v1';
// Every module: the first visit loads them before this worker controls the page.
const SHELL = [
  '/pos',
  '/pos/static/pos.css',
  '/pos/static/api.js',
  '/pos/static/app.js',
  '/pos/static/approve.js',
  '/pos/static/cart.js',
  '/pos/static/cartview.js',
  '/pos/static/catalog.js',
  '/pos/static/customer.js',
  '/pos/static/db.js',
  '/pos/static/discount.js',
  '/pos/static/lock.js',
  '/pos/static/offline.js',
  '/pos/static/pair.js',
  '/pos/static/pay.js',
  '/pos/static/pinpad.js',
  '/pos/static/pricing.js',
  '/pos/static/receipt.js',
  '/pos/static/refund.js',
  '/pos/static/scanner.js',
  '/pos/static/sell.js',
  '/pos/static/shift.js',
  '/pos/static/state.js',
  '/pos/static/ui.js',
  '/pos/static/wipe.js',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).catch(() => {}).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

function cacheable(url) {
  return url.origin === self.location.origin && (url.pathname === '/pos' || url.pathname === '/pos/' || url.pathname.startsWith('/pos/static/'));
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (!cacheable(url)) return;
  const key = url.pathname === '/pos/' || url.pathname === '/pos' ? '/pos' : url.pathname;
  event.respondWith(fetch(req).then((res) => {
    if (res.ok) {
      const copy = res.clone();
      caches.open(CACHE).then((c) => c.put(key, copy)).catch(() => {});
    }
    return res;
  }).catch(() => caches.match(key).then((hit) => hit || Response.error())));
});
