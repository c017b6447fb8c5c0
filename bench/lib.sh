# Sourced by the bench scripts: where cargo puts binaries, and the process handling they share
# (a work folder, every started process ended on exit however the script ends, a watchdog
# bounding the whole run). The sourcing script defines `die`.

# cargo's target directory, as the workspace configures it.
bench_target_dir() {
  cargo metadata --format-version 1 --no-deps 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null ||
    echo "${CARGO_TARGET_DIR:-target}"
}

# bench_begin NAME BUDGET_S: makes $work, starts tracking $pids, installs the exit cleanup and
# a watchdog that stops the script past BUDGET_S.
bench_begin() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/bench-$1.XXXXXX")
  pids=()
  watchdog=
  trap bench_cleanup EXIT
  trap 'echo "bench: interrupted" >&2; exit 130' INT TERM
  # shellcheck disable=SC2016 # $1 and $2 are the inner shell's
  setsid bash -c 'sleep "$1"; echo "bench: over its time budget of $1 s; stopping" >&2; kill -TERM "$2"' \
    _ "$2" "$$" </dev/null &
  watchdog=$!
}

bench_cleanup() {
  local status=$? pid _
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 50); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  # Each process was started in its own session: this also ends what it left behind.
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  [ -z "$watchdog" ] || kill -KILL -- "-$watchdog" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
  exit "$status"
}

# stop PID: SIGTERM (timeout passes it on), up to 45 s to exit, then SIGKILL to its session.
stop() {
  local pid=$1 _
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 450); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "bench: pid $pid still runs 45 s after SIGTERM; killing it" >&2
  fi
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  forget "$pid"
}

# forget PID: no longer ended by the cleanup.
forget() {
  local keep=() p
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  pids=("${keep[@]}")
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http URL PID NAME: until URL answers, or NAME (logging to $work/NAME.log) exits.
wait_http() {
  local url=$1 pid=$2 name=$3 _
  for _ in $(seq 600); do
    curl -fs -o /dev/null --max-time 1 "$url" && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$work/$name.log" >&2 || true
      die "$name exited before answering $url"
    fi
    sleep 0.1
  done
  tail -n 20 "$work/$name.log" >&2 || true
  die "$name does not answer $url after 60 s"
}
