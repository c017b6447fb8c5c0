#!/bin/sh
# Exercise 5: the APM dashboard, a slow request and an error to look at.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
curl -fsS -X POST -H 'Content-Type: application/json' \
  --data-binary "@$here/dashboard.json" http://127.0.0.1:5002/api/v1/dashboard
curl -fsS 'http://127.0.0.1:8080/slow?ms=1500'; echo
curl -sS http://127.0.0.1:8080/error; echo        # a 500, on purpose
sleep 5
docker compose exec agent-lite agent-lite lab-check 5
