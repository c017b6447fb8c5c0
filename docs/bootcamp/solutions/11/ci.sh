#!/bin/sh
# Exercise 11 as a CI job: the alert's definition checked, the monitor created in the lab
# (once), then the scenario played against it with its expectations. The exit code fails the
# job; junit.xml is the job's test report. The lab's tests run this very file.
#
#   LAB_AGENT     agent-lite's API        (http://127.0.0.1:5002, the lab's published port)
#   LAB_SERVICE   demo-service            (http://127.0.0.1:8080)
#   AGENT_LITE    the agent-lite binary   (agent-lite; cargo build --release puts it in target/release)
#   LOADGEN       the loadgen binary      (loadgen)
#   JUNIT         the JUnit report        (junit.xml)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
agent=${LAB_AGENT:-http://127.0.0.1:5002}
service=${LAB_SERVICE:-http://127.0.0.1:8080}
agent_lite=${AGENT_LITE:-agent-lite}
loadgen=${LOADGEN:-loadgen}
junit=${JUNIT:-junit.xml}

# 1. The definition, as agent-lite would load it (and Datadog's validate would).
"$agent_lite" check-monitors "$here/monitor.json"

# 2. The monitor, unless an earlier run made it.
if ! curl -fsS "$agent/api/v1/monitor?name=Bootcamp:%20error%20rate%20(test)" | grep -q '"id"'; then
  curl -fsS -X POST -H 'Content-Type: application/json' \
    --data-binary "@$here/monitor.json" "$agent/api/v1/monitor" > /dev/null
fi

# 3. The scenario and its expectations: exit 1 when the alert did not fire or recover.
"$loadgen" run "$here/alerts-as-tests.toml" --check --junit "$junit" \
  --target "$service" --agent "$agent" --quiet
