#!/bin/sh
# Exercise 8: a trace across the three services, then PostgreSQL's outage and its blast
# radius (Service Map, the failed traces), then the recovery.
set -eu
curl -fsS 'http://127.0.0.1:8080/slow?ms=300'; echo          # demo-service -> inventory -> PostgreSQL
docker compose stop postgres
curl -sS -o /dev/null -w '%{http_code}\n' 'http://127.0.0.1:8080/slow?ms=300'   # 503
curl -sS -o /dev/null -w '%{http_code}\n' http://127.0.0.1:8080/                # 200: / needs no database
docker compose start postgres
sleep 10                                                       # healthy again; inventory reconnects
curl -fsS 'http://127.0.0.1:8080/slow?ms=300'; echo          # 200
docker compose exec agent-lite agent-lite lab-check 8
