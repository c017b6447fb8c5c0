#!/usr/bin/env bash
# Stage of bench/run (issue 6): the most requests a second loadgen drives against the demo
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
# machine's cores with the service. Figures to $RESULTS/data/loadgen.json.
#
#   bench/loadgen.sh              # 10 s a tool (DURATION=N to change)
#   QUICK=1 bench/loadgen.sh      # 3 s a tool
#
# Other knobs: CONNS (32: users of loadgen and locust, connections of wrk), WARMUP (1),
# SKIP_BUILD=1 (use the binaries already built).
set -euo pipefail
cd "$(dirname "$0")/.."
stage=loadgen
# shellcheck source=bench/lib.sh
. bench/lib.sh

DURATION=${DURATION:-$(by_mode 10 3)}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-32}
positive DURATION WARMUP CONNS
bench_clean_env

bench_setup
[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is missing: apt-get install time"
[ -x .venv/bin/locust ] || die ".venv/bin/locust is missing: run tests/setup"
bench_build
SERVICE=$(bin demo-service)
LOADGEN=$(bin loadgen)

budget=$((3 * (WARMUP + DURATION + 60) + 120))
bench_begin "$budget"

# --- the service --------------------------------------------------------------------------
port=$(free_port)
URL=http://127.0.0.1:$port
spawn service $((budget + 30)) env DD_TRACE_ENABLED=false DD_RUNTIME_METRICS_ENABLED=false \
  DD_DOGSTATSD_PORT="$(free_port)" DEMO_LOG_LEVEL=warn "$SERVICE" --listen "127.0.0.1:$port"
wait_http "$URL/healthz" "$spawned" service

# --- the three tools ----------------------------------------------------------------------
# Each run_X SECONDS NAME writes $RAW/NAME.json: requests, errors, rps, cpu_s, latency_ms.

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

run_loadgen() {
  local d=$1 name=$2 file
  file=$(scenario "$d")
  rm -rf "$work/lg"
  bounded $((d + 60)) "$RAW/$name.txt" "$LOADGEN" run "$file" --target "$URL" --quiet --report-dir "$work/lg" ||
    die "loadgen failed (see $RAW/$name.txt and $RAW/$name.txt.err)"
  python3 - "$work/lg/report.json" "$(cat "$RAW/$name.txt.cpu")" >"$RAW/$name.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
p = r["phases"][0]
lat = p["latency"]
print(json.dumps({"requests": r["totals"]["requests"], "errors": r["totals"]["errors"],
                  "duration_s": p["duration_s"], "rps": r["totals"]["requests"] / p["duration_s"],
                  "cpu_s": float(sys.argv[2]),
                  "latency_ms": {"p50": lat["p50_ms"], "p95": lat["p95_ms"], "p99": lat["p99_ms"], "max": lat["max_ms"]}}))
PY
}

run_wrk_peer() {
  local d=$1 name=$2
  run_wrk "$name" "$URL/" "$d" "$CONNS"
  python3 - "$RAW/$name.json" "$(cat "$RAW/$name.wrk.txt.cpu")" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["cpu_s"] = float(sys.argv[2])
d["errors"] = sum(d["errors"].values())
json.dump(d, open(sys.argv[1], "w"))
PY
}

run_locust() {
  local d=$1 name=$2
  rm -f "$work"/locust_*.csv
  bounded $((d + 60)) "$RAW/$name.txt" .venv/bin/locust -f bench/peers/locustfile.py --headless \
    -u "$CONNS" -r "$CONNS" -t "${d}s" -H "$URL" --csv "$work/locust" --only-summary --loglevel WARNING ||
    die "locust failed (see $RAW/$name.txt and $RAW/$name.txt.err)"
  # Answers over the run's length, as for the others (locust's own Requests/s leaves out its
  # start). Its percentiles are rounded to 2 significant digits.
  python3 - "$work/locust_stats.csv" "$d" "$(cat "$RAW/$name.txt.cpu")" >"$RAW/$name.json" <<'PY'
import csv, json, sys
row = next(r for r in csv.DictReader(open(sys.argv[1])) if r["Name"] == "Aggregated")
n = int(row["Request Count"])
# locust writes N/A for a percentile it has no figure for (a short run).
ms = lambda v: float(v) if v not in ("", "N/A") else None
print(json.dumps({"requests": n, "errors": int(row["Failure Count"]), "duration_s": float(sys.argv[2]),
                  "rps": n / float(sys.argv[2]), "cpu_s": float(sys.argv[3]),
                  "latency_ms": {"p50": ms(row["50%"]), "p90": ms(row["90%"]),
                                 "p95": ms(row["95%"]), "p99": ms(row["99%"]), "max": ms(row["100%"])}}))
PY
}

load_before=$(loadavg)
for tool in loadgen wrk_peer locust; do
  name=${tool%_peer}
  say "$name: ${WARMUP} s warm-up, then ${DURATION} s, $CONNS users/connections, GET / on $URL"
  "run_$tool" "$WARMUP" "$name.warmup"
  "run_$tool" "$DURATION" "$name"
  [ "$(json "$RAW/$name.json" 'd["requests"]')" -gt 0 ] || die "$name got no answer in $DURATION s (see $RAW/$name.txt.err)"
  say "  $name: $(json "$RAW/$name.json" 'round(d["rps"]), d["latency_ms"]["p99"], d["cpu_s"]' |
    awk '{print $1 " req/s, p99 " $2 " ms, " $3 " CPU-s"}')"
done

# --- figures ------------------------------------------------------------------------------
# wrk --version exits 1 after printing its version.
wrk_version=$(wrk --version 2>&1 | head -n 1 | awk '{print $2}' || true)
goose=$(awk '/^name = "goose"$/ {getline; gsub(/"/, "", $3); print $3; exit}' Cargo.lock 2>/dev/null || true)
emit "$DATA/loadgen.json" <<EOF
load $CONNS users or connections, \`GET /\` on target/$LAB_PROFILE/demo-service (DD_TRACE_ENABLED=false), ${DURATION} s after a ${WARMUP} s warm-up, every process on this machine
duration_s $DURATION
load_before $load_before
systems.loadgen.label loadgen (goose ${goose:-?}, closed model)
systems.loadgen.run @$RAW/loadgen.json
systems.wrk.label wrk ${wrk_version:-?} -t2
systems.wrk.run @$RAW/wrk.json
systems.locust.label locust $(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("locust"))') FastHttpUser, 1 process
systems.locust.run @$RAW/locust.json
notes[] each tool measures latency its own way: loadgen from each request's send (closed model), wrk per request, locust rounded to 2 digits; compare throughput, not latency, across tools
EOF
bench_report
