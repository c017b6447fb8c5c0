// A dashboard's template variables (`$host`, `$service`, `$env`): the values chosen on the
// page, kept per dashboard across the live refresh, and the bar of inputs that changes them.

import { h } from "./dom.js";

// dashboard id → { variable name → chosen value }.
const chosen = new Map();

// The variables with their current value: `fixed` (a view's own choice, such as the APM
// view's service), else the one chosen in the bar, else the dashboard's `default` or first of `defaults`,
// else `*` (every value).
export function currentVars(dash, fixed = {}) {
  const mine = chosen.get(dash.id || "new") || {};
  return (dash.template_variables || []).map((v) => ({ ...v, value: fixed[v.name] ?? mine[v.name] ?? v.default ?? (v.defaults || [])[0] ?? "*" }));
}

// The variables and a bar of inputs for those not in `fixed`; a change re-renders.
export function variables(dash, rerender, fixed = {}) {
  const vars = currentVars(dash, fixed);
  const shown = vars.filter((v) => !(v.name in fixed));
  const bar = shown.length ? h("div", { class: "filters template-vars" }, shown.map((v) => h("label", {}, `$${v.name} `,
    h("input", { class: "tvar", "data-var": v.name, value: v.value, size: 14, list: `tv-${v.name}`, onchange: (e) => {
      const c = chosen.get(dash.id || "new") || {};
      c[v.name] = e.target.value || "*";
      chosen.set(dash.id || "new", c);
      rerender();
    } }), h("datalist", { id: `tv-${v.name}` }, ["*", ...(v.available_values || [])].map((o) => h("option", { value: o })))))) : null;
  return { vars, bar };
}
