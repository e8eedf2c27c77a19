// Calls of the admin API, relative to the page (…/dashboard/ → …/api/), so the dashboard works
// wherever the handler is mounted. The token stays in this tab's sessionStorage.

const key = 'herald-token';

export const token = {
  get: () => sessionStorage.getItem(key),
  set: (t) => sessionStorage.setItem(key, t),
  clear: () => sessionStorage.removeItem(key),
};

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function api(path, { method = 'GET', body } = {}) {
  const headers = { accept: 'application/json' };
  const t = token.get();
  if (t) headers.authorization = `Bearer ${t}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(new URL(`../api/${path}`, location.href), {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, data.error ?? response.statusText);
  return data;
}
