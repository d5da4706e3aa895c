#!/usr/bin/env bash
# Installs what make test needs on a fresh Debian machine: PostgreSQL server
# binaries, Chromium, Prometheus (its promtool checks the alert rules, and
# a test fires one) and haproxy (the cluster tests and make cluster; all via
# apt-get, when root), the npm packages (Tailwind,
# htmx) and the Go modules and tools pinned in go.mod.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then need+=(chromium); fi
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then need+=(postgresql); fi
if ! command -v npm >/dev/null 2>&1; then need+=(nodejs npm); fi
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then need+=(prometheus); fi
if ! command -v haproxy >/dev/null 2>&1; then need+=(haproxy); fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "make test needs: ${need[*]}; install them (apt-get install ${need[*]}) or run as root" >&2
    exit 1
  fi
  echo "installing ${need[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
go mod download
