#!/usr/bin/env bash
# make cluster: two LearnLens instances (ports 8081 and 8082) on the
# embedded PostgreSQL under $DATA_DIR (.data, as make run makes it, with the
# demo data), and haproxy on 8088 in front with deploy/haproxy/haproxy.cfg
# (its stats page on 127.0.0.1:8089). The instances read dashboards from a
# streaming replica of that PostgreSQL (under $DATA_DIR/replica, made afresh
# each time; REPLICA=0 leaves it out). Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v haproxy >/dev/null 2>&1 || { echo "haproxy is not installed: make deps installs it" >&2; exit 1; }
export DATA_DIR=$(realpath -m "${DATA_DIR:-.data}")
bin=./bin/learnlens

pids=()
replica_args=()
if [ "${REPLICA:-1}" != 0 ]; then replica_args=(--replica-dir "$DATA_DIR/replica"); fi
# (No `wait` in the trap: bash can hang in a wait inside a trap handler.)
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 400); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  "$bin" devdb stop --dir "$DATA_DIR/postgres" ${replica_args[@]+"${replica_args[@]}"} >/dev/null 2>&1 || true
  exit 0
}
trap cleanup EXIT INT TERM

# One PostgreSQL for both instances; the URL is the superuser's, over a
# private socket.
urls=$("$bin" devdb start --dir "$DATA_DIR/postgres" ${replica_args[@]+"${replica_args[@]}"})
super=$(sed -n 1p <<<"$urls")
base=${super%%\?*}   # postgres://postgres@/postgres
query=${super#*\?}
if ! psql "$super" -tAc "SELECT 1 FROM pg_database WHERE datname = 'learnlens'" | grep -q 1; then
  psql "$super" -qc "CREATE DATABASE learnlens"
fi
export DATABASE_OWNER_URL="${base%/postgres}/learnlens?$query"
export DATABASE_URL="postgres://learnlens_app@/learnlens?$query"
export DATABASE_PLATFORM_URL="postgres://learnlens_platform@/learnlens?$query"
# The replica's URL (second line) names its own socket and port; the app
# login reads there (DATABASE_READ_URL, docs/SCALING.md).
if [ ${#replica_args[@]} -gt 0 ]; then
  replica=$(sed -n 2p <<<"$urls")
  export DATABASE_READ_URL="postgres://learnlens_app@/learnlens?${replica#*\?}"
fi
# haproxy, on this machine, is the proxy whose X-Forwarded-For counts.
export TRUSTED_PROXIES=127.0.0.1 SHUTDOWN_DRAIN=${SHUTDOWN_DRAIN:-5s}

wait_ready() {
  for _ in $(seq 600); do
    curl -fs "http://127.0.0.1:$1/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "the instance on port $1 did not become ready" >&2
  return 1
}

# The first instance migrates and loads the demo data (serve --dev, as make
# run does); the second starts once it is ready.
PORT=8081 METRICS_ADDR=127.0.0.1:9464 "$bin" serve --dev &
pids+=($!)
wait_ready 8081
PORT=8082 METRICS_ADDR=127.0.0.1:9465 "$bin" serve --dev >/dev/null &
pids+=($!)
wait_ready 8082
haproxy -db -f deploy/haproxy/haproxy.cfg &
pids+=($!)
echo "LearnLens on http://acme.localhost:8088 through haproxy (instances on 8081 and 8082; haproxy's stats on http://127.0.0.1:8089/${DATABASE_READ_URL:+; dashboards read from the replica under $DATA_DIR/replica}). Ctrl-C stops all."
wait -n "${pids[@]}"
