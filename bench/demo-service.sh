#!/usr/bin/env bash
# Stage of bench/run (issue 2): req/s and latency of `GET /`, measured with wrk in one run on
# this machine, for
#   (a) target/release/demo-service traced, sending its spans to a trace receiver;
#   (b) the same with DD_TRACE_ENABLED=false;
#   (c) the seed's Flask app (bench/peers/flask_app.py) under ddtrace-run, gunicorn -w 2,
#       traced to a receiver: the peer;
#   (d), (e) the database-backed request, `GET /slow?ms=0` (demo-service -> inventory -> a
#       query on a throwaway PostgreSQL cluster of Debian's packages, no artificial wait),
#       traced and with DD_TRACE_ENABLED=false in both services: the tracer's fixed cost
#       against a realistic request (target: at most 10%), and the RAM (PSS) the three take
#       under that load with PostgreSQL sized as compose.yaml sizes it.
# The receiver is target/release/lab-trace-sink (a Datadog-agent stand-in that counts spans
# and serves GET /test/counts), a fresh one for each system. Requests served are wrk's count
# (warm-up included); spans delivered are read from the receiver after the system was stopped
# with SIGTERM (both tracers flush on shutdown). Figures to $RESULTS/data/demo-service.json.
#
#   bench/demo-service.sh              # 10 s a system (DURATION=N to change)
#   QUICK=1 bench/demo-service.sh      # 3 s a system
#
# Other knobs: THREADS (2), CONNS (16), WARMUP seconds (1), SKIP_BUILD=1 (use the binaries
# already built), FLASK_RECEIVER=sink|test-agent (the Flask peer's receiver; default sink, the
# same receiver as the demo service; Datadog's test agent keeps up too but, being Python on the
# same 2 cores, takes ~15% of a core from the peer).
# Exit status: 1 when a run failed. Spans lost (fewer delivered than requests answered) are
# reported, not a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
stage=demo-service
# shellcheck source=bench/lib.sh
. bench/lib.sh
# shellcheck source=bench/lib-postgres.sh
. bench/lib-postgres.sh
bench_on_exit() { pg_stop_all; }

DURATION=${DURATION:-$(by_mode 10 3)}
WARMUP=${WARMUP:-1}
THREADS=${THREADS:-2}
CONNS=${CONNS:-16}
FLASK_RECEIVER=${FLASK_RECEIVER:-sink}
case "$FLASK_RECEIVER" in sink | test-agent) ;; *) die "FLASK_RECEIVER is sink or test-agent, not '$FLASK_RECEIVER'" ;; esac
positive DURATION WARMUP THREADS CONNS
bench_clean_env

bench_setup
for tool in ddtrace-run gunicorn ddapm-test-agent; do
  [ -x ".venv/bin/$tool" ] || die ".venv/bin/$tool is missing: run tests/setup"
done
bench_build
SERVICE=$(bin demo-service)
SINK=$(bin lab-trace-sink)

bench_begin $((5 * (WARMUP + DURATION + 240)))

# get_json URL EXPR: as `json`, over the JSON at URL.
get_json() {
  curl -fs --max-time 120 "$1" >"$work/got.json" || return 1
  json "$work/got.json" "$2"
}

# measure NAME URL [SERVICE_PID RECEIVER_PID]: a warm-up, then the measured wrk run
# ($RAW/NAME.json). Sets answered (both runs' requests). Given the pids, also the CPU the
# service and its trace receiver spent during the measured run ($RAW/NAME.cpu.json): the
# service's in all, and on its actix workers (the request path; the rest is the tracer's
# exporter and the log writer). Throughput at saturation mixes both with wrk's share of the
# two cores; CPU per request says what tracing costs the service itself.
measure() {
  local name=$1 url=$2 pid=${3:-} rpid=${4:-} t0 w0 r0
  run_wrk "$name.warmup" "$url" "$WARMUP" "$CONNS" "$THREADS"
  if [ -n "$pid" ]; then
    t0=$(cpu_ticks "$pid") w0=$(thread_ticks "$pid" actix-rt) r0=$(cpu_ticks "$rpid")
  fi
  run_wrk "$name" "$url" "$DURATION" "$CONNS" "$THREADS"
  if [ -n "$pid" ]; then
    printf '{"requests": %s, "service_s": %s, "request_threads_s": %s, "receiver_s": %s}\n' \
      "$(json "$RAW/$name.json" 'd["requests"]')" "$(cpu_seconds "$t0" "$(cpu_ticks "$pid")")" \
      "$(cpu_seconds "$w0" "$(thread_ticks "$pid" actix-rt)")" \
      "$(cpu_seconds "$r0" "$(cpu_ticks "$rpid")")" >"$RAW/$name.cpu.json"
  fi
  answered=$(($(json "$RAW/$name.warmup.json" 'd["requests"]') + $(json "$RAW/$name.json" 'd["requests"]')))
  local cpu=""
  [ -z "$pid" ] || cpu=", $(json "$RAW/$name.cpu.json" 'round(d["service_s"] / d["requests"] * 1e6, 1)') µs of the service's CPU a request"
  say "  $name: $(json "$RAW/$name.json" 'd["rps"]') req/s, p99 $(json "$RAW/$name.json" 'd["latency_ms"]["p99"]') ms, $answered requests$cpu"
}

# start_sink: a fresh lab-trace-sink. Sets sink_pid, sink_url.
start_sink() {
  local port
  port=$(free_port)
  spawn sink $((WARMUP + DURATION + 180)) "$SINK" --listen "127.0.0.1:$port"
  sink_pid=$spawned sink_main=$spawned_main
  sink_url=http://127.0.0.1:$port
  wait_http "$sink_url/info" "$sink_pid" sink
}

# keep_log NAME: the tail of NAME's log to $RAW (one line a request: the rest is dropped).
keep_log() {
  tail -n 30 "$work/$1.log" >"$RAW/$1.log-tail.txt"
  rm -f "$work/$1.log"
}

# bench_demo NAME TRACE_ENABLED: the demo service against a fresh sink. Sets answered,
# delivered_spans, delivered_traces, rejected, finished (the service's own count, when its
# log says it).
bench_demo() {
  local name=$1 enabled=$2 port pid shutdown
  start_sink
  port=$(free_port)
  spawn "$name" $((WARMUP + DURATION + 120)) env DD_TRACE_ENABLED="$enabled" \
    DD_SERVICE=demo-service DD_ENV=bench DD_VERSION=1.0 DD_LOGS_INJECTION=true \
    DD_RUNTIME_METRICS_ENABLED=false DD_TRACE_AGENT_URL="$sink_url" DD_AGENT_HOST=127.0.0.1 \
    DD_DOGSTATSD_PORT="$(free_port)" "$SERVICE" --listen "127.0.0.1:$port"
  pid=$spawned
  wait_http "http://127.0.0.1:$port/healthz" "$pid" "$name"
  measure "$name" "http://127.0.0.1:$port/" "$spawned_main" "$sink_main"
  stop "$pid"
  read -r delivered_spans delivered_traces rejected < <(get_json "$sink_url/test/counts" \
    'd["spans"], d["traces"], d.get("rejected", 0)') || die "could not read $sink_url/test/counts"
  # The service's own count of finished spans, and of the traces its tracer dropped (buffer
  # full), if its shutdown line gives them.
  shutdown=$(grep -F 'tracer flush' "$work/$name.log" | tail -n 1 || true)
  read -r finished dropped < <(printf '%s' "$shutdown" |
    python3 -c 'import json, sys; d = json.loads(sys.stdin.read() or "{}"); print(d.get("spans_finished", "-"), d.get("trace_chunks_dropped_total", "-"))' 2>/dev/null || echo "- -")
  [ "${finished:--}" = - ] && finished=""
  [ "${dropped:--}" = - ] && dropped=""
  keep_log "$name"
  stop "$sink_pid"
}

# bench_db NAME TRACE_ENABLED: GET /slow?ms=0 through demo-service, inventory and a fresh
# PostgreSQL cluster, both services tracing (or not) to one fresh sink. Sets answered,
# delivered_spans, ram_kib (PSS of the three at the end of the measured run).
bench_db() {
  local name=$1 enabled=$2 port iport pid ipid imain common
  start_sink
  pg_start "$name"
  common=(DD_TRACE_ENABLED="$enabled" DD_ENV=bench DD_VERSION=1.0 DD_LOGS_INJECTION=true
    DD_RUNTIME_METRICS_ENABLED=false DD_TRACE_AGENT_URL="$sink_url" DD_AGENT_HOST=127.0.0.1
    DD_DOGSTATSD_PORT="$(free_port)")
  iport=$(free_port)
  spawn "$name-inventory" $((WARMUP + DURATION + 120)) env "${common[@]}" DD_SERVICE=inventory \
    DATABASE_URL="$pg_url" "$SERVICE" inventory --listen "127.0.0.1:$iport"
  ipid=$spawned imain=$spawned_main
  wait_http "http://127.0.0.1:$iport/healthz" "$ipid" "$name-inventory"
  # The schema is made in the background at start; the stock answers once it is there.
  wait_http "http://127.0.0.1:$iport/items?ms=0" "$ipid" "$name-inventory"
  port=$(free_port)
  spawn "$name" $((WARMUP + DURATION + 120)) env "${common[@]}" DD_SERVICE=demo-service \
    INVENTORY_URL="http://127.0.0.1:$iport" "$SERVICE" --listen "127.0.0.1:$port"
  pid=$spawned
  wait_http "http://127.0.0.1:$port/healthz" "$pid" "$name"
  measure "$name" "http://127.0.0.1:$port/slow?ms=0" "$spawned_main" "$sink_main"
  ram_kib=$(($(pss_kib "$spawned_main") + $(pss_kib "$imain") + $(pg_pss_kib "$pg_dir")))
  # Every answer was a 200: a figure of failed requests would be no figure.
  local non2xx
  non2xx=$(json "$RAW/$name.json" 'd["errors"]["status"]')
  [ "${non2xx:-0}" = 0 ] || die "$name: $non2xx answers were not 2xx (log tail: $(tail -n 3 "$work/$name.log"))"
  stop "$pid"
  stop "$ipid"
  read -r delivered_spans < <(get_json "$sink_url/test/counts" 'd["spans"]') ||
    die "could not read $sink_url/test/counts"
  keep_log "$name"
  keep_log "$name-inventory"
  stop "$sink_pid"
  pg_stop_all
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
  keep_log "$name"
  stop "$receiver_pid"
}

# --- the three runs -----------------------------------------------------------------------
# Other work on the machine skews every figure: note the load the runs start with.
load_before=$(loadavg)
say "each system: wrk -t$THREADS -c$CONNS, ${WARMUP} s warm-up then ${DURATION} s measured, on GET / ((d), (e): GET /slow?ms=0)"
say "(a) demo-service traced -> lab-trace-sink"
bench_demo demo-traced true
t_answered=$answered t_spans=$delivered_spans t_traces=$delivered_traces t_rejected=$rejected t_finished=$finished t_dropped=$dropped
say "  delivered $t_spans spans in $t_traces traces for $t_answered requests${t_finished:+ (the service finished $t_finished spans)}${t_dropped:+; the tracer reported $t_dropped traces dropped}"

say "(b) demo-service, DD_TRACE_ENABLED=false"
bench_demo demo-untraced false
u_answered=$answered u_spans=$delivered_spans

say "(c) seed's Flask app, ddtrace-run + gunicorn -w 2 -> $FLASK_RECEIVER"
bench_flask
f_answered=$answered f_spans=$delivered_spans f_traces=$delivered_traces
say "  delivered $f_spans spans in $f_traces traces for $f_answered requests"

say "(d) GET /slow?ms=0: demo-service -> inventory -> PostgreSQL, traced -> lab-trace-sink"
bench_db db-traced true
dt_answered=$answered dt_spans=$delivered_spans dt_ram=$ram_kib
say "  delivered $dt_spans spans for $dt_answered requests (4 a request: demo-service's 2, inventory's 2); $((dt_ram / 1024)) MiB PSS for the three"

say "(e) the same, DD_TRACE_ENABLED=false in both services"
bench_db db-untraced false
du_answered=$answered du_ram=$ram_kib
db_cost=$(python3 -c "
import json
t = json.load(open('$RAW/db-traced.json'))['rps']; u = json.load(open('$RAW/db-untraced.json'))['rps']
print(round((u - t) / u * 100, 1) if u else 'unknown')")
say "  tracing costs $db_cost% of the database-backed request's throughput (target: at most 10%)"

# --- figures ------------------------------------------------------------------------------
version() { .venv/bin/python -c "import importlib.metadata as m; print(m.version('$1'))"; }
ddotel=$(awk '/^name = "datadog-opentelemetry"$/ {getline; gsub(/"/, "", $3); print $3; exit}' Cargo.lock 2>/dev/null || true)
receiver=lab-trace-sink
[ "$FLASK_RECEIVER" = sink ] || receiver=ddapm-test-agent
emit "$DATA/demo-service.json" <<EOF
load \`wrk -t$THREADS -c$CONNS -d${DURATION}s --latency\` on \`GET /\` after a ${WARMUP} s warm-up, every process on this machine
duration_s $DURATION
load_before $load_before
systems.traced.label demo-service, traced (datadog-opentelemetry ${ddotel:-?})
systems.traced.wrk @$RAW/demo-traced.json
systems.traced.answered $t_answered
systems.traced.spans_delivered $t_spans
systems.traced.traces_delivered $t_traces
systems.traced.payloads_rejected ${t_rejected:-0}
systems.traced.cpu @$RAW/demo-traced.cpu.json
systems.traced.spans_finished ${t_finished:-unknown}
$([ -n "$t_dropped" ] && echo "systems.traced.traces_dropped_by_tracer $t_dropped")
systems.untraced.label demo-service, DD_TRACE_ENABLED=false
systems.untraced.wrk @$RAW/demo-untraced.json
systems.untraced.answered $u_answered
systems.untraced.spans_delivered $u_spans
systems.untraced.cpu @$RAW/demo-untraced.cpu.json
systems.flask.label seed's Flask app, ddtrace-run (ddtrace $(version ddtrace)) + gunicorn $(version gunicorn) -w 2
systems.flask.wrk @$RAW/flask.json
systems.flask.answered $f_answered
systems.flask.spans_delivered $f_spans
systems.flask.traces_delivered $f_traces
systems.flask.receiver $receiver
db_backed.request GET /slow?ms=0 (demo-service -> inventory -> one PostgreSQL query, no wait)
db_backed.traced.wrk @$RAW/db-traced.json
db_backed.traced.answered $dt_answered
db_backed.traced.spans_delivered $dt_spans
db_backed.traced.cpu @$RAW/db-traced.cpu.json
db_backed.traced.ram_pss_mib $(python3 -c "print(round($dt_ram / 1024, 1))")
db_backed.untraced.wrk @$RAW/db-untraced.json
db_backed.untraced.answered $du_answered
db_backed.untraced.cpu @$RAW/db-untraced.cpu.json
db_backed.untraced.ram_pss_mib $(python3 -c "print(round($du_ram / 1024, 1))")
db_backed.tracing_cost_pct $db_cost
db_backed.target_pct 10
notes[] both services log one line per request to a file (JSON with dd.trace_id for demo-service, ddtrace's log injection for Flask); runtime metrics off for both
notes[] spans are counted by the receiver after SIGTERM (both tracers flush on shutdown); requests as wrk counted them, warm-up included; demo-service makes one span per \`GET /\`$([ "$receiver" = lab-trace-sink ] && echo "; ddtrace set to v0.4 for lab-trace-sink")
EOF
bench_report

# A loss is a figure (the "every span" row says missed), not a failed stage: the Rust tracer
# drops traces when its buffer is full, which a service running flat out can cause (README,
# Known limits); the service counts them, and the line says how many.
[ "$t_spans" -ge "$t_answered" ] ||
  say "spans were lost: $t_spans delivered for $t_answered requests answered${t_dropped:+ (the tracer reported $t_dropped traces dropped, its buffer full)}"
