#!/bin/sh
# Exercise 6: from an error's log line to its trace (its dd.trace_id), and back to the
# trace's log lines. The page does the same in two clicks (Logs, status error, the line's
# trace link; the trace's "log lines" link).
set -eu
curl -sS http://127.0.0.1:8080/error > /dev/null    # an error, in case none is recent
sleep 3
trace_id=$(curl -fsS 'http://127.0.0.1:5002/api/v0/logs?service=demo-service&status=error&limit=1' \
  | sed -n 's/.*"trace_id":"\([0-9]*\)".*/\1/p')
echo "the error line's trace: $trace_id"
curl -fsS "http://127.0.0.1:5002/api/v0/traces/$trace_id" > /dev/null           # the trace
curl -fsS "http://127.0.0.1:5002/api/v0/logs?trace_id=$trace_id" > /dev/null    # and back
docker compose exec agent-lite agent-lite lab-check 6 --trace-id "$trace_id"
