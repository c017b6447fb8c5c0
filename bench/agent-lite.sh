#!/usr/bin/env bash
# Stage of bench/run (issue 3): how much agent-lite takes in per CPU-second, and its memory,
# measured in one run on this machine against a peer fed the same bytes:
#   (a) traces: target/release/lab-blast PUTs v0.4 msgpack payloads of demo-service-like
#       spans (1000 a payload, encoded once before the clock starts) to agent-lite's
#       /v0.4/traces for DURATION s; spans accepted (2xx) / CPU-seconds agent-lite used;
#   (b) DogStatsD: lab-blast sends datagrams of 20 lines over UDP for DURATION s; lines
#       agent-lite PROCESSED (its own counters, read from GET /status: UDP drops what it
#       cannot take) / CPU-seconds it used;
#   (c) the peer, Datadog's test agent (ddapm-test-agent from .venv), gets the same trace
#       blast; it has no DogStatsD listener, so (b) has no peer and is judged on its target;
#   (d) full demo load: a fresh agent-lite behind target/release/demo-service (traced, runtime
#       metrics on) under `wrk -t2 -c16` on GET /: agent-lite's peak RSS and the spans it got.
# CPU time is utime + stime of the receiver's process (/proc/PID/stat), peak RSS its VmHWM
# (/proc/PID/status). A figure per CPU-second is what one core busy all the time would take:
# the machine's cores are shared with the blaster, so wall-clock rates say less.
# Figures to $RESULTS/data/agent-lite.json.
#
#   bench/agent-lite.sh              # 10 s a phase (DURATION=N to change)
#   QUICK=1 bench/agent-lite.sh      # 3 s a phase
#
# Other knobs: CONNS (4, connections of the trace blaster), DSD_RATE (0: as fast as one
# sender can; or lines/s), SKIP_BUILD=1 (use the binaries already built), AGENT_LITE=path
# (another agent-lite binary, e.g. an older build to compare).
# Exit status: 1 when a run failed (no span or line went through, or a process died).
set -euo pipefail
cd "$(dirname "$0")/.."
stage=agent-lite
# shellcheck source=bench/lib.sh
. bench/lib.sh

DURATION=${DURATION:-$(by_mode 10 3)}
CONNS=${CONNS:-4}
DSD_RATE=${DSD_RATE:-0}
positive DURATION CONNS
[[ $DSD_RATE =~ ^[0-9]+$ ]] || die "DSD_RATE must be a whole number of lines a second (0: no limit), not '$DSD_RATE'"
bench_clean_env

bench_setup
[ -x .venv/bin/ddapm-test-agent ] || die ".venv/bin/ddapm-test-agent is missing: run tests/setup"
bench_build
AGENT=${AGENT_LITE:-$(bin agent-lite)}
[ -x "$AGENT" ] || die "$AGENT (AGENT_LITE) is not an executable"
BLAST=$(bin lab-blast)
SERVICE=$(bin demo-service)

bench_begin $((4 * DURATION + 300))

# start_agent NAME: a fresh agent-lite. Sets agent_pid (session), agent_main, apm_url,
# dsd_port, status_url.
start_agent() {
  local name=$1 apm api
  apm=$(free_port) api=$(free_port) dsd_port=$(free_port)
  spawn "$name" $((4 * DURATION + 240)) "$AGENT" --bind-host 127.0.0.1 --apm-port "$apm" \
    --dogstatsd-port "$dsd_port" --api-port "$api" --hostname bench
  agent_pid=$spawned agent_main=$spawned_main
  apm_url=http://127.0.0.1:$apm
  status_url=http://127.0.0.1:$api/status
  wait_http "$status_url" "$agent_pid" "$name"
  wait_http "$apm_url/info" "$agent_pid" "$name"
}

# blast_traces NAME URL PID [STATUS_URL]: lab-blast traces against URL ($RAW/NAME.json), the
# CPU PID used meanwhile. Sets cpu_s, hwm.
blast_traces() {
  local name=$1 url=$2 pid=$3 status=${4:-} t0 t1 extra=() spans
  [ -n "$status" ] && extra=(--status-url "$status")
  t0=$(cpu_ticks "$pid")
  bounded $((DURATION + 120)) "$RAW/$name.json" "$BLAST" traces --url "$url" \
    --duration "$DURATION" --connections "$CONNS" "${extra[@]}" ||
    die "lab-blast traces against $name failed: $(cat "$RAW/$name.json.err")"
  alive "$pid" "$name"
  t1=$(cpu_ticks "$pid")
  hwm=$(hwm_kib "$pid")
  cpu_s=$(cpu_seconds "$t0" "$t1")
  spans=$(json "$RAW/$name.json" 'd["spans"]') || die "no result from lab-blast against $name (see $RAW/$name.json)"
  [ "$spans" -gt 0 ] || die "no payload of lab-blast was accepted by $name: $(json "$RAW/$name.json" 'd["error_samples"]')"
  say "  $name: $spans spans in $DURATION s, $cpu_s CPU-s; peak RSS $((hwm / 1024)) MiB"
}

load_before=$(loadavg)
say "each phase ${DURATION} s; load average (1 min) $load_before"

say "(a) traces -> agent-lite ($CONNS connections)"
start_agent agent-lite
a_idle_hwm=$(hwm_kib "$agent_main")
blast_traces agent-lite-traces "$apm_url" "$agent_main" "$status_url"
a_cpu=$cpu_s a_hwm=$hwm

say "(b) DogStatsD -> agent-lite$([ "$DSD_RATE" = 0 ] || echo " at $DSD_RATE lines/s")"
t0=$(cpu_ticks "$agent_main")
bounded $((DURATION + 60)) "$RAW/agent-lite-dogstatsd.json" "$BLAST" dogstatsd \
  --addr "127.0.0.1:$dsd_port" --duration "$DURATION" --rate "$DSD_RATE" --status-url "$status_url" ||
  die "lab-blast dogstatsd failed: $(cat "$RAW/agent-lite-dogstatsd.json.err")"
alive "$agent_main" agent-lite
t1=$(cpu_ticks "$agent_main")
d_hwm=$(hwm_kib "$agent_main")
d_cpu=$(cpu_seconds "$t0" "$t1")
d_processed=$(json "$RAW/agent-lite-dogstatsd.json" 'd["lines_processed"]') ||
  die "no result from lab-blast dogstatsd (see $RAW/agent-lite-dogstatsd.json)"
[ "$d_processed" -gt 0 ] || die "agent-lite processed no DogStatsD line (see $RAW/agent-lite-dogstatsd.json)"
say "  agent-lite: $d_processed DogStatsD lines processed, $d_cpu CPU-s; peak RSS $((d_hwm / 1024)) MiB"
tail -n 30 "$work/agent-lite.log" >"$RAW/agent-lite.log-tail.txt"
stop "$agent_pid"

say "(c) traces -> ddapm-test-agent (the peer, same payloads)"
rport=$(free_port)
# Its OTLP listeners default to 4318/4317: move them. DD_TRACE_AGENT_URL in its own
# environment would make it forward everything there: unset it. No trace checks (none are on
# by default): it decodes and keeps the traces, as agent-lite does.
spawn test-agent $((DURATION + 240)) env -u DD_TRACE_AGENT_URL -u DD_AGENT_URL \
  .venv/bin/ddapm-test-agent --host 127.0.0.1 --port "$rport" \
  --otlp-http-port "$(free_port)" --otlp-grpc-port "$(free_port)" --log-level WARNING
peer_pid=$spawned peer_main=$spawned_main
wait_http "http://127.0.0.1:$rport/info" "$peer_pid" test-agent
p_idle_hwm=$(hwm_kib "$peer_main")
blast_traces test-agent-traces "http://127.0.0.1:$rport" "$peer_main"
p_cpu=$cpu_s p_hwm=$hwm
tail -n 30 "$work/test-agent.log" >"$RAW/test-agent.log-tail.txt"
stop "$peer_pid"

say "(d) full demo load: demo-service under wrk -t2 -c16 -> a fresh agent-lite"
start_agent agent-lite-demo
svc_port=$(free_port)
spawn demo-service $((DURATION + 120)) env DD_SERVICE=demo-service DD_ENV=bench DD_VERSION=1.0 \
  DD_TRACE_AGENT_URL="$apm_url" DD_AGENT_HOST=127.0.0.1 DD_DOGSTATSD_PORT="$dsd_port" \
  DD_RUNTIME_METRICS_ENABLED=true DEMO_RUNTIME_METRICS_INTERVAL_SECS=1 \
  DEMO_LISTEN="127.0.0.1:$svc_port" "$SERVICE"
svc_pid=$spawned
wait_http "http://127.0.0.1:$svc_port/healthz" "$svc_pid" demo-service
t0=$(cpu_ticks "$agent_main")
run_wrk demo-load "http://127.0.0.1:$svc_port/" "$DURATION" 16
# SIGTERM: the service flushes every span it finished before it exits, and says how many.
stop "$svc_pid"
m_finished=$(grep -F 'tracer flushed' "$work/demo-service.log" | tail -n 1 |
  python3 -c 'import json, sys; print(json.loads(sys.stdin.read() or "{}").get("spans_finished", "unknown"))' 2>/dev/null || echo unknown)
# Its lines about the tracer (drops, errors), then the last ones: one line a request is large.
{
  (grep -v '"http.method"' "$work/demo-service.log" || true) | tail -n 40
  echo "-- last lines"
  tail -n 5 "$work/demo-service.log"
} >"$RAW/demo-service.log-tail.txt"
rm -f "$work/demo-service.log"
sleep 1
alive "$agent_main" agent-lite-demo
t1=$(cpu_ticks "$agent_main")
m_hwm=$(hwm_kib "$agent_main")
m_cpu=$(cpu_seconds "$t0" "$t1")
curl -fs --max-time 10 "$status_url" >"$RAW/agent-lite-demo.status.json" || die "could not read $status_url"
read -r m_spans m_lines m_rejected < <(json "$RAW/agent-lite-demo.status.json" \
  'd["counters"].get("traces.spans", 0), d["counters"].get("dogstatsd.metrics", 0), sum(v for k, v in d["counters"].items() if k.startswith("traces.rejected."))') ||
  die "no counters in $RAW/agent-lite-demo.status.json"
say "  agent-lite got $m_spans spans ($m_finished finished by the service) and $m_lines DogStatsD lines, used $m_cpu CPU-s; peak RSS $((m_hwm / 1024)) MiB"
tail -n 30 "$work/agent-lite-demo.log" >"$RAW/agent-lite-demo.log-tail.txt"
stop "$agent_pid"

# --- figures ------------------------------------------------------------------------------
# Which agent-lite was measured, when it is not this tree's.
measured="this tree"
[ -z "${AGENT_LITE:-}" ] || measured=$AGENT_LITE
emit "$DATA/agent-lite.json" <<EOF
load lab-blast and the receiver on the same cores, ${DURATION} s a phase; per CPU-second = count / (utime + stime) of the receiver's process
duration_s $DURATION
load_before $load_before
binary $measured
peer_label ddapm-test-agent $(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("ddapm-test-agent"))')
traces.connections $CONNS
traces.agent_lite.blast @$RAW/agent-lite-traces.json
traces.agent_lite.cpu_s $a_cpu
traces.agent_lite.peak_rss_kib $a_hwm
traces.agent_lite.idle_rss_kib $a_idle_hwm
traces.peer.blast @$RAW/test-agent-traces.json
traces.peer.cpu_s $p_cpu
traces.peer.peak_rss_kib $p_hwm
traces.peer.idle_rss_kib $p_idle_hwm
dogstatsd.rate $DSD_RATE
dogstatsd.blast @$RAW/agent-lite-dogstatsd.json
dogstatsd.cpu_s $d_cpu
dogstatsd.peak_rss_kib $d_hwm
demo_load.wrk @$RAW/demo-load.json
demo_load.spans_finished $m_finished
demo_load.spans_received $m_spans
demo_load.dogstatsd_lines $m_lines
demo_load.payloads_rejected $m_rejected
demo_load.cpu_s $m_cpu
demo_load.peak_rss_kib $m_hwm
notes[] traces: payloads of ~1000 spans (80% \`GET /\`, 10% \`GET /slow\` with 3 child spans, 10% \`GET /error\` with its stack), 256 distinct ones sent in turn over $CONNS connections
notes[] DogStatsD: one sender at $([ "$DSD_RATE" = 0 ] && echo "full speed" || echo "$DSD_RATE lines/s"), datagrams of 20 lines (counts, gauges, histograms, timers, distributions, sets; 5 tags each); UDP drops what the receiver cannot take, so lines are counted as agent-lite processed them
notes[] full demo load: demo-service traced to agent-lite, runtime metrics every second, \`wrk -t2 -c16\` on \`GET /\`
EOF
bench_report
