#!/usr/bin/env bash
# Stage of bench/run: agent-lite's own CPU and RSS while its collectors watch 20 containers
# (host metrics, container metrics, Docker events, container logs), against agent-lite with
# the collectors off, in one run. Anchor: the Datadog Agent's own idle quality gate bounds its
# memory at 179 MiB PSS (DataDog/datadog-agent, test/regression/cases/quality_gate_idle).
# Target: the collectors cost under 2% of one core and under 30 MB.
#
#   bench/collectors.sh              # 120 s a side after 20 s of warm-up
#   QUICK=1 bench/collectors.sh      # 10 s a side after 5 s
#
# Knobs: CONTAINERS (20), DURATION (seconds a side), WARMUP, SKIP_BUILD=1 (use target/release
# as is). Figures to $RESULTS/data/collectors.json. Needs the Docker Engine and gcc with a
# static libc: the containers run a static C program imported as an image, since no registry
# is reachable.
set -euo pipefail
cd "$(dirname "$0")/.."
stage=collectors
# shellcheck source=bench/lib.sh
. bench/lib.sh

CONTAINERS=${CONTAINERS:-20}
DURATION=${DURATION:-$(by_mode 120 10)}
WARMUP=${WARMUP:-$(by_mode 20 5)}
positive CONTAINERS DURATION WARMUP
IMAGE=lab-bench/sleeper:1
# Unique names: a run of this stage elsewhere on the machine is left alone.
PREFIX=lab-bench-collectors-$$
bench_clean_env

require docker gcc curl python3
docker version --format '{{.Server.APIVersion}}' >/dev/null 2>&1 || die "the Docker Engine is not reachable"
bench_build
AGENT=$(bin agent-lite)

bench_begin $((2 * (WARMUP + DURATION) + 300))
bench_on_exit() {
  docker ps -aq --filter "name=$PREFIX-" | xargs -r docker rm -f >/dev/null 2>&1 || true
}

if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  say "building $IMAGE from agent-lite/tests/docker/sleeper.c"
  mkdir -p "$work/rootfs/bin"
  gcc -static -Os -o "$work/rootfs/sleeper" agent-lite/tests/docker/sleeper.c
  cp "$work/rootfs/sleeper" "$work/rootfs/bin/sh"
  tar -C "$work/rootfs" -cf "$work/rootfs.tar" sleeper bin
  docker import --change 'CMD ["/sleeper"]' "$work/rootfs.tar" "$IMAGE" >/dev/null
fi

say "starting $CONTAINERS containers (each logs a line a second, health-checked)"
# All at once: one after the other takes a second each.
starts=()
for i in $(seq 1 "$CONTAINERS"); do
  timeout 120 docker run -d --name "$PREFIX-$i" --memory 64m --health-cmd true --health-interval 5s \
    -e ALLOC_MB=2 -e LOG_EVERY_MS=1000 -e LOG_TRACE_ID="$i" \
    --label 'com.datadoghq.ad.logs=[{"source":"bench","service":"bench"}]' \
    "$IMAGE" >"$work/run-$i.txt" 2>&1 &
  starts+=($!)
done
for i in "${!starts[@]}"; do
  wait "${starts[$i]}" || die "docker run of container $((i + 1)) failed: $(cat "$work/run-$((i + 1)).txt")"
done

# measure LABEL ENV...: agent-lite with ENV, WARMUP s to settle, then DURATION s measured.
# Writes $RAW/collectors-LABEL.json.
measure() {
  local label=$1 api t0 t1
  shift
  api=$(free_port)
  spawn "agent-$label" $((WARMUP + DURATION + 120)) env -i PATH="$PATH" "$@" DD_BIND_HOST=127.0.0.1 \
    DD_APM_RECEIVER_PORT="$(free_port)" DD_DOGSTATSD_PORT="$(free_port)" AGENT_LITE_API_PORT="$api" \
    DD_HOSTNAME=bench "$AGENT"
  local pid=$spawned main=$spawned_main
  wait_http "http://127.0.0.1:$api/status" "$pid" "agent-$label"
  sleep "$WARMUP"
  alive "$main" "agent-$label"
  t0=$(cpu_ticks "$main")
  sleep "$DURATION"
  alive "$main" "agent-$label"
  t1=$(cpu_ticks "$main")
  curl -fs --max-time 10 "http://127.0.0.1:$api/status" >"$RAW/collectors-$label.status.json" ||
    die "could not read agent-lite's status ($label)"
  python3 - "$(cpu_seconds "$t0" "$t1")" "$DURATION" "$(rss_kib "$main")" "$(hwm_kib "$main")" \
    "$RAW/collectors-$label.status.json" >"$RAW/collectors-$label.json" <<'PY'
import json, sys
cpu_s, secs, rss, hwm = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
c = json.load(open(sys.argv[5])).get("counters", {})
print(json.dumps({"cpu_s": cpu_s, "cpu_pct": 100 * cpu_s / secs, "rss_kib": rss, "peak_rss_kib": hwm,
                  "log_lines": c.get("logs.container_lines", c.get("logs.lines", 0))}))
PY
  stop "$pid"
  say "$label: $(json "$RAW/collectors-$label.json" 'round(d["cpu_pct"], 2), d["rss_kib"] // 1024' |
    awk '{print $1 "% of a core, RSS " $2 " MiB"}')"
}

load_before=$(loadavg)
measure off AGENT_LITE_HOST_METRICS=false AGENT_LITE_CONTAINER_METRICS=false AGENT_LITE_CONTAINER_LOGS=false
measure on DD_LOGS_CONFIG_CONTAINER_COLLECT_ALL=false

emit "$DATA/collectors.json" <<EOF
load $CONTAINERS containers (each logging a line a second, health-checked, 64 MB limit), ${DURATION} s a side after ${WARMUP} s of warm-up
containers $CONTAINERS
duration_s $DURATION
load_before $load_before
on @$RAW/collectors-on.json
off @$RAW/collectors-off.json
notes[] collectors on: host metrics, container metrics, Docker events, the logs of the containers labelled for it; off: all of them disabled
notes[] anchor: the Datadog Agent's idle quality gate bounds the whole Agent at 179 MiB PSS (DataDog/datadog-agent, test/regression/cases/quality_gate_idle)
EOF
bench_report
