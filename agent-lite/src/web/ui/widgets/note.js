// Note widget: its text, with Markdown's paragraphs, headings, bold, code and links (a
// small subset, written as text nodes and elements: nothing is parsed as HTML).

import { h } from "../lib/dom.js";

function inline(text) {
  const out = [];
  const re = /(\*\*[^*]+\*\*|`[^`]+`|\[[^\]]+\]\([^)]+\))/g;
  let last = 0;
  for (const m of text.matchAll(re)) {
    out.push(text.slice(last, m.index));
    const t = m[0];
    if (t.startsWith("**")) out.push(h("b", {}, t.slice(2, -2)));
    else if (t.startsWith("`")) out.push(h("code", {}, t.slice(1, -1)));
    else {
      const [, label, href] = t.match(/^\[([^\]]+)\]\(([^)]+)\)$/);
      out.push(/^(https?:|#|\/)/.test(href) ? h("a", { href }, label) : label);
    }
    last = m.index + t.length;
  }
  out.push(text.slice(last));
  return out;
}

export default function note(def) {
  const body = h("div", { class: "widget-body note", style: def.background_color && /^[a-z]+$/.test(def.background_color) ? `background:${def.background_color === "white" ? "#fff" : "#fafbfc"}` : "" });
  for (const para of String(def.content || "").split(/\n\s*\n/)) {
    const head = para.match(/^(#{1,3})\s+(.*)$/);
    body.append(head ? h(`h${head[1].length + 2}`, {}, inline(head[2])) : h("p", {}, inline(para)));
  }
  return body;
}
