#!/bin/sh
# Exercise 10: the SLO, its burn-rate alert on the id Datadog (and agent-lite) gave it, then
# the error burst. In a Datadog account, drop "lab_short_windows" and use Datadog's windows
# (long_window("1h"), short_window("5m"), > 14.4).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
slo_id=$(curl -fsS -X POST -H 'Content-Type: application/json' \
  --data-binary "@$here/slo.json" http://127.0.0.1:5002/api/v1/slo \
  | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
echo "SLO id: $slo_id"
sed "s/<SLO_ID>/$slo_id/" "$here/burn-rate-alert.json" \
  | curl -fsS -X POST -H 'Content-Type: application/json' --data-binary @- \
      http://127.0.0.1:5002/api/v1/monitor
docker compose run --rm -v "$here:/bootcamp:ro" loadgen \
  run /bootcamp/error-burst.toml --target http://demo-service:8080
docker compose exec agent-lite agent-lite lab-check 10
