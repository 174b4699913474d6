// Talk to the HTTP API; errors become one readable line taken from the server's "detail".

const TOKEN_KEY = "ghostcandle.token";

function token() {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
  return sessionStorage.getItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const t = token();
  if (method !== "GET") {
    // the server refuses state-changing requests without it: other sites cannot send it
    headers["X-Ghostcandle"] = "1";
    if (t) headers["X-Ghostcandle-Token"] = t;
  }
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, `cannot reach the ghostcandle server (${e.message}): is it running?`);
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text };
  }
  if (!res.ok) {
    const detail = data && typeof data.detail === "string" ? data.detail : `HTTP ${res.status}`;
    throw new ApiError(res.status, detail);
  }
  return data;
}

export const get = (path) => api("GET", path);
export const post = (path, body) => api("POST", path, body ?? {});
export const patch = (path, body) => api("PATCH", path, body);
export const del = (path) => api("DELETE", path);
