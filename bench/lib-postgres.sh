# shellcheck shell=bash
# Sourced by bench stages that need inventory's database: a throwaway PostgreSQL cluster from
# Debian's packages (initdb + pg_ctl on a free loopback port, in a folder of its own), as the
# tests' helper makes one (tests/testkit/src/postgres.rs). The server refuses root: under root
# it runs as Debian's postgres user. Every cluster started is stopped by pg_stop_all, which
# the stage calls from bench_on_exit.

pg_clusters=()

# pg_bin: the newest /usr/lib/postgresql/<major>/bin (PG_BINDIR wins), or die.
pg_bin() {
  if [ -n "${PG_BINDIR:-}" ]; then
    echo "$PG_BINDIR"
    return
  fi
  local d
  d=$(compgen -G '/usr/lib/postgresql/*/bin' | sort -V | tail -n 1 || true)
  [ -n "$d" ] && [ -x "$d/initdb" ] || die "no /usr/lib/postgresql/<version>/bin/initdb: run tests/setup (it installs postgresql)"
  echo "$d"
}

# pg_as_server COMMAND...: runs COMMAND as the server's user (postgres under root).
pg_as_server() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# pg_start NAME: a fresh cluster with the database `inventory`. Sets pg_url (for
# DATABASE_URL) and pg_dir (the cluster's folder; its data in $pg_dir/data).
pg_start() {
  local name=$1 bin port
  bin=$(pg_bin)
  port=$(free_port)
  pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/bench-pg-$name.XXXXXX")
  [ "$(id -u)" = 0 ] && chown postgres: "$pg_dir"
  pg_clusters+=("$pg_dir")
  pg_as_server "$bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust --encoding=UTF8 --no-sync \
    >"$pg_dir/initdb.log" 2>&1 || die "initdb failed: $(tail -n 5 "$pg_dir/initdb.log")"
  # Sized as compose.yaml sizes the lab's (shared_buffers 16 MB): the RAM figure is the lab's.
  pg_as_server "$bin/pg_ctl" start -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$pg_dir -c shared_buffers=16MB -c max_connections=40" \
    >/dev/null || die "pg_ctl start failed: $(tail -n 5 "$pg_dir/server.log")"
  pg_as_server "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres inventory || die "createdb inventory failed"
  pg_url=postgres://postgres@127.0.0.1:$port/inventory
}

# pg_pids DIR: the processes of the cluster in DIR, space-separated: the postmaster and its
# children (backends, checkpointer, WAL writer...).
pg_pids() {
  local main
  main=$(head -n 1 "$1/data/postmaster.pid" 2>/dev/null) || return 1
  echo "$main $(ps -o pid= --ppid "$main" | tr '\n' ' ')"
}

# pg_pss_kib DIR: the proportional set size of the cluster in DIR, all its processes (the
# postmaster and its children share shared_buffers: PSS counts it once, RSS once a process).
pg_pss_kib() {
  local pids p total=0 v
  pids=$(pg_pids "$1") || return 1
  for p in $pids; do
    v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

# pss_kib PID: the proportional set size of one process.
pss_kib() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }

# pg_stop_all: stops every cluster started (immediate: nothing of a bench cluster is kept).
pg_stop_all() {
  local d bin
  bin=$(pg_bin)
  for d in "${pg_clusters[@]}"; do
    [ -f "$d/data/postmaster.pid" ] && pg_as_server "$bin/pg_ctl" stop -D "$d/data" -m immediate -w >/dev/null 2>&1 || true
    rm -rf "$d"
  done
  pg_clusters=()
}
