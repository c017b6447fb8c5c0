#!/bin/sh
# Exercise 1: the lab up, a few requests to demo-service, the agent's status.
set -eu
docker compose up -d
docker compose ps                      # every service running, agent-lite and demo-service healthy
for i in 1 2 3; do curl -fsS http://127.0.0.1:8080/; echo; done
docker compose exec agent-lite agent-lite status
docker compose exec agent-lite agent-lite lab-check 1
