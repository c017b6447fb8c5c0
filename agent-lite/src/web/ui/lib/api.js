// agent-lite's own JSON API, the one the tests and the harness read.

import { nowSecs, rangeSecs } from "./range.js";

export async function api(path, init) {
  const res = await fetch(path, { ...(init || {}), headers: { Accept: "application/json", ...((init && init.headers) || {}) } });
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const msg = body && body.errors ? body.errors.join("; ") : res.statusText;
    const err = new Error(`${path}: ${msg}`);
    err.status = res.status;
    err.body = body;
    throw err;
  }
  return body;
}

// The series of one metric query over the page's time range (or the given one).
export async function query(q, from, to) {
  to = to || nowSecs();
  from = from || to - rangeSecs();
  const body = await api(`/api/v1/query?from=${from}&to=${to}&query=${encodeURIComponent(q)}`);
  return body.series || [];
}
