// Calls to the box's API: the session cookie goes by itself; every state change carries the
// session's CSRF token in a header (a cross-site form cannot set one).
let csrf = '';
export const setCsrf = (c) => {
  csrf = c || '';
};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(path, opts = {}) {
  const method = opts.method || 'GET';
  const headers = {};
  let body;
  if (opts.body !== undefined) {
    const text = typeof opts.body === 'string';
    headers['content-type'] = text ? 'text/plain' : 'application/json';
    body = text ? opts.body : JSON.stringify(opts.body);
  }
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  let r;
  try {
    r = await fetch(path, { method, headers, body, credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'NETWORK', String(e.message || e));
  }
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new ApiError(r.status, data.error?.code, data.error?.message || r.statusText);
  return data;
}
