#!/usr/bin/env bash
# Creates the lab's SLOs (compose/slos/*.json, Datadog's own SLO JSON) in a Datadog account,
# one POST /api/v1/slo each, then the `slo alert` monitors of compose/monitors/ that name
# them, with the lab's SLO ids replaced by the ids Datadog gave (Datadog picks SLO ids).
#
#   DD_API_KEY=... DD_APP_KEY=... DD_SITE=datadoghq.eu compose/import-slos.sh
#
# DD_APP_KEY (or DD_APPLICATION_KEY) needs the slos_write and monitors_write scopes.
# DD_SITE picks the API (api.$DD_SITE; default datadoghq.com); LAB_DATADOG_API_URL overrides it
# (agent-lite takes the same calls). The `(quick)` and lab-window slo alerts use windows
# shorter than Datadog allows (options.lab_short_windows): they are for the lab and are not
# sent.
# The keys stay off the command line and out of the output, as in import-monitors.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
  echo "import-slos: error: $*" >&2
  exit 1
}

api_key=${DD_API_KEY:-}
app_key=${DD_APP_KEY:-${DD_APPLICATION_KEY:-}}
[ -n "$api_key" ] || die "DD_API_KEY is not set (Organization settings > API keys)"
[ -n "$app_key" ] || die "DD_APP_KEY is not set (Organization settings > Application keys, scopes slos_write, monitors_write)"
command -v curl >/dev/null 2>&1 || die "curl is missing"
api=${LAB_DATADOG_API_URL:-https://api.${DD_SITE:-datadoghq.com}}
api=${api%/}

headers=$(mktemp)
body=$(mktemp)
sent=$(mktemp)
trap 'rm -f "$headers" "$body" "$sent"' EXIT
chmod 600 "$headers"
printf 'DD-API-KEY: %s\nDD-APPLICATION-KEY: %s\nContent-Type: application/json\n' "$api_key" "$app_key" >"$headers"

post() { # path file -> HTTP code, answer in $body
  curl -sS --max-time 30 -o "$body" -w '%{http_code}' -X POST -H "@$headers" \
    --data-binary "@$2" "$api$1" || echo 000
}

created=0
failed=0
declare -A ids=()
for f in compose/slos/*.json; do
  lab_id=$(sed -n 's/^[[:space:]]*"id"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$f" | head -1)
  # Datadog gives the id: the lab's own is left out of the request.
  sed '/^[[:space:]]*"id"[[:space:]]*:/d' "$f" >"$sent"
  code=$(post /api/v1/slo "$sent")
  if [ "${code:0:1}" = 2 ]; then
    id=$(sed -n 's/.*"id"[[:space:]]*:[[:space:]]*"\([0-9a-zA-Z_-]*\)".*/\1/p' "$body" | head -1)
    echo "import-slos: $f -> slo ${id:-?}"
    [ -n "$lab_id" ] && [ -n "$id" ] && ids[$lab_id]=$id
    created=$((created + 1))
  else
    echo "import-slos: $f refused (HTTP $code): $(head -c 400 "$body")" >&2
    failed=$((failed + 1))
  fi
done

for f in compose/monitors/*.json; do
  grep -q '"slo alert"' "$f" || continue
  grep -q '"lab_short_windows": *true' "$f" && continue
  cp "$f" "$sent"
  for lab_id in "${!ids[@]}"; do
    sed -i "s/(\\\\\"$lab_id\\\\\")/(\\\\\"${ids[$lab_id]}\\\\\")/g" "$sent"
  done
  code=$(post /api/v1/monitor "$sent")
  if [ "${code:0:1}" = 2 ]; then
    echo "import-slos: $f -> monitor $(sed -n 's/.*"id"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$body" | head -1)"
    created=$((created + 1))
  else
    echo "import-slos: $f refused (HTTP $code): $(head -c 400 "$body")" >&2
    failed=$((failed + 1))
  fi
done
echo "import-slos: $created created, $failed refused, at $api"
[ "$failed" = 0 ]
