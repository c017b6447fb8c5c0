#!/usr/bin/env bash
# Stage of bench/run (issue 7): the lab's images and the whole compose stack's memory.
#   (a) the images as compose/build-offline.sh builds them (no registry: a debootstrap base and
#       the binaries of the release build), under a tag of this run's own; their sizes from
#       `docker image inspect`;
#   (b) the stack up as a student starts it (compose.yaml + compose/offline.yaml, the
#       `baseline` scenario: 10 req/s of calm traffic), under a project name and 127.0.0.1
#       ports of its own; the time from `up -d` to the first demo-service trace visible in
#       agent-lite's API; then the memory of every container of the lab (demo-service,
#       inventory, PostgreSQL, agent-lite, loadgen: `docker stats --no-stream`, what a user
#       sees) every SAMPLE s for STACK_SECONDS s. Target: the whole lab under 200 MB.
# `down -v` and the removal of the run's images end it, however it ends.
#
#   bench/stack.sh              # 600 s of steady load, a sample every 30 s
#   QUICK=1 bench/stack.sh      # 20 s, a sample every 10 s
#
# Knobs: STACK_SECONDS, SAMPLE, SKIP_BUILD=1. Needs the Docker Engine and Compose v2 (which
# tests/setup installs); the first build of the base image needs root and a Debian mirror
# (compose/build-offline.sh says more), later ones reuse target/lab-images/.
# Figures to $RESULTS/data/stack.json.
set -euo pipefail
cd "$(dirname "$0")/.."
stage=stack
# shellcheck source=bench/lib.sh
. bench/lib.sh

STACK_SECONDS=${STACK_SECONDS:-$(by_mode 600 20)}
SAMPLE=${SAMPLE:-$(by_mode 30 10)}
positive STACK_SECONDS SAMPLE
bench_clean_env

require docker
docker info >/dev/null 2>&1 || die "the Docker engine does not answer ('docker info' failed)"
# Compose v2, the README's `docker compose`: tests/setup installs it where Docker has none.
bench_setup
docker compose version >/dev/null 2>&1 || die "docker compose (Compose v2) is missing: tests/setup installs it"
export COMPOSE="docker compose" # for compose/build-offline.sh
bench_build

# This run's own tag, project and ports: a lab already running here is left alone.
export LAB_TAG=bench$$
project=labbench$$
# The lab's own images, a binary each (the 40 MB target); inventory runs demo-service's.
images=(demo-service agent-lite loadgen)
# Every container of the lab: its memory is the whole lab's.
services=(demo-service inventory postgres agent-lite loadgen)
bench_begin $((STACK_SECONDS + 1800))
up=0
bench_on_exit() {
  if [ "$up" = 1 ]; then
    timeout 180 docker compose --env-file "$work/empty.env" -p "$project" -f compose.yaml -f compose/offline.yaml \
      down -v --remove-orphans --timeout 20 >"$RAW/stack.down.txt" 2>&1 ||
      echo "bench/$stage: compose down failed: $(tail -n 5 "$RAW/stack.down.txt")" >&2
  fi
  local s
  for s in "${images[@]}" postgres; do docker rmi -f "lab/$s:$LAB_TAG" >/dev/null 2>&1 || true; done
}
: >"$work/empty.env" # a developer's .env (an API key, other ports) does not leak in

# --- (a) images -----------------------------------------------------------------------------
say "images: compose/build-offline.sh (LAB_TAG=$LAB_TAG, the binaries of the $LAB_PROFILE build)"
t0=$(date +%s)
bounded 1800 "$RAW/stack.build.txt" env LAB_SKIP_CARGO=1 compose/build-offline.sh ||
  die "compose/build-offline.sh failed: $(tail -n 15 "$RAW/stack.build.txt" "$RAW/stack.build.txt.err")"
build_s=$(($(date +%s) - t0))
{
  for s in "${images[@]}"; do
    echo "images.$s.bytes $(docker image inspect -f '{{ .Size }}' "lab/$s:$LAB_TAG")"
    echo "images.$s.binary_bytes $(stat -c %s "target/lab-images/context/$s")"
  done
  # Debian's PostgreSQL 15 on its own debootstrap base: not the lab's code, shown for the record.
  echo "postgres_image_bytes $(docker image inspect -f '{{ .Size }}' "lab/postgres:$LAB_TAG")"
  echo "base_image_bytes $(docker image inspect -f '{{ .Size }}' "${LAB_BASE_IMAGE:-lab/base:bookworm}" 2>/dev/null || echo unknown)"
  echo "images_build_s $build_s"
} >"$work/images.txt"
say "  $(awk '/^images\..*\.bytes / {split($1, k, "."); printf "%s %.1f MB  ", k[2], $2 / 1e6} /^postgres_image_bytes / {printf "postgres %.1f MB  ", $2 / 1e6}' "$work/images.txt")(built in ${build_s} s)"

# --- (b) the stack under steady load ----------------------------------------------------
compose() {
  timeout 300 env LAB_DOCKER_GID="$(stat -c %g /var/run/docker.sock 2>/dev/null || echo 0)" \
    LAB_DEMO_PORT="$demo_port" LAB_API_PORT="$api_port" LAB_APM_PORT="$(free_port)" \
    LAB_DOGSTATSD_PORT="$(free_port)" LAB_SCENARIO=baseline \
    docker compose --env-file "$work/empty.env" -p "$project" -f compose.yaml -f compose/offline.yaml "$@"
}
demo_port=$(free_port) api_port=$(free_port)
api=http://127.0.0.1:$api_port
say "stack: up -d (project $project, baseline scenario)"
t_up=$(date +%s.%N)
up=1
compose up -d --no-build >"$RAW/stack.up.txt" 2>&1 || die "compose up failed: $(tail -n 15 "$RAW/stack.up.txt")"
ids=()
for s in "${services[@]}"; do
  id=$(compose ps -q "$s" 2>/dev/null | head -n 1)
  [ -n "$id" ] || die "no container for $s after up (see $RAW/stack.up.txt)"
  ids+=("$id")
done
# Cold up (images present) to the first demo-service trace agent-lite shows.
first_trace_s=
for _ in $(seq 240); do
  if curl -fs --max-time 2 "$api/api/v0/traces?service=demo-service&limit=1" 2>/dev/null |
    python3 -c 'import json, sys; sys.exit(0 if json.load(sys.stdin).get("traces") else 1)' 2>/dev/null; then
    first_trace_s=$(python3 -c "import time; print(round(time.time() - $t_up, 1))")
    break
  fi
  sleep 0.5
done
[ -n "$first_trace_s" ] || die "no demo-service trace in agent-lite 120 s after up (see docker logs of project $project)"
say "  first trace visible ${first_trace_s} s after up -d; sampling memory for ${STACK_SECONDS} s"

# sample: one `docker stats` line per container, as "SECONDS NAME MEMUSAGE".
t_steady=$(date +%s)
: >"$RAW/stack.samples.txt"
while :; do
  at=$(($(date +%s) - t_steady))
  for i in "${!ids[@]}"; do
    state=$(docker inspect -f '{{ .State.Status }}' "${ids[$i]}" 2>/dev/null || echo gone)
    [ "$state" = running ] || die "${services[$i]} is $state during the steady load"
  done
  timeout 60 docker stats --no-stream --format '{{.Name}}\t{{.MemUsage}}' "${ids[@]}" |
    awk -v at="$at" -F'\t' '{split($2, u, " / "); print at "\t" $1 "\t" u[1]}' >>"$RAW/stack.samples.txt" ||
    die "docker stats failed"
  [ "$at" -ge "$STACK_SECONDS" ] && break
  sleep "$SAMPLE"
done
compose logs --no-color --tail 20 >"$RAW/stack.logs-tail.txt" 2>&1 || true

# The samples in MiB, per container (named by service), in the order taken.
python3 - "$RAW/stack.samples.txt" "$project" >"$work/samples.json" <<'PY'
import json, re, sys
units = {"B": 1 / 2**20, "KiB": 1 / 2**10, "kB": 1e3 / 2**20, "MiB": 1, "MB": 1e6 / 2**20, "GiB": 2**10, "GB": 1e9 / 2**20}
samples = {}
for line in open(sys.argv[1]):
    at, name, used = line.rstrip("\n").split("\t")
    m = re.fullmatch(r"([0-9.]+)\s*([A-Za-z]+)", used.strip())
    if not m or m.group(2) not in units:
        sys.exit(f"unreadable docker stats figure: {used!r}")
    # project-service-1 (Compose v2) or project_service_1 (1.29): the service's name.
    service = re.sub(r"^" + re.escape(sys.argv[2]) + r"[-_]|[-_]\d+$", "", name)
    samples.setdefault(int(at), {})[service] = round(float(m.group(1)) * units[m.group(2)], 2)
print(json.dumps([{"at_s": at, "mib": by} for at, by in sorted(samples.items())]))
PY
say "  last sample: $(json "$work/samples.json" 'round(sum(d[-1]["mib"].values()), 1)') MiB in all"

{
  echo "load the \`baseline\` scenario (10 req/s of calm traffic), ${STACK_SECONDS} s, \`docker stats --no-stream\` of ${services[*]} every ${SAMPLE} s"
  echo "steady_s $STACK_SECONDS"
  echo "compose docker compose $(docker compose version --short)"
  echo "docker $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo unknown)"
  echo "up_to_first_trace_s $first_trace_s"
  echo "samples @$work/samples.json"
  cat "$work/images.txt"
  echo "notes[] images built by compose/build-offline.sh (a debootstrap base cut down to glibc, libgcc and CA certificates; the binaries stripped of their line tables); sizes as \`docker image inspect\` gives them"
  echo "notes[] memory as \`docker stats\` shows it (the cgroup's usage less its page cache); agent-lite grows until its stores are full (30,000 spans, 20,000 log lines, 2 hours of metrics in compose)"
} | emit "$DATA/stack.json"
bench_report
