#!/usr/bin/env bash
# The benchmark of issue 2: req/s and p99 latency of `GET /`, measured with wrk in one run on
# this machine, for
#   (a) target/release/demo-service traced, sending its spans to a trace receiver;
#   (b) the same with DD_TRACE_ENABLED=false;
#   (c) the seed's Flask app (bench/peers/flask_app.py) under ddtrace-run, gunicorn -w 2,
#       traced to a receiver: the peer.
# The receiver is target/release/lab-trace-sink (a Datadog-agent stand-in that counts spans and
# serves GET /test/counts), a fresh one for each system. Requests served are wrk's count
# (warm-up included); spans delivered are read from the receiver after the system was stopped
# with SIGTERM (both tracers flush on shutdown). Writes bench/results/demo-service.md (and,
# in a full run, the README's table between its bench markers); wrk outputs and log tails go
# to bench/results/raw/ (gitignored).
#
#   bench/demo-service.sh              # 10 s a system (DURATION=N to change)
#   QUICK=1 bench/demo-service.sh      # 3 s a system, for CI
#
# Other knobs: THREADS (2), CONNS (16), WARMUP seconds (1), SKIP_BUILD=1 (use the binaries
# already built), FLASK_RECEIVER=sink|test-agent (the Flask peer's receiver; default sink, the
# same receiver as the demo service; Datadog's test agent keeps up too but, being Python on the
# same 2 cores, takes ~15% of a core from the peer), STRICT=1 (exit 1 when a target is
# missed), README=0 (leave the README alone).
# Exit status: 1 when a run failed or spans were lost (fewer delivered than requests answered).
#
# Everything listens on 127.0.0.1 on ports picked free at run time; every wait and every run
# is bounded in time; whatever the script starts is stopped when it exits.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

QUICK=${QUICK:-0}
DURATION=${DURATION:-10}
[ "$QUICK" = 1 ] && DURATION=3
WARMUP=${WARMUP:-1}
THREADS=${THREADS:-2}
CONNS=${CONNS:-16}
FLASK_RECEIVER=${FLASK_RECEIVER:-sink}
OUT=bench/results/demo-service.md
RAW=bench/results/raw

# Datadog or OpenTelemetry settings of the caller's environment would change what is measured.
while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^(DD|OTEL)_' || true)

say() { echo "bench: $*"; }
die() {
  echo "bench: error: $*" >&2
  exit 1
}

case "$FLASK_RECEIVER" in sink | test-agent) ;; *) die "FLASK_RECEIVER is sink or test-agent, not '$FLASK_RECEIVER'" ;; esac
for v in DURATION WARMUP THREADS CONNS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive whole number, not '${!v}'"
done

# --- tools and binaries -------------------------------------------------------------------
say "tests/setup (wrk, Python venv with ddtrace, flask, gunicorn, ddapm-test-agent)"
tests/setup | sed 's/^/  /'
for tool in wrk curl python3 timeout setsid; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (tests/setup installs wrk and curl)"
done
for tool in ddtrace-run gunicorn ddapm-test-agent; do
  [ -x ".venv/bin/$tool" ] || die ".venv/bin/$tool is missing: run tests/setup"
done

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  say "cargo build --release -p demo-service -p lab-testkit"
  timeout 3600 cargo build --release -q -p demo-service -p lab-testkit ||
    die "cargo build --release -p demo-service -p lab-testkit failed"
fi
target_dir=$(bench_target_dir)
SERVICE=$target_dir/release/demo-service
SINK=$target_dir/release/lab-trace-sink
[ -x "$SERVICE" ] || die "$SERVICE is missing: the crate demo-service/ must build the binary demo-service (cargo build --release -p demo-service)"
[ -x "$SINK" ] || die "$SINK is missing: the crate lab-testkit (tests/testkit/) must build the binary lab-trace-sink (cargo build --release -p lab-testkit)"

# --- process handling (bench/lib.sh) -------------------------------------------------------
mkdir -p "$RAW"
# The whole run (after the build) is bounded: past its budget the script stops itself.
budget=$((3 * (WARMUP + DURATION + 240)))
bench_begin demo-service "$budget"

# spawn NAME LIMIT_S COMMAND...: starts COMMAND in its own session, output to $work/NAME.log,
# ended by timeout after LIMIT_S at the latest. Sets spawned.
spawn() {
  local name=$1 limit=$2
  shift 2
  setsid timeout --foreground -k 10 "$limit" "$@" </dev/null >"$work/$name.log" 2>&1 &
  spawned=$!
  pids+=("$spawned")
}

# bounded LIMIT_S OUT COMMAND...: runs COMMAND for LIMIT_S at most, output to OUT, and waits
# for it in a way a signal to this script interrupts.
bounded() {
  local limit=$1 out=$2 pid rc=0
  shift 2
  timeout "$limit" "$@" >"$out" 2>&1 &
  pid=$!
  pids+=("$pid")
  wait "$pid" || rc=$?
  forget "$pid"
  return "$rc"
}

# get_json URL EXPR: evaluates the Python expression EXPR over the JSON at URL (as `d`) and
# prints the value, or the values of a tuple separated by spaces.
get_json() {
  curl -fs --max-time 120 "$1" |
    python3 -c "import json, sys; d = json.load(sys.stdin); r = ($2); print(*(r if isinstance(r, tuple) else (r,)))"
}

# measure NAME URL: a warm-up, then the measured wrk run. Sets rps, p99_ms, answered (both
# runs' requests), errors (wrk's error lines, if any).
measure() {
  local name=$1 url=$2
  bounded $((WARMUP + 30)) "$work/$name.warmup.txt" wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" "$url" ||
    die "wrk warm-up against $name failed: $(cat "$work/$name.warmup.txt")"
  bounded $((DURATION + 30)) "$RAW/$name.wrk.txt" wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "$url" ||
    die "wrk against $name failed: $(cat "$RAW/$name.wrk.txt")"
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$RAW/$name.wrk.txt")
  answered=$(cat "$work/$name.warmup.txt" "$RAW/$name.wrk.txt" | awk '/ requests in / {n += $1} END {print n + 0}')
  # "     99%    4.54ms": wrk prints us, ms, s or m.
  p99_ms=$(awk '$1 == "99%" {
      v = $2; u = v; sub(/^[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
      f = (u == "us") ? 0.001 : (u == "s") ? 1000 : (u == "m") ? 60000 : 1
      printf "%.2f", v * f }' "$RAW/$name.wrk.txt")
  errors=$(cat "$work/$name.warmup.txt" "$RAW/$name.wrk.txt" |
    awk '/Non-2xx or 3xx responses|Socket errors/ {sub(/^ +/, ""); printf "%s%s", sep, $0; sep = "; "}')
  { [ -n "$rps" ] && [ -n "$p99_ms" ] && [ "$answered" -gt 0 ]; } || die "no result from wrk against $name (see $RAW/$name.wrk.txt)"
  say "  $name: $rps req/s, p99 $p99_ms ms, $answered requests${errors:+ (wrk: $errors)}"
}

# start_sink: a fresh lab-trace-sink. Sets sink_pid, sink_url.
start_sink() {
  local port
  port=$(free_port)
  spawn sink $((WARMUP + DURATION + 180)) "$SINK" --listen "127.0.0.1:$port"
  sink_pid=$spawned
  sink_url=http://127.0.0.1:$port
  wait_http "$sink_url/info" "$sink_pid" sink
}

# bench_demo NAME TRACE_ENABLED: the demo service against a fresh sink. Sets the measure
# results and delivered_spans, delivered_traces, rejected, finished (the service's own count,
# when its log says it).
bench_demo() {
  local name=$1 enabled=$2 port pid
  start_sink
  port=$(free_port)
  spawn "$name" $((WARMUP + DURATION + 120)) env DD_TRACE_ENABLED="$enabled" \
    DD_SERVICE=demo-service DD_ENV=bench DD_VERSION=1.0 DD_LOGS_INJECTION=true \
    DD_RUNTIME_METRICS_ENABLED=false DD_TRACE_AGENT_URL="$sink_url" DD_AGENT_HOST=127.0.0.1 \
    DD_DOGSTATSD_PORT="$(free_port)" "$SERVICE" --listen "127.0.0.1:$port"
  pid=$spawned
  wait_http "http://127.0.0.1:$port/healthz" "$pid" "$name"
  measure "$name" "http://127.0.0.1:$port/"
  stop "$pid"
  read -r delivered_spans delivered_traces rejected < <(get_json "$sink_url/test/counts" \
    'd["spans"], d["traces"], d.get("rejected", 0)') || die "could not read $sink_url/test/counts"
  # The service's own count of finished spans, if its shutdown line gives it.
  finished=$(grep -F 'tracer flushed' "$work/$name.log" | tail -n 1 |
    python3 -c 'import json, sys; print(json.loads(sys.stdin.read() or "{}").get("spans_finished", ""))' 2>/dev/null || true)
  tail -n 30 "$work/$name.log" >"$RAW/$name.log-tail.txt"
  rm -f "$work/$name.log" # one line a request: large
  stop "$sink_pid"
}

# bench_flask: the seed's app under ddtrace-run, gunicorn -w 2, traced to $FLASK_RECEIVER.
bench_flask() {
  local name=flask port pid rport receiver_pid receiver_url extra=()
  if [ "$FLASK_RECEIVER" = sink ]; then
    start_sink
    receiver_pid=$sink_pid receiver_url=$sink_url
    extra=(DD_TRACE_API_VERSION=v0.4) # the sink speaks v0.4; ddtrace sends v0.5 by default
  else
    rport=$(free_port)
    # Its OTLP listeners default to 4318/4317: move them. DD_TRACE_AGENT_URL in its own
    # environment would make it forward everything there: unset it.
    spawn test-agent $((WARMUP + DURATION + 180)) env -u DD_TRACE_AGENT_URL -u DD_AGENT_URL \
      .venv/bin/ddapm-test-agent --host 127.0.0.1 --port "$rport" \
      --otlp-http-port "$(free_port)" --otlp-grpc-port "$(free_port)" --log-level WARNING
    receiver_pid=$spawned receiver_url=http://127.0.0.1:$rport
    wait_http "$receiver_url/info" "$receiver_pid" test-agent
  fi
  port=$(free_port)
  spawn "$name" $((WARMUP + DURATION + 120)) env DD_SERVICE=flask-demo-bootcamp DD_ENV=bench \
    DD_VERSION=1.0 DD_LOGS_INJECTION=true DD_RUNTIME_METRICS_ENABLED=false \
    DD_TRACE_AGENT_URL="$receiver_url" DD_AGENT_HOST=127.0.0.1 DD_DOGSTATSD_PORT="$(free_port)" \
    "${extra[@]}" .venv/bin/ddtrace-run .venv/bin/gunicorn -w 2 -b "127.0.0.1:$port" \
    bench.peers.flask_app:app
  pid=$spawned
  wait_http "http://127.0.0.1:$port/" "$pid" "$name"
  measure "$name" "http://127.0.0.1:$port/"
  stop "$pid"
  if [ "$FLASK_RECEIVER" = sink ]; then
    read -r delivered_spans delivered_traces < <(get_json "$receiver_url/test/counts" 'd["spans"], d["traces"]') ||
      die "could not read $receiver_url/test/counts"
  else
    read -r delivered_spans delivered_traces < <(get_json "$receiver_url/test/traces" 'sum(map(len, d)), len(d)') ||
      die "could not read $receiver_url/test/traces"
  fi
  tail -n 30 "$work/$name.log" >"$RAW/$name.log-tail.txt"
  rm -f "$work/$name.log"
  stop "$receiver_pid"
}

# --- the three runs -----------------------------------------------------------------------
# Other work on the machine skews every figure: note the load the runs start with.
load_before=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
say "each system: wrk -t$THREADS -c$CONNS, ${WARMUP} s warm-up then ${DURATION} s measured, on GET /"
say "(a) demo-service traced -> lab-trace-sink"
bench_demo demo-traced true
t_rps=$rps t_p99=$p99_ms t_answered=$answered t_errors=$errors
t_spans=$delivered_spans t_traces=$delivered_traces t_rejected=$rejected t_finished=$finished
say "  delivered $t_spans spans in $t_traces traces for $t_answered requests${t_finished:+ (the service finished $t_finished spans)}"

say "(b) demo-service, DD_TRACE_ENABLED=false"
bench_demo demo-untraced false
u_rps=$rps u_p99=$p99_ms u_answered=$answered u_errors=$errors u_spans=$delivered_spans

say "(c) seed's Flask app, ddtrace-run + gunicorn -w 2 -> $FLASK_RECEIVER"
bench_flask
f_rps=$rps f_p99=$p99_ms f_answered=$answered f_errors=$errors
f_spans=$delivered_spans f_traces=$delivered_traces
say "  delivered $f_spans spans in $f_traces traces for $f_answered requests"

# --- results ------------------------------------------------------------------------------
calc() { python3 -c "import sys; a, b = map(float, sys.argv[2:4]); print($1)" _ "$2" "$3"; }
ratio() { calc 'f"{a / b:.1f}x" if b else "n/a"' "$1" "$2"; }
overhead=$(calc 'f"{(1 - a / b) * 100:.1f}"' "$t_rps" "$u_rps")
vs_flask=$(calc 'f"{a / b:.1f}"' "$t_rps" "$f_rps")
overhead_ok=$(calc '"met" if (1 - a / b) <= 0.10 else "MISSED"' "$t_rps" "$u_rps")
vs_flask_ok=$(calc '"met" if a >= 30 * b else "MISSED"' "$t_rps" "$f_rps")
if [ "$t_spans" -ge "$t_answered" ]; then spans_ok=met; else spans_ok=MISSED; fi

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
ddtrace_version=$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("ddtrace"))')
gunicorn_version=$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("gunicorn"))')
ddotel_version=$(awk '/^name = "datadog-opentelemetry"$/ {getline; gsub(/"/, "", $3); print $3; exit}' Cargo.lock 2>/dev/null || true)
mode=
[ "$QUICK" = 1 ] && mode="QUICK=1, "

mkdir -p "$(dirname "$OUT")"
{
  echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores (${cpu:-unknown CPU}), $(uname -sr);"
  echo "${mode}\`wrk -t$THREADS -c$CONNS -d${DURATION}s --latency\` on \`GET /\` after a ${WARMUP} s warm-up, every process on this machine."
  echo
  echo "| system | req/s | p99 ms | ratio vs peer |"
  echo "| --- | ---: | ---: | ---: |"
  echo "| demo-service, traced (datadog-opentelemetry ${ddotel_version:-?}) | $t_rps | $t_p99 | $(ratio "$t_rps" "$f_rps") |"
  echo "| demo-service, DD_TRACE_ENABLED=false | $u_rps | $u_p99 | $(ratio "$u_rps" "$f_rps") |"
  echo "| peer: seed's Flask app, ddtrace-run (ddtrace $ddtrace_version) + gunicorn $gunicorn_version -w 2 | $f_rps | $f_p99 | 1.0x |"
  echo
  echo "- tracing overhead: ${overhead}% = 1 - traced/untraced (target: at most 10%): $overhead_ok"
  echo "- traced demo-service vs the Flask peer: ${vs_flask}x (target: at least 30x): $vs_flask_ok"
  echo "- spans delivered: $t_spans of $t_answered requests (traced demo-service, to lab-trace-sink after SIGTERM; requests as wrk counted them, warm-up included; one span per \`GET /\`${t_finished:+; the service reports $t_finished spans finished}$([ "${t_rejected:-0}" = 0 ] || echo "; payloads the sink could not decode: $t_rejected")): $spans_ok"
  echo "- the Flask peer delivered $f_traces traces ($f_spans spans: ddtrace makes about $(calc 'f"{a / b:.0f}" if b else "?"' "$f_spans" "$f_traces") a request) for $f_answered requests, to $([ "$FLASK_RECEIVER" = sink ] && echo "lab-trace-sink (ddtrace set to v0.4)" || echo "ddapm-test-agent (ddtrace's default v0.5)"); the untraced run delivered $u_spans spans for $u_answered requests"
  echo "- load average (1 min) when the runs began: $load_before; other work on the machine skews the figures, so compare runs made on a quiet machine"
  echo "- both services log one line per request to a file (JSON with dd.trace_id for demo-service, ddtrace's log injection for Flask); runtime metrics off for both"
  for e in "demo-service traced|$t_errors" "demo-service untraced|$u_errors" "Flask peer|$f_errors"; do
    [ -n "${e#*|}" ] && echo "- wrk errors, ${e%%|*}: ${e#*|}"
  done
  true
} >"$OUT"
say "results in $OUT:"
cat "$OUT"

if [ "$QUICK" != 1 ] && [ "${README:-1}" = 1 ] && grep -q '<!-- bench:demo-service -->' README.md 2>/dev/null; then
  python3 - "$OUT" <<'PY'
import re, sys
table = open(sys.argv[1]).read().strip()
readme = open("README.md").read()
new = re.sub(r"(<!-- bench:demo-service -->\n).*?(\n<!-- /bench:demo-service -->)",
             lambda m: m.group(1) + table + m.group(2), readme, flags=re.S)
open("README.md", "w").write(new)
PY
  say "README.md's table updated"
fi

[ "$spans_ok" = met ] || die "spans were lost: $t_spans delivered for $t_answered requests answered"
if [ "${STRICT:-0}" = 1 ] && { [ "$overhead_ok" != met ] || [ "$vs_flask_ok" != met ]; }; then
  die "a target was missed (STRICT=1)"
fi
