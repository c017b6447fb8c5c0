# shellcheck shell=bash
# shellcheck disable=SC2034 # spawned, spawned_main, BIN...: read by the scripts that source this
# Sourced by bench/run and by each of its stages (bench/<stage>.sh): what they share. The
# sourcing script sets `stage` first (its name, in messages and file names). Each stage also
# runs alone (`QUICK=1 bench/loadgen.sh`); bench/run runs them in turn, then the report.
#
# What a stage gets here: say/die; QUICK and the results folders; the peers installed
# (tests/setup) and the one release build; a work folder, processes started in sessions of
# their own and every one of them ended on exit, however the script ends; a watchdog bounding
# the whole run; wrk with its figures as JSON; a way to write the stage's figures as JSON for
# the report (bench/report).

: "${stage:=bench}"
say() { echo "bench/$stage: $*"; }
die() {
  echo "bench/$stage: error: $*" >&2
  exit 1
}

QUICK=${QUICK:-0}
case "$QUICK" in 0 | 1) ;; *) die "QUICK is 0 or 1, not '$QUICK'" ;; esac
# A full run publishes: bench/results is committed and shown in the README. A quick run (CI)
# writes under bench/results/quick (gitignored), so it never overwrites published figures.
# BENCH_RESULTS names another folder (a full-length run that is not to be published, e.g. of
# another build than release).
if [ -n "${BENCH_RESULTS:-}" ]; then
  RESULTS=$BENCH_RESULTS
elif [ "$QUICK" = 1 ]; then
  RESULTS=bench/results/quick
else
  RESULTS=bench/results
fi
DATA=$RESULTS/data # the stages' figures, JSON, read by the report
RAW=$RESULTS/raw   # tools' outputs and log tails, to look into (gitignored)
mkdir -p "$DATA" "$RAW"

# by_mode FULL QUICK: the value for this mode, as a default: `DURATION=${DURATION:-$(by_mode 10 3)}`.
by_mode() { if [ "$QUICK" = 1 ]; then echo "$2"; else echo "$1"; fi; }

# positive NAME...: dies unless each variable holds a whole number above 0.
positive() {
  local v
  for v in "$@"; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive whole number, not '${!v}'"
  done
}

# Settings of the caller's environment that the lab's programs read would change what is
# measured: Datadog, OpenTelemetry, and the lab's own variables.
bench_clean_env() {
  local v
  while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^(DD|OTEL|AGENT_LITE|DEMO|LOADGEN)_' || true)
}

# require TOOL...: dies naming the first tool missing.
require() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || die "$t is missing (tests/setup installs wrk, curl and the Python peers)"
  done
}

# The peers (wrk, and a venv with ddtrace, flask, gunicorn, locust, ddapm-test-agent), once a
# run: bench/run does it and tells the stages.
bench_setup() {
  if [ "${BENCH_SETUP_DONE:-0}" != 1 ]; then
    say "tests/setup (wrk, .venv with ddtrace, flask, gunicorn, locust, ddapm-test-agent)"
    tests/setup | sed 's/^/  /'
    export BENCH_SETUP_DONE=1
  fi
  require wrk curl python3 timeout setsid ps
}

# The cargo profile of the binaries measured: release (fat LTO) for the published figures;
# a quick run only proves the stages still run, on the quick-release build tests/run made.
LAB_PROFILE=${LAB_PROFILE:-$(by_mode release quick-release)}
export LAB_PROFILE # for compose/build-offline.sh

# The one build of bench/: every binary of the workspace, the package set
# compose/build-offline.sh builds too, so whichever runs second finds everything built.
# SKIP_BUILD=1 uses what is there. Sets BIN, the folder of the binaries.
bench_build() {
  if [ "${SKIP_BUILD:-0}" != 1 ] && [ "${BENCH_BUILT:-0}" != 1 ]; then
    say "cargo build --profile $LAB_PROFILE --locked --workspace --bins"
    timeout 3600 cargo build --profile "$LAB_PROFILE" --locked --workspace --bins ||
      die "cargo build --profile $LAB_PROFILE --locked --workspace --bins failed"
    export BENCH_BUILT=1
  fi
  BIN=$(tests/target-dir)/$LAB_PROFILE
}

# bin NAME: the path of a binary of the workspace, or die.
bin() {
  [ -x "$BIN/$1" ] || die "$BIN/$1 is missing: cargo build --profile $LAB_PROFILE --locked --workspace --bins"
  echo "$BIN/$1"
}

# bench_begin BUDGET_S: makes $work, starts tracking $pids, installs the exit cleanup and a
# watchdog that stops the script past BUDGET_S. bench_on_exit (a function the script may
# define) runs in the cleanup, before the processes are ended: containers, images.
bench_begin() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/bench-$stage.XXXXXX")
  pids=()
  watchdog=
  trap bench_cleanup EXIT
  trap 'echo "bench/$stage: interrupted" >&2; exit 130' INT TERM
  # set -e stops at a failed command without a word: say which.
  set -E
  trap 'echo "bench/$stage: error: line $LINENO: \"$BASH_COMMAND\" failed" >&2' ERR
  # shellcheck disable=SC2016 # $1, $2 and $3 are the inner shell's
  setsid bash -c 'sleep "$1"; echo "bench/$3: over its time budget of $1 s; stopping" >&2; kill -TERM "$2"' \
    _ "$1" "$$" "$stage" </dev/null &
  watchdog=$!
}

bench_cleanup() {
  local status=$? pid _
  trap - EXIT INT TERM ERR
  if declare -F bench_on_exit >/dev/null; then bench_on_exit || true; fi
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

# spawn NAME LIMIT_S COMMAND...: starts COMMAND in its own session, output to $work/NAME.log,
# ended by timeout after LIMIT_S at the latest. Sets spawned (timeout's pid, the session's)
# and spawned_main (the command's own pid, whose /proc figures are read).
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

# bounded LIMIT_S OUT COMMAND...: runs COMMAND for LIMIT_S at most, stdout to OUT, stderr to
# OUT.err, and waits for it in a way a signal to this script interrupts. Under GNU time when
# there is one: its CPU seconds (user + system, children included) go to OUT.cpu.
bounded() {
  local limit=$1 out=$2 pid rc=0 timer=()
  shift 2
  [ -x /usr/bin/time ] && timer=(/usr/bin/time -f '%U %S' -o "$out.time")
  "${timer[@]}" timeout "$limit" "$@" >"$out" 2>"$out.err" &
  pid=$!
  pids+=("$pid")
  wait "$pid" || rc=$?
  forget "$pid"
  if [ -f "$out.time" ]; then
    awk 'NF == 2 && $1 ~ /^[0-9.]+$/ {print $1 + $2}' "$out.time" | tail -n 1 >"$out.cpu"
    rm -f "$out.time"
  fi
  return "$rc"
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
    echo "bench/$stage: pid $pid still runs 45 s after SIGTERM; killing it" >&2
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

# alive PID NAME: dies when NAME has exited.
alive() { kill -0 "$1" 2>/dev/null || die "$2 died (its log tail: $(tail -n 5 "$work/$2.log" 2>/dev/null))"; }

# CPU ticks (user + system, every thread) and peak RSS (KiB) of a live process. The command
# name in /proc/PID/stat is cut off first: it may hold spaces.
tck=$(getconf CLK_TCK 2>/dev/null || echo 100)
stat_ticks() { sed 's/.*) //' | awk '{print $12 + $13}'; } # a /proc stat line on stdin
cpu_ticks() { stat_ticks <"/proc/$1/stat"; }
cpu_seconds() { python3 -c "print(round(($2 - $1) / $tck, 3))"; } # cpu_seconds T0 T1
# thread_ticks PID PREFIX: CPU ticks of PID's live threads whose name starts with PREFIX (a
# thread that has exited counts in cpu_ticks only).
thread_ticks() {
  local f line ticks total=0
  for f in /proc/"$1"/task/*/stat; do
    # Read once: a thread may end between two reads.
    line=$(cat "$f" 2>/dev/null) || continue
    [[ ${line#*(} == "$2"* ]] || continue
    ticks=$(stat_ticks <<<"$line")
    total=$((total + ${ticks:-0}))
  done
  echo "$total"
}
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
loadavg() { cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?"; }

# json FILE EXPR: evaluates the Python expression EXPR over the JSON in FILE (as `d`) and
# prints the value, or the values of a tuple separated by spaces.
json() {
  python3 -c "import json, sys; d = json.load(open(sys.argv[1])); r = ($2); print(*(r if isinstance(r, tuple) else (r,)))" "$1"
}

# run_wrk NAME URL SECONDS CONNS [THREADS]: `wrk --latency` with bench/peers/wrk-json.lua for
# SECONDS; wrk's text to $RAW/NAME.wrk.txt, its figures to $RAW/NAME.json (requests, rps,
# errors, latency percentiles in ms: see the Lua file), its CPU seconds to $RAW/NAME.wrk.txt.cpu.
run_wrk() {
  local name=$1 url=$2 secs=$3 conns=$4 threads=${5:-2}
  bounded $((secs + 30)) "$RAW/$name.wrk.txt" wrk -t"$threads" -c"$conns" -d"${secs}s" --latency \
    -s bench/peers/wrk-json.lua "$url" ||
    die "wrk against $name failed: $(cat "$RAW/$name.wrk.txt" "$RAW/$name.wrk.txt.err")"
  wrk_figures "$name"
}

# run_wrk_rate NAME URL SECONDS RATE CONNS [THREADS]: as run_wrk, at a fixed RATE req/s in all
# (bench/peers/wrk-rate.lua: wrk2's open model, which wrk alone does not have).
run_wrk_rate() {
  local name=$1 url=$2 secs=$3 rate=$4 conns=$5 threads=${6:-2}
  bounded $((secs + 30)) "$RAW/$name.wrk.txt" wrk -t"$threads" -c"$conns" -d"${secs}s" --latency \
    -s bench/peers/wrk-rate.lua "$url" -- "$rate" "$threads" ||
    die "wrk against $name failed: $(cat "$RAW/$name.wrk.txt" "$RAW/$name.wrk.txt.err")"
  wrk_figures "$name"
}

# wrk_figures NAME: wrk's JSON line of $RAW/NAME.wrk.txt to $RAW/NAME.json, or die.
wrk_figures() {
  local name=$1
  grep '^{' "$RAW/$name.wrk.txt" | tail -n 1 >"$RAW/$name.json"
  [ -s "$RAW/$name.json" ] || die "no figures from wrk against $name (see $RAW/$name.wrk.txt)"
  [ "$(json "$RAW/$name.json" 'd["requests"]')" -gt 0 ] || die "wrk got no answer from $name"
}

# cpu_snapshot FILE "GROUP=PID [PID...]"...: one line "GROUP TASK NS NAME" for each live
# thread of each PID: NS the CPU time it has run (user + system, in nanoseconds: the
# scheduler's own count in /proc/PID/task/TID/schedstat, where /proc/PID/stat counts 10 ms
# ticks, too coarse for a few seconds at a fixed rate), NAME the thread's. cpu_delta turns two
# snapshots into seconds.
cpu_snapshot() {
  local out=$1 spec group pid t ns name
  shift
  : >"$out"
  for spec in "$@"; do
    group=${spec%%=*}
    for pid in ${spec#*=}; do
      for t in /proc/"$pid"/task/*; do
        # A thread may end between the glob and the reads.
        { read -r ns _ <"$t/schedstat" && read -r name <"$t/comm"; } 2>/dev/null || continue
        echo "$group ${t#/proc/} $ns $name" >>"$out"
      done
    done
  done
}

# cpu_delta BEFORE AFTER: what each group of processes ran between two snapshots, as JSON:
# {"cpu": {GROUP: seconds}, "threads": {GROUP: {THREAD NAME: seconds}}} (names with their
# numbers as N: the workers of a pool together). Each thread alive at the end counts from its
# first sight (0 when it started in between); a thread that ended in between is not counted
# (the processes measured keep their threads: server workers, tracer, profiler and log
# threads, database backends of a pool).
cpu_delta() {
  python3 - "$1" "$2" <<'PY'
import json, re, sys
def read(path):
    out = {}
    for line in open(path):
        group, task, ns, name = (line.rstrip("\n").split(" ", 3) + [""])[:4]
        out[(group, task)] = (int(ns), re.sub(r"[0-9]+", "N", name))
    return out
before, after = read(sys.argv[1]), read(sys.argv[2])
groups, threads = {}, {}
for (group, task), (ns, name) in after.items():
    ran = ns - before.get((group, task), (0, name))[0]
    groups[group] = groups.get(group, 0) + ran
    by_name = threads.setdefault(group, {})
    by_name[name] = by_name.get(name, 0) + ran
s = lambda ns: round(ns / 1e9, 6)
print(json.dumps({"cpu": {g: s(ns) for g, ns in sorted(groups.items())},
                  "threads": {g: {n: s(ns) for n, ns in sorted(t.items(), key=lambda x: -x[1])} for g, t in sorted(threads.items())}}))
PY
}

# emit FILE: writes the figures of the stage as JSON, for the report. Stdin holds one
# `key value` a line: dotted keys nest (systems.traced.rps), a value that reads as a number is
# one, `@PATH` embeds the JSON file PATH, anything else is a string; `notes[]` lines make a
# list. Adds what every result carries: the stage, the mode, when, the machine, the commit.
emit() {
  local file=$1
  # shellcheck disable=SC2016 # Python, not shell
  python3 -c '
import json, os, platform, subprocess, sys, time
def cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"
def git(*args):
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:
        return ""
rev = git("rev-parse", "--short", "HEAD") or "unknown commit"
if git("status", "--porcelain", "--untracked-files=no"):
    rev += " with local changes"
out = {"stage": sys.argv[2], "mode": "quick" if sys.argv[3] == "1" else "full",
       "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
       "machine": {"cores": os.cpu_count(), "cpu": cpu(), "kernel": platform.system() + " " + platform.release(),
                   "load_1m": float(open("/proc/loadavg").read().split()[0])},
       "commit": rev, "notes": []}
def value(v):
    if v.startswith("@"):
        return json.load(open(v[1:]))
    for kind in (int, float):
        try:
            return kind(v)
        except ValueError:
            pass
    return v
for line in sys.stdin.read().splitlines():
    if not line.strip():
        continue
    key, _, v = line.partition(" ")
    *path, last = key.split(".")
    node = out
    for p in path:
        node = node.setdefault(p, {})
    if last.endswith("[]"):
        node.setdefault(last[:-2], []).append(value(v))
    else:
        node[last] = value(v)
with open(sys.argv[1], "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
' "$file" "$stage" "$QUICK" || die "could not write $file"
  say "figures in $file"
}

# bench_report: the summary and plots from every stage's figures there are, for a stage run
# alone (bench/run draws them once, at its end).
bench_report() {
  [ "${BENCH_NO_REPORT:-0}" = 1 ] && return 0
  "$(bin lab-bench-report)" --results "$RESULTS" || die "lab-bench-report failed"
}
