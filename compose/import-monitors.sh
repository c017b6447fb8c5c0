#!/usr/bin/env bash
# Creates the lab's monitors (compose/monitors/*.json, Datadog's own monitor JSON) in a Datadog
# account, one POST /api/v1/monitor each, as Datadog's API documents it.
#
#   DD_API_KEY=... DD_APP_KEY=... DD_SITE=datadoghq.eu compose/import-monitors.sh [FILE...]
#
# DD_APP_KEY (or DD_APPLICATION_KEY) is an application key with the monitors_write scope.
# DD_SITE picks the API (api.$DD_SITE; default datadoghq.com); LAB_DATADOG_API_URL overrides it
# (the lab's end-to-end test points it at agent-lite, which takes the same call).
# Only `(quick)` monitors? Pass their files: compose/monitors/*-quick.json.
#
# The keys never reach the command line (other users of the machine could read it in `ps`)
# nor the output: curl reads the headers from a file only this user can read.
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
  echo "import-monitors: error: $*" >&2
  exit 1
}

api_key=${DD_API_KEY:-}
app_key=${DD_APP_KEY:-${DD_APPLICATION_KEY:-}}
[ -n "$api_key" ] || die "DD_API_KEY is not set (Organization settings > API keys)"
[ -n "$app_key" ] || die "DD_APP_KEY is not set (Organization settings > Application keys, scope monitors_write)"
command -v curl >/dev/null 2>&1 || die "curl is missing"
api=${LAB_DATADOG_API_URL:-https://api.${DD_SITE:-datadoghq.com}}
api=${api%/}

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  # The `slo alert` monitors name SLOs by the ids Datadog gives them: import-slos.sh sends them.
  for f in compose/monitors/*.json; do
    grep -q '"slo alert"' "$f" || files+=("$f")
  done
fi

headers=$(mktemp)
body=$(mktemp)
trap 'rm -f "$headers" "$body"' EXIT
chmod 600 "$headers"
printf 'DD-API-KEY: %s\nDD-APPLICATION-KEY: %s\nContent-Type: application/json\n' "$api_key" "$app_key" >"$headers"

created=0
failed=0
for f in "${files[@]}"; do
  [ -f "$f" ] || die "$f: no such file"
  # Bounded: a stuck network must not hang the script.
  code=$(curl -sS --max-time 30 -o "$body" -w '%{http_code}' -X POST -H "@$headers" \
    --data-binary "@$f" "$api/api/v1/monitor") || code=000
  if [ "${code:0:1}" = 2 ]; then
    id=$(sed -n 's/.*"id"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$body" | head -1)
    echo "import-monitors: $f -> monitor ${id:-?}"
    created=$((created + 1))
  else
    echo "import-monitors: $f refused (HTTP $code): $(head -c 400 "$body")" >&2
    failed=$((failed + 1))
  fi
done
echo "import-monitors: $created created, $failed refused, at $api"
[ "$failed" = 0 ]
