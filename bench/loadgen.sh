#!/usr/bin/env bash
# The benchmark of loadgen (issue 6): the most requests a second it drives against the demo
# service, and the CPU it takes for them, measured in one run on this machine beside its peers:
#   (a) target/release/loadgen, a scenario of CONNS users sending `GET /` back to back
#       (closed model, the mix all `/`), for DURATION s;
#   (b) wrk -t2 -cCONNS (C, the fastest there is: the ceiling);
#   (c) locust, FastHttpUser, CONNS users with no wait, one process (.venv, pinned in
#       tests/requirements.txt): the Python peer.
# Each tool gets a WARMUP s run first, then the measured one, against the same
# target/release/demo-service (DD_TRACE_ENABLED=false, so the service's own cost is the
# lowest it can be and the figures say the most about the load generators). Requests are
# each tool's own count of answers; CPU is the tool's user + system time (GNU time), so
# "req per CPU-s" says how many requests one of its cores sends. Every process shares the
# machine's cores with the service. Writes bench/results/loadgen.md; tools' outputs go to
# bench/results/raw/ (gitignored).
#
#   bench/loadgen.sh              # 10 s a tool (DURATION=N to change)
#   QUICK=1 bench/loadgen.sh      # 3 s a tool, for CI (well under 2 minutes once built)
#
# Other knobs: CONNS (32: users of loadgen and locust, connections of wrk), WARMUP (1),
# SKIP_BUILD=1 (use the binaries already built), STRICT=1 (exit 1 when a target is missed).
# Targets of issue 6: loadgen at least 5x locust, and at least 60% of wrk.
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
CONNS=${CONNS:-32}
OUT=bench/results/loadgen.md
RAW=bench/results/raw

# Datadog, OpenTelemetry and loadgen settings of the caller's environment would change what
# is measured.
while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^(DD|OTEL|DEMO|LOADGEN)_' || true)

say() { echo "bench: $*"; }
die() {
  echo "bench: error: $*" >&2
  exit 1
}

for v in DURATION WARMUP CONNS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive whole number, not '${!v}'"
done

# --- tools and binaries -------------------------------------------------------------------
say "tests/setup (wrk, Python venv with locust)"
tests/setup | sed 's/^/  /'
for tool in wrk curl python3 timeout setsid; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (tests/setup installs wrk and curl)"
done
[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is missing: apt-get install time"
[ -x .venv/bin/locust ] || die ".venv/bin/locust is missing: run tests/setup"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  say "cargo build --release -p loadgen -p demo-service"
  timeout 3600 cargo build --release -q -p loadgen -p demo-service ||
    die "cargo build --release -p loadgen -p demo-service failed"
fi
target_dir=$(bench_target_dir)
SERVICE=$target_dir/release/demo-service
LOADGEN=$target_dir/release/loadgen
for bin in "$SERVICE" "$LOADGEN"; do
  [ -x "$bin" ] || die "$bin is missing: cargo build --release -p $(basename "$bin")"
done

# --- process handling (bench/lib.sh) -------------------------------------------------------
mkdir -p "$RAW"
# The whole run (after the build) is bounded: past its budget the script stops itself.
budget=$((3 * (WARMUP + DURATION + 60) + 120))
bench_begin loadgen "$budget"

# bounded LIMIT_S OUT COMMAND...: runs COMMAND for LIMIT_S at most under GNU time (its CPU
# seconds, user + system, into OUT.cpu), output to OUT; waits in a way a signal interrupts.
bounded() {
  local limit=$1 out=$2 pid rc=0
  shift 2
  /usr/bin/time -f '%U %S' -o "$out.time" timeout "$limit" "$@" >"$out" 2>&1 &
  pid=$!
  pids+=("$pid")
  wait "$pid" || rc=$?
  forget "$pid"
  awk 'NF == 2 && $1 ~ /^[0-9.]+$/ {print $1 + $2}' "$out.time" | tail -n 1 >"$out.cpu"
  return "$rc"
}

# --- the service --------------------------------------------------------------------------
port=$(free_port)
URL=http://127.0.0.1:$port
setsid timeout --foreground -k 10 $((budget + 30)) env DD_TRACE_ENABLED=false \
  DD_RUNTIME_METRICS_ENABLED=false DD_DOGSTATSD_PORT="$(free_port)" DEMO_LOG_LEVEL=warn \
  "$SERVICE" --listen "127.0.0.1:$port" </dev/null >"$work/service.log" 2>&1 &
service_pid=$!
pids+=("$service_pid")
for _ in $(seq 300); do
  curl -fs -o /dev/null --max-time 1 "$URL/healthz" && break
  kill -0 "$service_pid" 2>/dev/null || { tail -n 20 "$work/service.log" >&2; die "the demo service exited"; }
  sleep 0.1
done
curl -fs -o /dev/null --max-time 1 "$URL/healthz" || die "the demo service does not answer $URL/healthz"

# --- the three tools ----------------------------------------------------------------------
# scenario SECONDS: loadgen's scenario for one run.
scenario() {
  cat >"$work/bench-$1.toml" <<TOML
name = "bench"
description = "$CONNS users sending GET / back to back"
users = $CONNS
hatch_rate = 100000
[traffic]
users = $CONNS
mix = { "/" = 1 }
[[phase]]
name = "max"
duration = "${1}s"
TOML
  echo "$work/bench-$1.toml"
}

# Each run_X sets rps, p99_ms, requests, errors, cpu (CPU seconds).
run_loadgen() {
  local d=$1 name=$2 file
  file=$(scenario "$d")
  rm -rf "$work/lg"
  bounded $((d + 60)) "$RAW/$name.txt" "$LOADGEN" run "$file" --target "$URL" --quiet --report-dir "$work/lg" ||
    die "loadgen failed (see $RAW/$name.txt)"
  read -r requests errors duration p99_ms < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
p = r["phases"][0]
print(r["totals"]["requests"], r["totals"]["errors"], p["duration_s"], p["latency"]["p99_ms"])' "$work/lg/report.json")
  rps=$(python3 -c "print(f'{$requests / $duration:.0f}')")
  cpu=$(cat "$RAW/$name.txt.cpu")
}

run_wrk() {
  local d=$1 name=$2
  bounded $((d + 30)) "$RAW/$name.txt" wrk -t2 -c"$CONNS" -d"${d}s" --latency "$URL/" ||
    die "wrk failed (see $RAW/$name.txt)"
  rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$RAW/$name.txt")
  requests=$(awk '/ requests in / {print $1}' "$RAW/$name.txt")
  errors=$(awk '/Non-2xx or 3xx responses/ {print $NF} END {}' "$RAW/$name.txt")
  errors=${errors:-0}
  p99_ms=$(awk '$1 == "99%" {
      v = $2; u = v; sub(/^[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
      f = (u == "us") ? 0.001 : (u == "s") ? 1000 : (u == "m") ? 60000 : 1
      printf "%.2f", v * f }' "$RAW/$name.txt")
  cpu=$(cat "$RAW/$name.txt.cpu")
}

run_locust() {
  local d=$1 name=$2
  rm -f "$work"/locust_*.csv
  bounded $((d + 60)) "$RAW/$name.txt" .venv/bin/locust -f bench/peers/locustfile.py --headless \
    -u "$CONNS" -r "$CONNS" -t "${d}s" -H "$URL" --csv "$work/locust" --only-summary --loglevel WARNING ||
    die "locust failed (see $RAW/$name.txt)"
  # Answers over the run's length, as for the others (locust's own Requests/s leaves out
  # its start).
  read -r requests errors p99_ms < <(python3 -c '
import csv, sys
for row in csv.DictReader(open(sys.argv[1])):
    if row["Name"] == "Aggregated":
        print(row["Request Count"], row["Failure Count"], row["99%"])' "$work/locust_stats.csv")
  rps=$(python3 -c "print(f'{$requests / $d:.0f}')")
  cpu=$(cat "$RAW/$name.txt.cpu")
}

load_before=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
declare -A R
for tool in loadgen wrk locust; do
  say "$tool: ${WARMUP} s warm-up, then ${DURATION} s, $CONNS users/connections, GET / on $URL"
  "run_$tool" "$WARMUP" "$tool.warmup"
  "run_$tool" "$DURATION" "$tool"
  R[$tool.rps]=$rps R[$tool.p99]=$p99_ms R[$tool.requests]=$requests R[$tool.errors]=$errors R[$tool.cpu]=$cpu
  say "  $tool: $rps req/s, p99 $p99_ms ms, $requests requests ($errors errors), ${cpu} CPU-s"
done

# --- results ------------------------------------------------------------------------------
calc() { python3 -c "import sys; a, b = map(float, sys.argv[2:4]); print($1)" _ "$2" "$3"; }
per_cpu() { calc 'f"{a / b:.0f}" if b > 0 else "n/a"' "$1" "$2"; }
cpu_pct() { calc 'f"{a / b * 100:.0f}%"' "$1" "$2"; }
vs_locust=$(calc 'f"{a / b:.1f}"' "${R[loadgen.rps]}" "${R[locust.rps]}")
vs_wrk=$(calc 'f"{a / b * 100:.0f}"' "${R[loadgen.rps]}" "${R[wrk.rps]}")
locust_ok=$(calc '"met" if a >= 5 * b else "MISSED"' "${R[loadgen.rps]}" "${R[locust.rps]}")
wrk_ok=$(calc '"met" if a >= 0.6 * b else "MISSED"' "${R[loadgen.rps]}" "${R[wrk.rps]}")
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
locust_version=$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("locust"))')
goose_version=$(awk '/^name = "goose"$/ {getline; gsub(/"/, "", $3); print $3; exit}' Cargo.lock 2>/dev/null || true)
wrk_version=$(wrk --version 2>&1 | head -1 | awk '{print $2}' || true)
mode=
[ "$QUICK" = 1 ] && mode="QUICK=1, "

mkdir -p "$(dirname "$OUT")"
{
  echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores (${cpu:-unknown CPU}), $(uname -sr);"
  echo "${mode}$CONNS users or connections, \`GET /\` on target/release/demo-service (DD_TRACE_ENABLED=false), ${DURATION} s after a ${WARMUP} s warm-up, every process on this machine."
  echo
  echo "| load generator | req/s | CPU-s | CPU (of one core) | req per CPU-s | p99 ms | errors |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  for tool in loadgen wrk locust; do
    case $tool in
    loadgen) label="loadgen (goose $goose_version, closed model)" ;;
    wrk) label="wrk $wrk_version -t2 (peer, the ceiling)" ;;
    locust) label="locust $locust_version FastHttpUser, 1 process (peer)" ;;
    esac
    echo "| $label | ${R[$tool.rps]} | ${R[$tool.cpu]} | $(cpu_pct "${R[$tool.cpu]}" "$DURATION") | $(per_cpu "${R[$tool.requests]}" "${R[$tool.cpu]}") | ${R[$tool.p99]} | ${R[$tool.errors]} |"
  done
  echo
  echo "- loadgen vs locust: ${vs_locust}x (target: at least 5x): $locust_ok"
  echo "- loadgen vs wrk: ${vs_wrk}% (target: at least 60%): $wrk_ok"
  echo "- loadgen's p99 is from each request's send (closed model); locust's p99 is rounded by locust"
  echo "- load average (1 min) when the runs began: $load_before; other work on the machine skews the figures"
} >"$OUT"
say "results in $OUT:"
cat "$OUT"

if [ "${STRICT:-0}" = 1 ] && { [ "$locust_ok" != met ] || [ "$wrk_ok" != met ]; }; then
  die "a target was missed (STRICT=1)"
fi
