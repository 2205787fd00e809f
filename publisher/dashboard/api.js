// api.js - the dashboard's only way to the publisher: same-origin fetch of
// the /v1 JSON API with the session cookie. State changes carry the
// session's CSRF token in X-CSRF-Token (the server also checks Origin).

let csrf = null;

export function setCsrf(token) {
  csrf = token || null;
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(method, path, body) {
  const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  if (method !== 'GET' && csrf) opts.headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch(path, opts);
  } catch (e) {
    throw new ApiError(0, 'network', "We couldn't reach the publisher. Check that it is running and try again.");
  }
  let data = null;
  try {
    data = await res.json();
  } catch (e) {
    data = null;
  }
  if (!res.ok) {
    const msg = data && data.error && data.error.message ? data.error.message : `The publisher answered ${res.status}.`;
    throw new ApiError(res.status, data && data.error ? data.error.code : 'http', msg);
  }
  return data;
}

export const q = encodeURIComponent;
