// The one way the till talks to the server. Adds the CSRF header and the cashier token,
// sends and reads JSON, and turns the server's 401s into app-wide actions (wipe, lock, pair).
import { S, emit } from './state.js';

const LAST_CONTACT = 'sf_pos_last_contact';

/** An answer that was not 2xx, or no answer at all (code "offline"). */
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || (status === 0 ? 'The shop server cannot be reached.' : `Request failed (${status}).`));
    this.status = status;
    this.code = (body && body.error) || (status === 0 ? 'offline' : 'http_' + status);
    this.field = body && body.field;
    this.body = body || {};
  }
  get offline() {
    return this.status === 0;
  }
}

const handlers = { revoked: null, locked: null, notPaired: null };

/** app.js registers what to do on 401 device_revoked / locked / not_paired. */
export function setHandlers(h) {
  Object.assign(handlers, h);
}

/** When the server last answered (ms, device clock), from localStorage. */
export function lastContact() {
  return Number(localStorage.getItem(LAST_CONTACT) || 0);
}

function contacted() {
  try {
    localStorage.setItem(LAST_CONTACT, String(Date.now()));
  } catch (_) {
    /* storage full or wiped: grace check then falls back to "never" */
  }
  setOnline(true);
}

/** Flip the online flag and tell the status bar. */
export function setOnline(v) {
  if (S.online !== v) {
    S.online = v;
    emit('online', v);
  }
}

/**
 * Call the API. `opts.cashier` (default true) sends the cashier token.
 * Resolves with the parsed JSON (or null for 204); rejects with ApiError.
 */
export async function api(method, path, body, opts = {}) {
  if (S.wiped) throw new ApiError(401, { error: 'device_revoked' });
  const headers = { 'X-POS-Request': '1', Accept: 'application/json' };
  const token = opts.token !== undefined ? opts.token : S.token;
  if (opts.cashier !== false && token) headers['X-POS-Cashier'] = token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), opts.timeout || 15000);
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal: ctl.signal,
    });
  } catch (_) {
    setOnline(false);
    throw new ApiError(0, null);
  } finally {
    clearTimeout(timer);
  }
  // A gateway in front of the server answering for it is not the server.
  if (res.status === 502 || res.status === 503 || res.status === 504) {
    setOnline(false);
    throw new ApiError(0, null);
  }
  contacted();
  let data = null;
  const text = await res.text().catch(() => '');
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (_) {
      data = null;
    }
  }
  if (res.ok) return data;
  const err = new ApiError(res.status, data);
  if (res.status === 401) {
    if (err.code === 'device_revoked' && handlers.revoked) handlers.revoked(err);
    else if (err.code === 'locked' && handlers.locked && !opts.noLockHandler) handlers.locked(err);
    else if (err.code === 'not_paired' && handlers.notPaired) handlers.notPaired(err);
  }
  throw err;
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body, opts) => api('POST', path, body === undefined ? {} : body, opts);
