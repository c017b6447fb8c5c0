// The page's time range. "Fit the data" (the default) spans what agent-lite has seen since
// it started, up to an hour, so a fresh lab's charts fill their width instead of drawing a
// sliver at the right edge of "Past 1 hour".

const MIN_FIT = 120;
const MAX_FIT = 3600;
let fitted = MAX_FIT;

const $range = () => document.getElementById("range");

export const nowSecs = () => Math.floor(Date.now() / 1000);

export function rangeSecs() {
  const v = $range() ? $range().value : "fit";
  if (v === "fit") return fitted;
  return Number(v) || 3600;
}

// Reads agent-lite's uptime: what exists starts then. A failure keeps the last fit.
export async function fitRange() {
  if (!$range() || $range().value !== "fit") return;
  try {
    const res = await fetch("/status", { headers: { Accept: "application/json" } });
    const status = await res.json();
    const up = Number(status.uptime_secs);
    if (Number.isFinite(up)) fitted = Math.min(MAX_FIT, Math.max(MIN_FIT, Math.ceil(up * 1.05) + 15));
  } catch (_) { /* keep the last fit */ }
}
