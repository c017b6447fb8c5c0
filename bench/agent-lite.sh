#!/usr/bin/env bash
# The benchmark of agent-lite (issue 3): how much it takes in per CPU-second, and its memory,
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
# Writes bench/results/agent-lite.md (and, in a full run, the README's table between its
# bench:agent-lite markers); the blaster's JSON, wrk's output and log tails go to
# bench/results/raw/ (gitignored).
#
#   bench/agent-lite.sh              # 10 s a phase (DURATION=N to change)
#   QUICK=1 bench/agent-lite.sh      # 3 s a phase, for CI
#
# Other knobs: CONNS (4, connections of the trace blaster), DSD_RATE (0: as fast as one
# sender can; or lines/s), SKIP_BUILD=1 (use the binaries already built), AGENT_LITE=path
# (another agent-lite binary, e.g. an older build to compare), STRICT=1 (exit 1 when a target
# is missed), README=0 (leave the README alone).
# Exit status: 1 when a run failed (no span or line went through, or a process died).
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
CONNS=${CONNS:-4}
DSD_RATE=${DSD_RATE:-0}
OUT=bench/results/agent-lite.md
RAW=bench/results/raw
# Targets of issue 3.
TARGET_SPANS=500000
TARGET_LINES=1000000
TARGET_RSS_MB=50

# Datadog or OpenTelemetry settings of the caller's environment would change what is measured.
while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^(DD|OTEL|AGENT_LITE|DEMO)_' || true)

say() { echo "bench: $*"; }
die() {
  echo "bench: error: $*" >&2
  exit 1
}

for v in DURATION CONNS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive whole number, not '${!v}'"
done
[[ $DSD_RATE =~ ^[0-9]+$ ]] || die "DSD_RATE must be a whole number of lines a second (0: no limit), not '$DSD_RATE'"

# --- tools and binaries -------------------------------------------------------------------
say "tests/setup (wrk, Python venv with ddapm-test-agent)"
tests/setup | sed 's/^/  /'
for tool in wrk curl python3 timeout setsid ps; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (tests/setup installs wrk and curl)"
done
[ -x .venv/bin/ddapm-test-agent ] || die ".venv/bin/ddapm-test-agent is missing: run tests/setup"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  say "cargo build --release -p agent-lite -p lab-testkit -p demo-service"
  timeout 3600 cargo build --release -q -p agent-lite -p lab-testkit -p demo-service ||
    die "cargo build --release -p agent-lite -p lab-testkit -p demo-service failed"
fi
target_dir=$(bench_target_dir)
AGENT=${AGENT_LITE:-$target_dir/release/agent-lite}
BLAST=$target_dir/release/lab-blast
SERVICE=$target_dir/release/demo-service
[ -x "$AGENT" ] || die "$AGENT is missing (cargo build --release -p agent-lite)"
[ -x "$BLAST" ] || die "$BLAST is missing: the crate lab-testkit (tests/testkit/) must build the binary lab-blast (cargo build --release -p lab-testkit)"
[ -x "$SERVICE" ] || die "$SERVICE is missing (cargo build --release -p demo-service)"

# --- process handling (bench/lib.sh) -------------------------------------------------------
mkdir -p "$RAW"
# The whole run (after the build) is bounded: past its budget the script stops itself.
budget=$((4 * DURATION + 300))
bench_begin agent-lite "$budget"
# set -e stops at a failed command without a word: say which.
set -E
trap 'echo "bench: error: line $LINENO: \"$BASH_COMMAND\" failed" >&2' ERR

# spawn NAME LIMIT_S COMMAND...: starts COMMAND in its own session, output to $work/NAME.log,
# ended by timeout after LIMIT_S at the latest. Sets spawned (timeout's pid, the session's) and
# spawned_main (the command's own pid, whose /proc figures are read).
spawn() {
  local name=$1 limit=$2 child _
  shift 2
  setsid timeout --foreground -k 10 "$limit" "$@" </dev/null >"$work/$name.log" 2>&1 &
  spawned=$!
  pids+=("$spawned")
  spawned_main=
  for _ in $(seq 50); do
    # ps exits 1 while timeout has not forked its child yet.
    child=$(ps -o pid= --ppid "$spawned" 2>/dev/null | head -n 1 | tr -d ' ' || true)
    [ -n "$child" ] && spawned_main=$child && return 0
    sleep 0.1
  done
  tail -n 20 "$work/$name.log" >&2 || true
  die "$name did not start"
}

# bounded LIMIT_S OUT COMMAND...: runs COMMAND for LIMIT_S at most, stdout to OUT (stderr to
# OUT.err), and waits for it in a way a signal to this script interrupts.
bounded() {
  local limit=$1 out=$2 pid rc=0
  shift 2
  timeout "$limit" "$@" >"$out" 2>"$out.err" &
  pid=$!
  pids+=("$pid")
  wait "$pid" || rc=$?
  forget "$pid"
  return "$rc"
}

# json FILE EXPR: evaluates the Python expression EXPR over the JSON in FILE (as `d`) and
# prints the value, or the values of a tuple separated by spaces.
json() {
  python3 -c "import json, sys; d = json.load(open(sys.argv[1])); r = ($2); print(*(r if isinstance(r, tuple) else (r,)))" "$1"
}

# CPU ticks (user + system, every thread) and peak RSS (KiB) of a live process. The command
# name in /proc/PID/stat is cut off first: it may hold spaces.
tck=$(getconf CLK_TCK 2>/dev/null || echo 100)
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
alive() { kill -0 "$1" 2>/dev/null || die "$2 died (see its log tail in $RAW)"; }

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

# blast_traces NAME URL PID [STATUS_URL]: lab-blast traces against URL, the CPU PID used
# meanwhile. Sets spans, tr_errors, elapsed, cpu_s, per_cpu, wall_rate, hwm.
blast_traces() {
  local name=$1 url=$2 pid=$3 status=${4:-} t0 t1 extra=()
  [ -n "$status" ] && extra=(--status-url "$status")
  t0=$(cpu_ticks "$pid")
  bounded $((DURATION + 120)) "$RAW/$name.json" "$BLAST" traces --url "$url" \
    --duration "$DURATION" --connections "$CONNS" "${extra[@]}" ||
    die "lab-blast traces against $name failed: $(cat "$RAW/$name.json.err")"
  alive "$pid" "$name"
  t1=$(cpu_ticks "$pid")
  hwm=$(hwm_kib "$pid")
  read -r spans tr_errors elapsed wall_rate < <(json "$RAW/$name.json" 'd["spans"], d["errors"], d["elapsed"], round(d["spans_per_s"])') ||
    die "no result from lab-blast against $name (see $RAW/$name.json)"
  [ "$spans" -gt 0 ] || die "no payload of lab-blast was accepted by $name: $(json "$RAW/$name.json" 'd["error_samples"]')"
  cpu_s=$(python3 -c "print(round(($t1 - $t0) / $tck, 2))")
  per_cpu=$(python3 -c "print(round($spans / max(($t1 - $t0) / $tck, 0.01)))")
  say "  $name: $spans spans in ${elapsed%.*} s ($wall_rate/s), $cpu_s CPU-s: $per_cpu spans per CPU-second; peak RSS $((hwm / 1024)) MiB$([ "$tr_errors" = 0 ] || echo "; $tr_errors failed requests")"
}

mib() { python3 -c "print(round($1 / 1024, 1))"; }

# --- the runs -----------------------------------------------------------------------------
# Other work on the machine skews every figure: note the load the runs start with.
load_before=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
say "each phase ${DURATION} s; load average (1 min) $load_before"

say "(a) traces -> agent-lite ($CONNS connections)"
start_agent agent-lite
a_idle_hwm=$(hwm_kib "$agent_main")
blast_traces agent-lite-traces "$apm_url" "$agent_main" "$status_url"
a_spans=$spans a_errors=$tr_errors a_cpu=$cpu_s a_per_cpu=$per_cpu a_wall=$wall_rate a_hwm=$hwm
a_decoded=$(json "$RAW/agent-lite-traces.json" 'd.get("receiver_counters", {}).get("traces.spans", "?")')

say "(b) DogStatsD -> agent-lite$([ "$DSD_RATE" = 0 ] || echo " at $DSD_RATE lines/s")"
t0=$(cpu_ticks "$agent_main")
bounded $((DURATION + 60)) "$RAW/agent-lite-dogstatsd.json" "$BLAST" dogstatsd \
  --addr "127.0.0.1:$dsd_port" --duration "$DURATION" --rate "$DSD_RATE" --status-url "$status_url" ||
  die "lab-blast dogstatsd failed: $(cat "$RAW/agent-lite-dogstatsd.json.err")"
alive "$agent_main" agent-lite
t1=$(cpu_ticks "$agent_main")
d_hwm=$(hwm_kib "$agent_main")
read -r d_sent d_processed d_rejected d_lost d_elapsed < <(json "$RAW/agent-lite-dogstatsd.json" \
  'd["lines_sent"], d["lines_processed"], d["lines_rejected"], round(d["lost_pct"], 1), round(d["elapsed"], 1)') ||
  die "no result from lab-blast dogstatsd (see $RAW/agent-lite-dogstatsd.json)"
[ "$d_processed" -gt 0 ] || die "agent-lite processed no DogStatsD line (see $RAW/agent-lite-dogstatsd.json)"
d_cpu=$(python3 -c "print(round(($t1 - $t0) / $tck, 2))")
d_per_cpu=$(python3 -c "print(round($d_processed / max(($t1 - $t0) / $tck, 0.01)))")
d_wall=$(python3 -c "print(round($d_processed / $d_elapsed))")
say "  agent-lite: $d_processed of $d_sent lines processed ($d_lost% lost in UDP), $d_cpu CPU-s: $d_per_cpu lines per CPU-second; peak RSS $((d_hwm / 1024)) MiB"
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
p_spans=$spans p_errors=$tr_errors p_cpu=$cpu_s p_per_cpu=$per_cpu p_wall=$wall_rate p_hwm=$hwm
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
bounded $((DURATION + 30)) "$RAW/demo-load.wrk.txt" wrk -t2 -c16 -d"${DURATION}s" "http://127.0.0.1:$svc_port/" ||
  die "wrk against demo-service failed: $(cat "$RAW/demo-load.wrk.txt")"
# SIGTERM: the service flushes every span it finished before it exits, and says how many.
stop "$svc_pid"
m_finished=$(grep -F 'tracer flushed' "$work/demo-service.log" | tail -n 1 |
  python3 -c 'import json, sys; print(json.loads(sys.stdin.read() or "{}").get("spans_finished", "?"))' 2>/dev/null || echo "?")
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
m_cpu=$(python3 -c "print(round(($t1 - $t0) / $tck, 2))")
m_rps=$(awk '/^Requests\/sec:/ {print $2}' "$RAW/demo-load.wrk.txt")
m_requests=$(awk '/ requests in / {print $1}' "$RAW/demo-load.wrk.txt")
curl -fs --max-time 10 "$status_url" >"$RAW/agent-lite-demo.status.json" || die "could not read $status_url"
read -r m_spans m_lines m_rejected < <(json "$RAW/agent-lite-demo.status.json" \
  'd["counters"].get("traces.spans", 0), d["counters"].get("dogstatsd.metrics", 0), sum(v for k, v in d["counters"].items() if k.startswith("traces.rejected."))') ||
  die "no counters in $RAW/agent-lite-demo.status.json"
say "  demo-service: $m_rps req/s ($m_requests requests, $m_finished spans finished); agent-lite got $m_spans spans and $m_lines DogStatsD lines, used $m_cpu CPU-s; peak RSS $((m_hwm / 1024)) MiB"
tail -n 30 "$work/agent-lite-demo.log" >"$RAW/agent-lite-demo.log-tail.txt"
stop "$agent_pid"

# --- results ------------------------------------------------------------------------------
m_note=
if [ "$m_rejected" != 0 ]; then
  m_note=" (agent-lite refused $m_rejected trace payloads: see $RAW/agent-lite-demo.status.json)"
elif [[ $m_finished =~ ^[0-9]+$ ]] && [ "$m_spans" -lt "$m_finished" ]; then
  # agent-lite counts every span it decoded and refused no payload: the rest never reached
  # it (the tracer drops spans, without a word, when its buffer is full).
  m_note=" (agent-lite refused no payload: the rest never reached it, the service's tracer drops spans when its buffer is full)"
fi
verdict() { python3 -c "import sys; a, b = map(float, sys.argv[1:3]); print('met' if a $3 b else 'MISSED')" "$1" "$2"; }
spans_ok=$(verdict "$a_per_cpu" "$TARGET_SPANS" '>=')
lines_ok=$(verdict "$d_per_cpu" "$TARGET_LINES" '>=')
rss_ok=$(verdict "$m_hwm" $((TARGET_RSS_MB * 1024)) '<=')
ratio=$(python3 -c "print(f'{$a_per_cpu / $p_per_cpu:.1f}x' if $p_per_cpu else 'n/a')")
wall_ratio=$(python3 -c "print(f'{$a_wall / $p_wall:.1f}x' if $p_wall else 'n/a')")
fmt() { python3 -c "print(f'{int(float(\"$1\")):,}')"; }

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
ta_version=$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("ddapm-test-agent"))')
# Which agent-lite was measured: the commit, and whether its sources had local changes.
rev=$(git rev-parse --short HEAD 2>/dev/null || echo "unknown commit")
if [ -n "${AGENT_LITE:-}" ]; then
  rev="$AGENT_LITE"
elif [ -n "$(git status --porcelain -- agent-lite 2>/dev/null)" ]; then
  rev="$rev with local changes"
fi
load_after=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
mode=
[ "$QUICK" = 1 ] && mode="QUICK=1, "

mkdir -p "$(dirname "$OUT")"
{
  echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores (${cpu:-unknown CPU}), $(uname -sr);"
  echo "agent-lite of $rev; ${mode}${DURATION} s a phase, \`lab-blast\` and the receiver on the same cores; per CPU-second = count / (utime + stime) of the receiver's process."
  echo
  echo "| measure | agent-lite | peer: ddapm-test-agent $ta_version | agent-lite vs peer | target |"
  echo "| --- | ---: | ---: | ---: | --- |"
  echo "| v0.4 spans decoded and aggregated per CPU-second | $(fmt "$a_per_cpu") | $(fmt "$p_per_cpu") | $ratio | at least $(fmt $TARGET_SPANS): $spans_ok |"
  echo "| spans/s, wall clock ($CONNS connections) | $(fmt "$a_wall") | $(fmt "$p_wall") | $wall_ratio | |"
  echo "| peak RSS after the trace blast, MiB | $(mib "$a_hwm") | $(mib "$p_hwm") | | |"
  echo "| DogStatsD lines processed per CPU-second | $(fmt "$d_per_cpu") | no DogStatsD listener | | at least $(fmt $TARGET_LINES): $lines_ok |"
  echo "| DogStatsD lines processed/s, wall clock | $(fmt "$d_wall") | | | |"
  echo "| peak RSS after the DogStatsD blast, MiB | $(mib "$d_hwm") | | | |"
  echo "| peak RSS under full demo load, MiB | $(mib "$m_hwm") | | | at most $TARGET_RSS_MB MB: $rss_ok |"
  echo
  echo "- traces: $(fmt "$a_spans") spans accepted by agent-lite in $a_cpu CPU-s (its own count of spans decoded: $a_decoded), $(fmt "$p_spans") by the peer in $p_cpu CPU-s; payloads of ~1000 spans (80% \`GET /\`, 10% \`GET /slow\` with 3 child spans, 10% \`GET /error\` with its stack), 256 distinct ones sent in turn$([ "$a_errors$p_errors" = 00 ] || echo "; failed requests: agent-lite $a_errors, peer $p_errors")"
  echo "- DogStatsD: $(fmt "$d_processed") of $(fmt "$d_sent") lines sent were processed ($d_lost% lost in UDP, rejected: $d_rejected) in $d_cpu CPU-s; one sender at $([ "$DSD_RATE" = 0 ] && echo "full speed" || echo "$DSD_RATE lines/s"), datagrams of 20 lines (counts, gauges, histograms, timers, distributions, sets; 5 tags each)"
  echo "- full demo load: demo-service served $m_rps req/s (\`wrk -t2 -c16 -d${DURATION}s\` on \`GET /\`, $m_requests requests); agent-lite received $(fmt "$m_spans") spans of the $([[ $m_finished =~ ^[0-9]+$ ]] && fmt "$m_finished" || echo "$m_finished") the service finished$m_note and $(fmt "$m_lines") DogStatsD lines (runtime metrics every second) and used $m_cpu CPU-s; idle, agent-lite's peak RSS is $(mib "$a_idle_hwm") MiB (the peer's $(mib "$p_idle_hwm") MiB)"
  echo "- load average (1 min): $load_before when the runs began, $load_after at the end; other work on the machine skews the figures, so compare runs made on a quiet machine"
  true
} >"$OUT"
say "results in $OUT:"
cat "$OUT"

if [ "$QUICK" != 1 ] && [ "${README:-1}" = 1 ] && grep -q '<!-- bench:agent-lite -->' README.md 2>/dev/null; then
  python3 - "$OUT" <<'PY'
import re, sys
table = open(sys.argv[1]).read().strip()
readme = open("README.md").read()
new = re.sub(r"(<!-- bench:agent-lite -->\n).*?(\n<!-- /bench:agent-lite -->)",
             lambda m: m.group(1) + table + m.group(2), readme, flags=re.S)
open("README.md", "w").write(new)
PY
  say "README.md's table updated"
fi

if [ "${STRICT:-0}" = 1 ] && { [ "$spans_ok" != met ] || [ "$lines_ok" != met ] || [ "$rss_ok" != met ]; }; then
  die "a target was missed (STRICT=1)"
fi
