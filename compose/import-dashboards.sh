#!/usr/bin/env bash
# Creates the lab's dashboards (compose/dashboards/*.json, Datadog's own dashboard JSON) in a
# Datadog account, one POST /api/v1/dashboard each. A dashboard exported from agent-lite's page
# is imported the same way: pass its file.
#
#   DD_API_KEY=... DD_APP_KEY=... DD_SITE=datadoghq.eu compose/import-dashboards.sh [FILE...]
#
# DD_APP_KEY (or DD_APPLICATION_KEY) is an application key with the dashboards_write scope.
# DD_SITE picks the API (api.$DD_SITE; default datadoghq.com); LAB_DATADOG_API_URL overrides it
# (the lab's end-to-end test points it at agent-lite, which takes the same call).
#
# The keys never reach the command line (other users of the machine could read it in `ps`)
# nor the output: curl reads the headers from a file only this user can read.
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
  echo "import-dashboards: error: $*" >&2
  exit 1
}

api_key=${DD_API_KEY:-}
app_key=${DD_APP_KEY:-${DD_APPLICATION_KEY:-}}
[ -n "$api_key" ] || die "DD_API_KEY is not set (Organization settings > API keys)"
[ -n "$app_key" ] || die "DD_APP_KEY is not set (Organization settings > Application keys, scope dashboards_write)"
command -v curl >/dev/null 2>&1 || die "curl is missing"
api=${LAB_DATADOG_API_URL:-https://api.${DD_SITE:-datadoghq.com}}
api=${api%/}

files=("$@")
[ ${#files[@]} -gt 0 ] || files=(compose/dashboards/*.json)

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
    --data-binary "@$f" "$api/api/v1/dashboard") || code=000
  if [ "${code:0:1}" = 2 ]; then
    # Datadog's dashboard ids read abc-def-ghi.
    id=$(grep -o '"id"[[:space:]]*:[[:space:]]*"[a-z0-9]\{3\}-[a-z0-9]\{3\}-[a-z0-9]\{3\}"' "$body" | head -1 | sed 's/.*"\([a-z0-9-]*\)"$/\1/')
    echo "import-dashboards: $f -> dashboard ${id:-?}"
    created=$((created + 1))
  else
    echo "import-dashboards: $f refused (HTTP $code): $(head -c 400 "$body")" >&2
    failed=$((failed + 1))
  fi
done
echo "import-dashboards: $created created, $failed refused, at $api"
[ "$failed" = 0 ]
