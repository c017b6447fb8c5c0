// A widget request's queries as agent-lite's query API reads them: template variables
// substituted, and the `queries` + `formulas` form turned into one expression per formula
// (each query's name replaced by its text in parentheses; the API does the arithmetic).

// `$host` becomes `host:web-1` (the variable's prefix and value), `*` when "all" is chosen;
// `$host.value` becomes the bare value. A `*` next to other tags in a scope is dropped.
export function substitute(text, vars) {
  let out = String(text || "");
  for (const v of vars || []) {
    const value = v.value === undefined || v.value === null || v.value === "" ? "*" : v.value;
    out = out.split(`$${v.name}.value`).join(value);
    const term = value === "*" ? "*" : v.prefix ? `${v.prefix}:${value}` : value;
    out = out.replace(new RegExp(`\\$${v.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\b`, "g"), term);
  }
  return out.replace(/\{([^}]*)\}/g, (_, inner) => {
    const parts = inner.split(",").map((p) => p.trim()).filter(Boolean);
    const kept = parts.filter((p) => p !== "*");
    return `{${kept.length ? kept.join(",") : "*"}}`;
  });
}

// [{ q, label }] for one request of a timeseries, query_value or toplist widget.
export function requestQueries(req, vars) {
  if (req.q) return [{ q: substitute(req.q, vars), label: null }];
  const queries = req.queries || [];
  const byName = Object.fromEntries(queries.filter((q) => q.query).map((q) => [q.name, substitute(q.query, vars)]));
  const formulas = req.formulas && req.formulas.length ? req.formulas : queries.map((q) => ({ formula: q.name }));
  return formulas.map((f) => {
    const q = String(f.formula).replace(/[A-Za-z_][A-Za-z0-9_]*/g, (name) => (byName[name] !== undefined ? `(${byName[name]})` : name));
    return { q, label: f.alias || (f.formula !== q ? f.formula : null) };
  });
}

// The aggregator that reduces a request to one number (query_value, toplist): the request's
// own (`q` form), else its first query's (`queries` form, as Datadog's scalar requests have).
export function requestAggregator(req) {
  return req.aggregator || ((req.queries || []).find((q) => q.aggregator) || {}).aggregator || "avg";
}
