// Small DOM helpers shared by every view and widget: element building, number and time
// formatting, the view frame.

export const COLORS = ["#632ca6", "#1f7ae0", "#e5a50a", "#2e9e5b", "#d63c3c", "#00a2b3", "#8a5a00", "#b04ab0"];
export const LEVEL = { warning: "#e5a50a", critical: "#d63c3c" };

const $view = () => document.getElementById("view");

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// `replaceChildren` turns a null into the text "null": drop the absent parts first.
export function fill(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
  return el;
}

export const fmt = (v, digits = 2) => {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(1) + "G";
  if (a >= 1e6) return (v / 1e6).toFixed(1) + "M";
  if (a >= 1e4) return (v / 1e3).toFixed(1) + "k";
  if (a >= 100) return v.toFixed(0);
  return Number(v.toFixed(digits)).toString();
};
export const time = (secs) => new Date(secs * 1000).toLocaleTimeString();
export const dateTime = (secs) => new Date(secs * 1000).toLocaleString();
export const badge = (state) => h("span", { class: `badge ${String(state).replace(" ", "")}` }, state);

export function panel(title, unit, ...body) {
  return h("section", { class: "panel" }, h("h2", {}, title, unit ? h("span", { class: "unit" }, ` (${unit})`) : null), ...body);
}

export function setView(title, ...children) {
  fill($view(), h("h1", {}, title), ...children);
}

export function failure(e) {
  return h("p", { class: "muted" }, `Could not load: ${e.message}`);
}

// A search form whose fields become the hash's query string.
export function searchForm(view, ...fields) {
  return h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); const f = new FormData(e.target); const q = new URLSearchParams(); for (const [k, v] of f) if (v) q.set(k, v); location.hash = `#/${view}?${q}`; } },
    ...fields, h("button", { type: "submit" }, "Search"));
}
