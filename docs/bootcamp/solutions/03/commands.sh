#!/bin/sh
# Exercise 3: the seed's CPU monitor, then a 7-minute CPU spike: the monitor fires after
# 5 full minutes above 80% and recovers in the cool down.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
curl -fsS -X POST -H 'Content-Type: application/json' \
  --data-binary "@$here/monitor.json" http://127.0.0.1:5002/api/v1/monitor
docker compose run --rm -v "$here:/bootcamp:ro" loadgen \
  run /bootcamp/cpu-spike.toml --target http://demo-service:8080 --agent http://agent-lite:5002
docker compose exec agent-lite agent-lite lab-check 3
