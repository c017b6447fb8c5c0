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
#       under that load with PostgreSQL sized as compose.yaml sizes it;
#   (f), (g) the same request at a fixed rate (DB_RATE req/s, bench/peers/wrk-rate.lua), traced
#       and untraced, both systems (each with a PostgreSQL cluster of its own) loaded at the
#       same time, REPEAT runs: the CPU a request costs demo-service, inventory and PostgreSQL,
#       from the scheduler's count of each thread (target: tracing at most 10% more);
#   (j) Datadog's tracer alone at DB_RATE req/s: the same request's four spans made straight
#       through the OpenTelemetry API, the context injected and extracted, every trace exported
#       to a sink, in one process (demo-service/benches/tracer_floor.rs): the least tracing can
#       cost that request whatever the services do, set beside the untraced request's CPU;
#   (h), (i) the continuous profiler's cost: `GET /` traced at a fixed rate (RATE req/s), with
#       DD_PROFILING_ENABLED=false and true (DEMO_PROFILING_HZ=100, an upload every
#       PROFILE_PERIOD s), both to a real agent-lite, loaded at the same time, REPEAT runs: the
#       service's CPU a request (target: at most 2% more with the profiler).
# The receiver is target/release/lab-trace-sink (a Datadog-agent stand-in that counts spans
# and serves GET /test/counts), a fresh one for each system. Requests served are wrk's count
# (warm-up included); spans delivered are read from the receiver after the system was stopped
# with SIGTERM (both tracers flush on shutdown). Figures to $RESULTS/data/demo-service.json.
#
#   bench/demo-service.sh              # 10 s a system (DURATION=N to change)
#   QUICK=1 bench/demo-service.sh      # 3 s a system
#
# Other knobs: THREADS (2), CONNS (16), WARMUP seconds (1), RATE (2000), DB_RATE (400), REPEAT
# (5; 1 in quick mode), PROFILE_PERIOD (10; 1 in quick mode: more uploads than the default 60
# s makes, so the figure errs high), SKIP_BUILD=1 (use the binaries
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
RATE=${RATE:-2000}
DB_RATE=${DB_RATE:-400}
REPEAT=${REPEAT:-$(by_mode 5 1)}
PROFILE_PERIOD=${PROFILE_PERIOD:-$(by_mode 10 1)}
# Connections enough to carry the fixed rates (a few requests in flight at once).
RATE_CONNS=8
positive DURATION WARMUP THREADS CONNS RATE DB_RATE REPEAT PROFILE_PERIOD
bench_clean_env

bench_setup
for tool in ddtrace-run gunicorn ddapm-test-agent; do
  [ -x ".venv/bin/$tool" ] || die ".venv/bin/$tool is missing: run tests/setup"
done
bench_build
SERVICE=$(bin demo-service)
SINK=$(bin lab-trace-sink)
AGENT=$(bin agent-lite)

# A fixed-rate part's systems stay up through their warm-ups and REPEAT runs.
rate_part_s=$((2 * WARMUP + REPEAT * (DURATION + 10) + 120))
bench_begin $((5 * (WARMUP + DURATION + 240) + 2 * rate_part_s))

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

# rate_pair PREFIX I RATE MODE_A URL_A MODE_B URL_B SPEC...: the systems MODE_A and MODE_B
# loaded at the same time, each by a wrk of its own at RATE req/s for DURATION s, so that what
# else the machine does meanwhile (it is shared: builds, other benchmarks) falls on both alike;
# one after the other, the same system's CPU a request varied by half from one 10 s run to the
# next. Each SPEC is "MODE.GROUP=PID [PID...]" (or MODE.GROUP=pg:DIR, a PostgreSQL cluster's
# processes, listed at each reading). Writes $RAW/PREFIX-MODE-I.run.json for both modes:
# {"requests", "rps", "cpu": {GROUP: seconds}, "threads": {GROUP: {THREAD: seconds}}}.
rate_pair() {
  local prefix=$1 i=$2 rate=$3 ma=$4 ua=$5 mb=$6 ub=$7 resolved=() a b m
  shift 7
  mapfile -t resolved < <(resolve_specs "$@")
  cpu_snapshot "$work/$prefix-$i.cpu0" "${resolved[@]}"
  run_wrk_rate "$prefix-$ma-$i" "$ua" "$DURATION" "$rate" "$RATE_CONNS" "$THREADS" &
  a=$!
  run_wrk_rate "$prefix-$mb-$i" "$ub" "$DURATION" "$rate" "$RATE_CONNS" "$THREADS" &
  b=$!
  pids+=("$a" "$b")
  wait "$a" || die "wrk against $prefix-$ma-$i failed"
  wait "$b" || die "wrk against $prefix-$mb-$i failed"
  forget "$a"
  forget "$b"
  # Again: a cluster's processes may have changed (a new backend).
  mapfile -t resolved < <(resolve_specs "$@")
  cpu_snapshot "$work/$prefix-$i.cpu1" "${resolved[@]}"
  cpu_delta "$work/$prefix-$i.cpu0" "$work/$prefix-$i.cpu1" >"$work/$prefix-$i.cpu.json"
  for m in "$ma" "$mb"; do
    local non2xx
    non2xx=$(json "$RAW/$prefix-$m-$i.json" 'd["errors"]["status"]')
    [ "${non2xx:-0}" = 0 ] || die "$prefix-$m-$i: $non2xx answers were not 2xx"
    python3 - "$RAW/$prefix-$m-$i.json" "$work/$prefix-$i.cpu.json" "$m" >"$RAW/$prefix-$m-$i.run.json" <<'PY'
import json, sys
wrk, cpu, mode = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3] + "."
mine = lambda d: {k[len(mode):]: v for k, v in d.items() if k.startswith(mode)}
print(json.dumps({"requests": wrk["requests"], "rps": wrk["rps"], "cpu": mine(cpu["cpu"]), "threads": mine(cpu["threads"])}))
PY
  done
}

# resolve_specs SPEC...: the specs, one a line, pg:DIR replaced by the cluster's processes.
resolve_specs() {
  local spec
  for spec in "$@"; do
    case "${spec#*=}" in
    pg:*) echo "${spec%%=*}=$(pg_pids "${spec#*=pg:}")" ;;
    *) echo "$spec" ;;
    esac
  done
}

# bench_profiler: (h), (i). Sets prof_received (profiles agent-lite took). No access log on
# either side (DEMO_LOG_LEVEL=warn): at a fixed rate its writer thread's CPU a request varies by
# half from run to run (it wakes for a line or for several), which would hide a 2% difference;
# without it the profiler's share of the rest is larger, so the figure errs high.
bench_profiler() {
  local apm api port i mode procs=() urls=() main=()
  apm=$(free_port) api=$(free_port)
  spawn profiler-agent $((rate_part_s + 60)) "$AGENT" --bind-host 127.0.0.1 --apm-port "$apm" \
    --dogstatsd-port "$(free_port)" --api-port "$api" --hostname bench
  local agent_pid=$spawned
  wait_http "http://127.0.0.1:$apm/info" "$agent_pid" profiler-agent
  for mode in off on; do
    port=$(free_port)
    spawn "profiler-$mode" "$rate_part_s" env DD_TRACE_ENABLED=true \
      DD_PROFILING_ENABLED="$([ "$mode" = on ] && echo true || echo false)" DEMO_PROFILING_HZ=100 \
      DD_PROFILING_UPLOAD_PERIOD="$PROFILE_PERIOD" DD_SERVICE=demo-service DD_ENV=bench \
      DD_VERSION=1.0 DD_LOGS_INJECTION=true DD_RUNTIME_METRICS_ENABLED=false DEMO_LOG_LEVEL=warn \
      DD_TRACE_AGENT_URL="http://127.0.0.1:$apm" DD_AGENT_HOST=127.0.0.1 \
      DD_DOGSTATSD_PORT="$(free_port)" "$SERVICE" --listen "127.0.0.1:$port"
    procs+=("$spawned") main+=("$spawned_main") urls+=("http://127.0.0.1:$port/")
    wait_http "http://127.0.0.1:$port/healthz" "$spawned" "profiler-$mode"
    run_wrk_rate "profiler-$mode.warmup" "http://127.0.0.1:$port/" "$WARMUP" "$RATE" "$RATE_CONNS" "$THREADS"
  done
  for i in $(seq "$REPEAT"); do
    rate_pair profiler "$i" "$RATE" off "${urls[0]}" on "${urls[1]}" \
      "off.service=${main[0]}" "on.service=${main[1]}"
  done
  prof_received=$(curl -fs --max-time 10 "http://127.0.0.1:$api/status" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["counters"].get("profiles.received", 0))') ||
    die "could not read agent-lite's counters"
  [ "$prof_received" -gt 0 ] || die "agent-lite took no profile from the service with the profiler on"
  stop "${procs[0]}"
  stop "${procs[1]}"
  keep_log profiler-off
  keep_log profiler-on
  stop "$agent_pid"
  keep_log profiler-agent
}

# bench_db_rate: (f), (g). Both systems (demo-service and inventory traced to a sink, and the
# same with DD_TRACE_ENABLED=false), each on a PostgreSQL cluster of its own, loaded at once.
bench_db_rate() {
  local mode port iport procs=() urls=() specs=() common enabled i
  start_sink
  for mode in traced untraced; do
    pg_start "db-rate-$mode"
    enabled=$([ "$mode" = traced ] && echo true || echo false)
    common=(DD_TRACE_ENABLED="$enabled" DD_ENV=bench DD_VERSION=1.0 DD_LOGS_INJECTION=true
      DD_RUNTIME_METRICS_ENABLED=false DD_TRACE_AGENT_URL="$sink_url" DD_AGENT_HOST=127.0.0.1
      DD_DOGSTATSD_PORT="$(free_port)")
    iport=$(free_port)
    spawn "db-rate-$mode-inventory" "$rate_part_s" env "${common[@]}" DD_SERVICE=inventory \
      DATABASE_URL="$pg_url" "$SERVICE" inventory --listen "127.0.0.1:$iport"
    procs+=("$spawned")
    specs+=("$mode.inventory=$spawned_main" "$mode.postgres=pg:$pg_dir")
    wait_http "http://127.0.0.1:$iport/items?ms=0" "$spawned" "db-rate-$mode-inventory"
    port=$(free_port)
    spawn "db-rate-$mode" "$rate_part_s" env "${common[@]}" DD_SERVICE=demo-service \
      INVENTORY_URL="http://127.0.0.1:$iport" "$SERVICE" --listen "127.0.0.1:$port"
    procs+=("$spawned")
    specs+=("$mode.demo_service=$spawned_main")
    urls+=("http://127.0.0.1:$port/slow?ms=0")
    wait_http "http://127.0.0.1:$port/healthz" "$spawned" "db-rate-$mode"
    run_wrk_rate "db-rate-$mode.warmup" "${urls[-1]}" "$WARMUP" "$DB_RATE" "$RATE_CONNS" "$THREADS"
  done
  # Only the traced system sends spans: the sink's CPU is its.
  specs+=("traced.receiver=$sink_main")
  for i in $(seq "$REPEAT"); do
    rate_pair db-rate "$i" "$DB_RATE" traced "${urls[0]}" untraced "${urls[1]}" "${specs[@]}"
  done
  for i in "${procs[@]}"; do stop "$i"; done
  for mode in traced untraced; do
    keep_log "db-rate-$mode"
    keep_log "db-rate-$mode-inventory"
  done
  stop "$sink_pid"
  pg_stop_all
}

# bench_tracer_floor: (j), to $work/tracer-floor.json. 2 * DB_RATE * DURATION requests for each
# of its figures (no span, bare spans, spans with the lab's attributes, taken in turn a second
# each): with half as many, two runs differed by a sixth.
bench_tracer_floor() {
  start_sink
  timeout 900 cargo bench --profile "$LAB_PROFILE" --locked -p demo-service --bench tracer_floor -- \
    --agent-url "$sink_url" --rate "$DB_RATE" --requests $((2 * DB_RATE * DURATION)) \
    >"$work/tracer-floor.json" 2>"$work/tracer-floor.log" ||
    die "the tracer floor bench failed (its log tail: $(tail -n 5 "$work/tracer-floor.log"))"
  stop "$sink_pid"
}

# rate_figures PREFIX MODE...: for each MODE, the runs $RAW/PREFIX-MODE-<i>.run.json as one
# JSON object: {MODE: {"runs": [...], "requests", "cpu_s": {GROUP: seconds}, "us_per_request":
# {GROUP: µs}, "us_per_request_by_thread": {GROUP: {THREAD: µs}}}}.
rate_figures() {
  python3 - "$RAW" "$1" "$REPEAT" "${@:2}" <<'PY'
import json, sys
raw, prefix, repeat, modes = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
out = {}
for mode in modes:
    runs = [json.load(open(f"{raw}/{prefix}-{mode}-{i}.run.json")) for i in range(1, repeat + 1)]
    requests = sum(r["requests"] for r in runs)
    cpu, threads = {}, {}
    for r in runs:
        for g, s in r["cpu"].items():
            cpu[g] = cpu.get(g, 0) + s
        for g, by_name in r.get("threads", {}).items():
            for n, s in by_name.items():
                threads.setdefault(g, {})[n] = threads.get(g, {}).get(n, 0) + s
    per = lambda s: round(s / requests * 1e6, 3)
    out[mode] = {"runs": [{k: r[k] for k in ("requests", "rps", "cpu")} for r in runs], "requests": requests,
                 "cpu_s": {g: round(s, 6) for g, s in cpu.items()},
                 "us_per_request": {g: per(s) for g, s in cpu.items()},
                 "us_per_request_by_thread": {g: {n: per(s) for n, s in sorted(t.items(), key=lambda x: -x[1])}
                                              for g, t in threads.items()}}
print(json.dumps(out))
PY
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

say "(f), (g) GET /slow?ms=0 at $DB_RATE req/s, traced and DD_TRACE_ENABLED=false at the same time, $REPEAT run(s) of ${DURATION} s"
bench_db_rate
rate_figures db-rate traced untraced >"$work/db-rate.json"
read -r dr_traced dr_untraced dr_cost dr_services_cost < <(json "$work/db-rate.json" '(
  lambda t, u: (round(t, 1), round(u, 1), round((t / u - 1) * 100, 1),
    round(((d["traced"]["us_per_request"]["demo_service"] + d["traced"]["us_per_request"]["inventory"])
      / (d["untraced"]["us_per_request"]["demo_service"] + d["untraced"]["us_per_request"]["inventory"]) - 1) * 100, 1))
)(*[sum(d[m]["us_per_request"][g] for g in ("demo_service", "inventory", "postgres")) for m in ("traced", "untraced")])')
say "  CPU a request (demo-service + inventory + PostgreSQL): $dr_traced µs traced, $dr_untraced µs untraced: tracing costs $dr_cost% more (the two services alone: $dr_services_cost%; target: at most 10%)"

say "(j) Datadog's tracer alone, at $DB_RATE req/s: GET /slow?ms=0's four spans, the context injected and extracted, the traces exported (one process, no tracing layer)"
bench_tracer_floor
read -r tf_attributes tf_bare tf_pct < <(json "$work/tracer-floor.json" \
  '(d["attributes_us"], d["bare_us"], round(d["attributes_us"] / '"$dr_untraced"' * 100, 1))')
say "  the tracer alone costs $tf_attributes µs a request with the lab's attributes ($tf_bare µs bare): $tf_pct% of the untraced request's CPU"

say "(h), (i) GET / traced to agent-lite at $RATE req/s, the profiler off and on (100 Hz, an upload every $PROFILE_PERIOD s) at the same time, $REPEAT run(s) of ${DURATION} s"
bench_profiler
rate_figures profiler off on >"$work/profiler.json"
read -r pr_off pr_on pr_cost < <(json "$work/profiler.json" '(
  lambda off, on: (round(off, 2), round(on, 2), round((on / off - 1) * 100, 2))
)(d["off"]["us_per_request"]["service"], d["on"]["us_per_request"]["service"])')
# Each run's on vs off: the spread says how far one total can be trusted on a shared machine.
pr_runs=$(json "$work/profiler.json" '", ".join("%+.1f%%" % ((on["cpu"]["service"] / on["requests"]) / (off["cpu"]["service"] / off["requests"]) * 100 - 100)
  for on, off in zip(d["on"]["runs"], d["off"]["runs"]))')
say "  the service's CPU a request: $pr_off µs with the profiler off, $pr_on µs on: $pr_cost% on vs off (target: at most +2%; run by run: $pr_runs); agent-lite took $prof_received profiles"

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
db_backed.fixed_rate.rate $DB_RATE
db_backed.fixed_rate.duration_s $DURATION
db_backed.fixed_rate.repeat $REPEAT
db_backed.fixed_rate.systems @$work/db-rate.json
db_backed.fixed_rate.cost_pct $dr_cost
db_backed.fixed_rate.services_cost_pct $dr_services_cost
db_backed.tracer_floor @$work/tracer-floor.json
profiler.request GET / traced (to agent-lite, which also takes the profiles)
profiler.rate $RATE
profiler.duration_s $DURATION
profiler.repeat $REPEAT
profiler.hz 100
profiler.upload_period_s $PROFILE_PERIOD
profiler.profiles_received $prof_received
profiler.systems @$work/profiler.json
profiler.cost_pct $pr_cost
profiler.target_pct 2
notes[] both services log one line per request to a file (JSON with dd.trace_id for demo-service, ddtrace's log injection for Flask); runtime metrics off for both
notes[] fixed-rate runs ((f) to (i)): \`wrk -t$THREADS -c$RATE_CONNS\` with bench/peers/wrk-rate.lua (a fixed rate, as wrk2 sends), one for each of the two systems compared, loaded at the same time; CPU is each thread's run time as the scheduler counts it (/proc/PID/task/TID/schedstat) around the runs, summed over the runs of a system, over the requests of those runs
notes[] the profiler's runs ((h), (i)): an upload every $PROFILE_PERIOD s, against the 60 s default, so that each run has some, and no access log on either side (DEMO_LOG_LEVEL=warn: its writer thread's CPU varies too much from run to run at a fixed rate): both make the figure err high
notes[] the tracer alone ((j), demo-service/benches/tracer_floor.rs): one process makes both services' spans at $DB_RATE req/s, as the OpenTelemetry API calls Datadog's tracer with no tracing layer; its CPU a request, until the last trace reached a sink, less the same paced loop's without spans: a lower bound of what tracing costs the request
notes[] binaries of the cargo profile $LAB_PROFILE
notes[] spans are counted by the receiver after SIGTERM (both tracers flush on shutdown); requests as wrk counted them, warm-up included; demo-service makes one span per \`GET /\`$([ "$receiver" = lab-trace-sink ] && echo "; ddtrace set to v0.4 for lab-trace-sink")
EOF
bench_report

# A loss is a figure (the "every span" row says missed), not a failed stage: the Rust tracer
# drops traces when its buffer is full, which a service running flat out can cause (README,
# Known limits); the service counts them, and the line says how many.
[ "$t_spans" -ge "$t_answered" ] ||
  say "spans were lost: $t_spans delivered for $t_answered requests answered${t_dropped:+ (the tracer reported $t_dropped traces dropped, its buffer full)}"
