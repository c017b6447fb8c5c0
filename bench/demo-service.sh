#!/usr/bin/env bash
# Throughput and p99 of GET / for the demo service traced, the demo service with
# DD_TRACE_ENABLED=false, and the seed's Flask app under ddtrace-run (gunicorn, 2 workers),
# measured with wrk in one run on this machine; every traced run sends its spans to a trace
# receiver that counts them. Writes bench/results/demo-service.md (and, in full mode, the
# README's table).
#
#   bench/demo-service.sh            # full: 15 s a system
#   QUICK=1 bench/demo-service.sh    # 3 s a system, for CI
#
# Everything runs on 127.0.0.1; every step is bounded in time; whatever it starts is stopped
# on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-15}
[ "${QUICK:-0}" = 1 ] && DURATION=3
CONNS=${CONNS:-16}
THREADS=${THREADS:-2}
OUT=bench/results/demo-service.md

tests/setup > /dev/null
cargo build --release --locked -q -p demo-service -p lab-testkit
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
SERVICE=$target/release/demo-service
SINK=$target/release/lab-trace-sink
for bin in "$SERVICE" "$SINK"; do
  [ -x "$bin" ] || { echo "bench: $bin was not built" >&2; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_http() {
  for _ in $(seq 200); do
    curl -fs -o /dev/null --max-time 1 "$1" && return 0
    sleep 0.1
  done
  echo "bench: nothing answers at $1" >&2
  exit 1
}

# Stops a process with SIGTERM and waits (bounded) for its exit.
stop() {
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
}

start_sink() {
  sink_port=$(free_port)
  "$SINK" --listen "127.0.0.1:$sink_port" 2> "$work/sink.err" &
  sink_pid=$!
  pids+=("$sink_pid")
  wait_http "http://127.0.0.1:$sink_port/info"
}

sink_spans() {
  curl -fs --max-time 5 "http://127.0.0.1:$sink_port/test/counts" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["spans"])'
}

# wrk against $1 for $DURATION after a 1 s warm-up; sets rps, p99_ms, and answered (warm-up
# included, as the service counts it).
measure() {
  timeout 30 wrk -t"$THREADS" -c"$CONNS" -d1s "$1" > "$work/warm.txt"
  timeout $((DURATION + 60)) wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "$1" > "$work/wrk.txt"
  rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt")
  answered=$(cat "$work/warm.txt" "$work/wrk.txt" | awk '/requests in/ {n += $1} END {print n}')
  p99_ms=$(awk '$1 == "99%" {v=$2; u=v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
    f = (u == "us") ? 0.001 : (u == "s") ? 1000 : (u == "m") ? 60000 : 1; printf "%.2f", v * f}' "$work/wrk.txt")
  errors=$(awk '/Non-2xx or 3xx responses|Socket errors/ {print}' "$work/wrk.txt")
  [ -z "$errors" ] || echo "bench: wrk saw errors: $errors" >&2
}

# The demo service with tracing on ($1=true) or off; sets rps, p99_ms, answered, delivered, finished.
bench_demo() {
  local port
  port=$(free_port)
  start_sink
  DD_TRACE_ENABLED=$1 DD_TRACE_AGENT_URL="http://127.0.0.1:$sink_port" DD_ENV=bench \
    DEMO_LISTEN="127.0.0.1:$port" "$SERVICE" > "$work/service.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  wait_http "http://127.0.0.1:$port/healthz"
  measure "http://127.0.0.1:$port/"
  stop "$pid"
  delivered=$(sink_spans)
  finished=$(python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1], errors="replace"):
    if "tracer flushed" in line:
        n = json.loads(line).get("spans_finished", 0)
print(n)' "$work/service.log")
  stop "$sink_pid"
  rm -f "$work/service.log"
}

bench_flask() {
  local port
  port=$(free_port)
  start_sink
  DD_SERVICE=flask-demo-bootcamp DD_ENV=bench DD_VERSION=1.0 DD_LOGS_INJECTION=true \
    DD_TRACE_AGENT_URL="http://127.0.0.1:$sink_port" DD_TRACE_API_VERSION=v0.4 \
    DD_INSTRUMENTATION_TELEMETRY_ENABLED=false DD_REMOTE_CONFIGURATION_ENABLED=false \
    .venv/bin/ddtrace-run .venv/bin/gunicorn -w 2 -b "127.0.0.1:$port" --chdir bench/peers \
    --log-level warning flask_app:app > "$work/flask.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  wait_http "http://127.0.0.1:$port/"
  measure "http://127.0.0.1:$port/"
  stop "$pid"
  sleep 1
  delivered=$(sink_spans)
  stop "$sink_pid"
}

echo "bench: demo-service traced (${DURATION}s)"
bench_demo true
traced_rps=$rps traced_p99=$p99_ms traced_answered=$answered
traced_delivered=$delivered traced_finished=$finished
echo "bench: demo-service untraced (${DURATION}s)"
bench_demo false
plain_rps=$rps plain_p99=$p99_ms
echo "bench: seed's Flask app under ddtrace-run, gunicorn -w 2 (${DURATION}s)"
bench_flask
flask_rps=$rps flask_p99=$p99_ms flask_answered=$answered flask_delivered=$delivered

ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'{a / b:.1f}x' if b else 'n/a')" "$1" "$2"; }
overhead=$(python3 -c "import sys; t, p = map(float, sys.argv[1:]); print(f'{(1 - t / p) * 100:.1f}')" "$traced_rps" "$plain_rps")
vs_flask=$(ratio "$traced_rps" "$flask_rps")

mkdir -p "$(dirname "$OUT")"
{
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)),"
  echo "\`wrk -t$THREADS -c$CONNS -d${DURATION}s\` on \`GET /\`, every process on the same machine."
  echo
  echo "| system | req/s | p99 ms | ratio vs Flask peer |"
  echo "| --- | ---: | ---: | ---: |"
  echo "| demo-service, traced (datadog-opentelemetry) | ${traced_rps} | ${traced_p99} | $(ratio "$traced_rps" "$flask_rps") |"
  echo "| demo-service, DD_TRACE_ENABLED=false | ${plain_rps} | ${plain_p99} | $(ratio "$plain_rps" "$flask_rps") |"
  echo "| seed's Flask app, ddtrace-run + gunicorn -w 2 (peer) | ${flask_rps} | ${flask_p99} | 1.0x |"
  echo
  echo "- tracing overhead: ${overhead}% of throughput (target: at most 10%)"
  echo "- traced demo-service vs the Flask peer: ${vs_flask} (target: at least 30x)"
  echo "- spans delivered to the trace receiver: ${traced_delivered} of ${traced_finished} the demo service finished (wrk saw ${traced_answered} answers complete; requests cut off by wrk's stop are answered too); the Flask peer sent ${flask_delivered} spans for ${flask_answered} answers (ddtrace makes several spans a request)"
} > "$OUT"
cat "$OUT"

if [ "${QUICK:-0}" != 1 ]; then
  python3 - "$OUT" <<'PY'
import re, sys
table = open(sys.argv[1]).read().strip()
readme = open("README.md").read()
new = re.sub(r"(<!-- bench:demo-service -->\n).*?(\n<!-- /bench:demo-service -->)",
             lambda m: m.group(1) + table + m.group(2), readme, flags=re.S)
open("README.md", "w").write(new)
PY
fi
[ "$traced_delivered" -ge "$traced_finished" ] || { echo "bench: spans were lost" >&2; exit 1; }
