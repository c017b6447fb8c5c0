#!/usr/bin/env bash
# agent-lite's own CPU and RSS while its collectors watch 20 containers (host metrics,
# container metrics, Docker events, container logs), against agent-lite with the collectors
# off, in one run. Anchor: the Datadog Agent's own idle quality gate bounds its memory at
# 179 MiB PSS (DataDog/datadog-agent, test/regression/cases/quality_gate_idle).
# Target: the collectors cost under 2% of one core and under 30 MB.
#
#   bench/collectors.sh              # 120 s a side
#   QUICK=1 bench/collectors.sh      # 20 s a side, for CI
#
# Knobs: CONTAINERS (20), DURATION (seconds a side), SKIP_BUILD=1 (use target/release as is).
# Writes bench/results/collectors.md. Needs the Docker Engine and gcc with a static libc: the
# containers run a static C program imported as an image, since no registry is reachable.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

QUICK=${QUICK:-0}
CONTAINERS=${CONTAINERS:-20}
DURATION=${DURATION:-120}
[ "$QUICK" = 1 ] && DURATION=20
WARMUP=20
IMAGE=lab-bench/sleeper:1
PREFIX=lab-bench-collectors
say() { echo "bench/collectors: $*"; }
die() { echo "bench/collectors: error: $*" >&2; exit 1; }

docker version --format '{{.Server.APIVersion}}' >/dev/null 2>&1 || die "the Docker Engine is not reachable"
command -v gcc >/dev/null || die "gcc is needed to build the containers' program"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  say "cargo build --release -p agent-lite"
  cargo build --release -q -p agent-lite
fi
target_dir=$(bench_target_dir)
BIN="$target_dir/release/agent-lite"
[ -x "$BIN" ] || die "$BIN is missing (run without SKIP_BUILD)"

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  docker ps -aq --filter "name=$PREFIX-" | xargs -r docker rm -f >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  say "building $IMAGE from agent-lite/tests/docker/sleeper.c"
  mkdir -p "$work/rootfs/bin"
  gcc -static -Os -o "$work/rootfs/sleeper" agent-lite/tests/docker/sleeper.c
  cp "$work/rootfs/sleeper" "$work/rootfs/bin/sh"
  tar -C "$work/rootfs" -cf "$work/rootfs.tar" sleeper bin
  docker import --change 'CMD ["/sleeper"]' "$work/rootfs.tar" "$IMAGE" >/dev/null
fi

say "starting $CONTAINERS containers (each logs a line a second, health-checked)"
for i in $(seq 1 "$CONTAINERS"); do
  docker run -d --name "$PREFIX-$i" --memory 64m --health-cmd true --health-interval 5s \
    -e ALLOC_MB=2 -e LOG_EVERY_MS=1000 -e LOG_TRACE_ID=$i \
    --label 'com.datadoghq.ad.logs=[{"source":"bench","service":"bench"}]' \
    "$IMAGE" >/dev/null
done

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
measure() { # label env...
  local label=$1; shift
  env -i PATH="$PATH" "$@" DD_BIND_HOST=127.0.0.1 DD_APM_RECEIVER_PORT=28126 DD_DOGSTATSD_PORT=28125 \
    AGENT_LITE_API_PORT=25002 DD_HOSTNAME=bench "$BIN" >"$work/$label.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  sleep "$WARMUP"
  kill -0 "$pid" 2>/dev/null || die "agent-lite ($label) stopped: $(tail -3 "$work/$label.log")"
  local t0 t1 tck
  t0=$(cpu_ticks "$pid")
  sleep "$DURATION"
  t1=$(cpu_ticks "$pid")
  tck=$(getconf CLK_TCK)
  local cpu rss hwm
  cpu=$(python3 -c "print(round(($t1-$t0)/$tck/$DURATION*100, 3))")
  rss=$(awk '/VmRSS/{print int($2/1024)}' "/proc/$pid/status")
  hwm=$(awk '/VmHWM/{print int($2/1024)}' "/proc/$pid/status")
  local status=""
  [ "$label" = on ] && status=$(curl -s http://127.0.0.1:25002/status || true)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$cpu $rss $hwm" >"$work/$label.figures"
  [ -n "$status" ] && echo "$status" >"$work/status.json"
  say "$label: ${cpu}% of a core, RSS ${rss} MiB (peak ${hwm} MiB)"
}

load=$(cut -d' ' -f1 /proc/loadavg)
measure off AGENT_LITE_HOST_METRICS=false AGENT_LITE_CONTAINER_METRICS=false AGENT_LITE_CONTAINER_LOGS=false
measure on DD_LOGS_CONFIG_CONTAINER_COLLECT_ALL=false
read -r off_cpu off_rss _ <"$work/off.figures"
read -r on_cpu on_rss on_hwm <"$work/on.figures"
followed=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); c=d.get("counters",{}); print(c.get("logs.container_lines",c.get("logs.lines",0)))' "$work/status.json" 2>/dev/null || echo "?")
cost_cpu=$(python3 -c "print(round($on_cpu-$off_cpu, 3))")
cost_rss=$((on_rss - off_rss))
verdict() { python3 -c "print('met' if $1 else 'MISSED')"; }

mkdir -p bench/results
cat >bench/results/collectors.md <<MD
Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores, $CONTAINERS containers, ${DURATION} s a side
after ${WARMUP} s of warm-up; load average (1 min) at the start: $load.

| agent-lite | CPU, % of one core | RSS MiB | peak RSS MiB |
| --- | ---: | ---: | ---: |
| collectors on (host, containers, events, logs of $CONTAINERS containers) | $on_cpu | $on_rss | $on_hwm |
| collectors off | $off_cpu | $off_rss | |
| the collectors' cost | $cost_cpu | $cost_rss | |

- target: under 2% of one core: $(verdict "$cost_cpu < 2"); under 30 MB: $(verdict "$cost_rss < 30")
- anchor: the Datadog Agent's idle quality gate bounds the whole Agent at 179 MiB PSS
- container log lines received while measuring: $followed
MD
say "wrote bench/results/collectors.md"
cat bench/results/collectors.md
