// Thin wrappers over the Onemap server's JSON endpoints, and the credentials every request
// carries. Paths are root-relative so the viewer works behind any host/port the server is
// started on.
//
// Two ways of being signed in, whichever the server offers:
// - a cookie session (`onemap_session`, HttpOnly, sent by the browser on its own) with a CSRF
//   value (`onemap_csrf` cookie and the login answer's `csrf`) that unsafe requests repeat in
//   the `X-CSRF-Token` header;
// - a bearer token (the login answer's `token`), kept in sessionStorage for this tab only and
//   sent as `Authorization: Bearer …` by fetch and by MapLibre (transformRequest) for tiles,
//   TileJSON and the style.

const TOKEN_KEY = 'onemap.token';
const CSRF_KEY = 'onemap.csrf';

function storage() {
  try { return window.sessionStorage; } catch { return null; }
}

/** The bearer token of this tab, or null. */
export function bearerToken() {
  return storage()?.getItem(TOKEN_KEY) ?? null;
}

/** The CSRF value: the readable cookie if the server set one, else the one login answered. */
export function csrfToken() {
  const cookie = document.cookie.split(';').map((c) => c.trim()).find((c) => c.startsWith('onemap_csrf='));
  if (cookie) return decodeURIComponent(cookie.slice('onemap_csrf='.length));
  return storage()?.getItem(CSRF_KEY) ?? null;
}

/** Remembers what `POST /api/login` answered (token and/or csrf). */
export function rememberLogin(answer) {
  const s = storage();
  if (!s) return;
  s.removeItem(TOKEN_KEY);
  s.removeItem(CSRF_KEY);
  // A cookie session wins: the token (if any) would be a second, longer-lived credential.
  if (answer?.csrf) s.setItem(CSRF_KEY, answer.csrf);
  else if (answer?.token) s.setItem(TOKEN_KEY, answer.token);
}

/** Forgets this tab's credentials (the server forgets the session on logout). */
export function forgetLogin() {
  const s = storage();
  s?.removeItem(TOKEN_KEY);
  s?.removeItem(CSRF_KEY);
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Headers for a request to our own server: bearer token, CSRF on unsafe methods. */
export function authHeaders(method = 'GET') {
  const headers = {};
  const token = bearerToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const csrf = UNSAFE.has(method.toUpperCase()) ? csrfToken() : null;
  if (csrf) headers['X-CSRF-Token'] = csrf;
  return headers;
}

/** Whether `url` points at the server that served the page (credentials go nowhere else). */
export const sameOrigin = (url) => {
  try { return new URL(url, window.location.href).origin === window.location.origin; } catch { return false; }
};

/** MapLibre `transformRequest`: our credentials on requests to our own server. */
export function transformRequest(url) {
  if (!sameOrigin(url) || !bearerToken()) return { url };
  return { url, headers: authHeaders('GET') };
}

/** fetch() on our server with the credentials added; `init.headers` wins on conflicts. */
export function apiFetch(path, init = {}) {
  const method = init.method ?? 'GET';
  return fetch(path, {
    credentials: 'same-origin',
    ...init,
    headers: { ...authHeaders(method), ...(init.headers ?? {}) },
  });
}

/** The error message of a failed response: its JSON `error`, else its text, else the status. */
async function failure(method, path, res) {
  let detail = '';
  try {
    const text = await res.text();
    try { detail = JSON.parse(text).error ?? text; } catch { detail = text; }
  } catch { /* no body */ }
  const err = new Error(`${method} ${path}: ${res.status}${detail ? ` ${String(detail).slice(0, 200)}` : ''}`);
  err.status = res.status;
  // Seconds to wait, when the server says (429 after too many failed sign-ins).
  err.retryAfter = Number(res.headers.get('Retry-After')) || null;
  return err;
}

export async function getJson(path) {
  const res = await apiFetch(path, { headers: { Accept: 'application/json' } });
  if (!res.ok) throw await failure('GET', path, res);
  return res.json();
}

export async function postJson(path, body) {
  const res = await apiFetch(path, {
    method: 'POST',
    headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  if (!res.ok) throw await failure('POST', path, res);
  return res.json().catch(() => ({}));
}

/** GET as a Blob (CSV exports: fetched with the credentials, then saved). */
export async function getBlob(path) {
  const res = await apiFetch(path);
  if (!res.ok) throw await failure('GET', path, res);
  return res.blob();
}

/** POST a JSON body, the answer as a Blob (CSV exports of an ad-hoc zone's figures). */
export async function postBlob(path, body) {
  const res = await apiFetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw await failure('POST', path, res);
  return res.blob();
}

// With a bearer token the index.html preloads (made without it) hold the public view, and
// Chromium hands a preloaded response to a fetch of the same URL whatever its headers: ask
// under another URL (the server ignores the query) and past the HTTP cache. A cookie session
// needs none of this: the preloads carry the cookie.
const fresh = (path) => (bearerToken() ? getJsonFresh(`${path}?as=bearer`) : getJson(path));
async function getJsonFresh(path) {
  const res = await apiFetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store' });
  if (!res.ok) throw await failure('GET', path, res);
  return res.json();
}

/** The layer catalog: layers with department, theme and versions (newest first). */
export const fetchCatalog = () => fresh('/api/layers');

/** GB/T 21010 land classes plus the survey's working classes, with their map colours. */
export const fetchLandClasses = () => getJson('/api/land-classes');

/** The MapLibre style the server builds from the catalog. */
export const fetchStyle = () => fresh('/style.json');

/** Who the server thinks we are: `{user: null}` when anonymous. */
export const fetchMe = () => getJson('/api/me');
