// Keyboard-wedge barcode scanners "type" the code very fast and press Enter. A burst of at
// least 4 printable keys, each under 50 ms after the one before, ending in Enter, is a scan,
// wherever the focus is. If the burst landed in a text field, it is taken back out of it, so a
// scan never pollutes what the cashier was typing.

const GAP_MS = 50;
const MIN_LEN = 4;
let buf = '';
let last = 0;
let target = null;
const handlers = []; // a stack: the refund dialog takes scans over the sell screen, then gives them back

/** Who gets scans now (the sell screen, the refund dialog). Returns a function that removes it. */
export function setScanHandler(fn) {
  handlers.push(fn);
  return () => {
    const i = handlers.lastIndexOf(fn);
    if (i >= 0) handlers.splice(i, 1);
  };
}

function isField(el) {
  return el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA') && !el.readOnly;
}

function onKey(e) {
  if (e.ctrlKey || e.altKey || e.metaKey) return;
  const now = performance.now();
  if (e.key === 'Enter') {
    const code = buf;
    const fast = now - last < GAP_MS * 2; // a scanner's Enter comes right after the last digit
    buf = '';
    const handler = handlers[handlers.length - 1];
    if (code.length >= MIN_LEN && fast && handler) {
      e.preventDefault();
      e.stopPropagation();
      if (isField(target) && target.value.endsWith(code)) {
        target.value = target.value.slice(0, -code.length);
        target.dispatchEvent(new Event('input', { bubbles: true }));
      }
      handler(code);
    }
    return;
  }
  if (e.key.length !== 1) {
    buf = '';
    return;
  }
  if (now - last > GAP_MS) {
    buf = '';
    target = document.activeElement;
  }
  buf += e.key;
  last = now;
}

/** Listen on the whole document (capture phase, before any field handles Enter). */
let started = false;
export function startScanner() {
  if (started) return;
  started = true;
  document.addEventListener('keydown', onKey, true);
}
