#!/bin/sh
# Exercise 4: the containers dashboard, then a crash of demo-service: its process killed from
# the host (as the OOM killer would), which Docker's restart policy restarts and counts.
# `docker kill` would not do: Docker takes it for a manual stop and leaves the container down.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
curl -fsS -X POST -H 'Content-Type: application/json' \
  --data-binary "@$here/dashboard.json" http://127.0.0.1:5002/api/v1/dashboard
sudo kill -9 "$(docker inspect -f '{{.State.Pid}}' "$(docker compose ps -q demo-service)")"
sleep 20                               # the restart, and a collection or two
docker compose exec agent-lite agent-lite lab-check 4
