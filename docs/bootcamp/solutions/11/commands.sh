#!/bin/sh
# Exercise 11: the alert tested by a scenario, as a CI job would run it. ci.sh needs the
# agent-lite and loadgen binaries (cargo build --release); with the compose lab only, the
# same steps through the containers:
set -eu
here=$(cd "$(dirname "$0")" && pwd)
docker compose run --rm --no-deps -v "$here:/bootcamp:ro" agent-lite \
  check-monitors /bootcamp/monitor.json
curl -fsS -X POST -H 'Content-Type: application/json' \
  --data-binary "@$here/monitor.json" http://127.0.0.1:5002/api/v1/monitor
mkdir -p reports && chmod 777 reports
docker compose run --rm -v "$here:/bootcamp:ro" -v "$PWD/reports:/reports" loadgen \
  run /bootcamp/alerts-as-tests.toml --check --junit /reports/junit.xml \
  --target http://demo-service:8080 --agent http://agent-lite:5002
# Its exit code (0: the alert fired and recovered as expected) and reports/junit.xml are
# what a CI job keeps.
docker compose exec agent-lite agent-lite lab-check 11
# Or, with the binaries: PATH="$PWD/target/release:$PATH" docs/bootcamp/solutions/11/ci.sh
