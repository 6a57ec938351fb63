// DOM and formatting helpers. Everything is built with createElement + textContent, so no
// server or user text is ever parsed as HTML.
import { S } from './state.js';

/** Build an element: h('button', {class: 'big', onclick: fn, dataset: {test: 'x'}}, 'Text', child). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'test') el.dataset.test = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let fmt = null;
let fmtCurrency = '';

function formatter() {
  if (!fmt || fmtCurrency !== S.shop.currency) {
    fmtCurrency = S.shop.currency || 'USD';
    try {
      fmt = new Intl.NumberFormat(undefined, { style: 'currency', currency: fmtCurrency });
    } catch (_) {
      fmt = new Intl.NumberFormat(undefined, { style: 'currency', currency: 'USD' });
    }
  }
  return fmt;
}

/** Digits after the decimal point for the shop currency (2 for EUR, 0 for JPY). */
export function fractionDigits() {
  return formatter().resolvedOptions().maximumFractionDigits;
}

/** Format integer minor units. Division happens only for display, never for arithmetic. */
export function money(minor) {
  const d = fractionDigits();
  return formatter().format(Number(minor) / 10 ** d);
}

/** Parse what a person typed ("12", "12.5", "12,50") into minor units, or null. No floats. */
export function parseMoney(text) {
  let s = String(text || '').trim().replace(/[\s\u00a0]/g, '').replace(/[^\d.,-]/g, '');
  if (!s.includes('.') && (s.match(/,/g) || []).length === 1) s = s.replace(',', '.');
  else s = s.replace(/,/g, '');
  const d = fractionDigits();
  const m = s.match(d > 0 ? new RegExp(`^(\\d{1,12})(?:\\.(\\d{0,${d}}))?$`) : /^(\d{1,12})$/);
  if (!m) return null;
  const frac = (m[2] || '').padEnd(d, '0');
  return Number(m[1]) * 10 ** d + (d > 0 ? Number(frac) : 0);
}

/** Minor units as a plain input value ("12.50"). */
export function moneyInput(minor) {
  const d = fractionDigits();
  if (d === 0) return String(minor);
  const s = String(Math.abs(minor)).padStart(d + 1, '0');
  return `${minor < 0 ? '-' : ''}${s.slice(0, -d)}.${s.slice(-d)}`;
}

/** A short message at the bottom of the screen. kind: info | ok | error. */
export function toast(message, kind = 'info') {
  let box = document.getElementById('toasts');
  if (!box) {
    box = h('div', { id: 'toasts', 'aria-live': 'polite' });
    document.body.append(box);
  }
  const t = h('div', { class: `toast toast-${kind}`, test: 'toast', role: kind === 'error' ? 'alert' : 'status' }, message);
  box.append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 7000 : 3500);
}

const modals = new Set();

/**
 * Open a dialog over the screen. Returns {el, body, close}. `onClose` runs once.
 * Dialogs are removed from the DOM (not hidden) when the till locks.
 */
export function modal(title, { test = 'modal', onClose = null, wide = false } = {}) {
  const body = h('div', { class: 'modal-body' });
  const closeBtn = h('button', { class: 'icon-btn', type: 'button', 'aria-label': 'Close', test: 'modal-close' }, '×');
  const box = h('div', { class: `modal${wide ? ' wide' : ''}`, role: 'dialog', 'aria-modal': 'true', 'aria-label': title, test },
    h('div', { class: 'modal-head' }, h('h2', {}, title), closeBtn), body);
  const el = h('div', { class: 'overlay' }, box);
  let closed = false;
  const m = {
    el,
    body,
    close() {
      if (closed) return;
      closed = true;
      modals.delete(m);
      el.remove();
      if (onClose) onClose();
    },
  };
  closeBtn.addEventListener('click', () => m.close());
  el.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') m.close();
  });
  modals.add(m);
  document.body.append(el);
  return m;
}

/** Close every dialog (used by the lock: nothing stays in the DOM). */
export function closeAllModals() {
  for (const m of [...modals]) m.close();
}

/** Whether a dialog is open (the barcode scanner then leaves the sell screen alone). */
export function modalOpen() {
  return modals.size > 0;
}

/** An error line for a form; set(text) shows, set('') hides. */
export function errorLine(test = 'form-error') {
  const el = h('p', { class: 'form-error', role: 'alert', test, hidden: true });
  el.set = (text) => {
    el.textContent = text || '';
    el.hidden = !text;
  };
  return el;
}

/** Format a UTC ms time in the device's locale. */
export function when(ms) {
  if (!ms) return '';
  return new Date(ms).toLocaleString();
}
