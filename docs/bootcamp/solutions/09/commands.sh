#!/bin/sh
# Exercise 9: the profiler on, the spike played again, the hot function read in the Profiles
# view (or the API's top table) and named to the check.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cp "$here/compose.override.yaml" ./compose.override.yaml     # at the repository's root
docker compose up -d demo-service
docker compose run --rm -v "$here/../03:/bootcamp:ro" loadgen \
  run /bootcamp/cpu-spike.toml --duration 2m --target http://demo-service:8080
curl -fsS 'http://127.0.0.1:5002/api/v0/profiles/top?service=demo-service&type=cpu'; echo
docker compose exec agent-lite agent-lite lab-check 9 --function spin
