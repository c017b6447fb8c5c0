#!/bin/sh
# The offline postgres image's entrypoint (compose/images/offline.Dockerfile): on the first
# start, a cluster in $PGDATA with POSTGRES_USER and POSTGRES_PASSWORD (scram-sha-256 over
# TCP, trust on the local socket, as the official image sets it) and the database
# POSTGRES_DB; then the server in the foreground, its arguments those of `postgres`.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
[ "${1:-}" = postgres ] && shift

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  [ -n "${POSTGRES_PASSWORD:-}" ] || {
    echo "postgres-entrypoint: POSTGRES_PASSWORD is empty; set it (compose.yaml: LAB_POSTGRES_PASSWORD)" >&2
    exit 1
  }
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" --encoding=UTF8 \
    --auth-local=trust --auth-host=scram-sha-256
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    # Single-user mode: no server listens while the cluster is being made.
    echo "CREATE DATABASE \"$POSTGRES_DB\";" | postgres --single -D "$PGDATA" -j postgres >/dev/null
  fi
  echo "postgres-entrypoint: cluster made in $PGDATA with database $POSTGRES_DB"
fi
exec postgres -D "$PGDATA" "$@"
