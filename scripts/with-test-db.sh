#!/usr/bin/env bash
# Runs a command with LEARNLENS_TEST_DATABASE_URL pointing at a throwaway
# PostgreSQL cluster that lives as long as the command (one cluster shared
# by all test binaries; each test still gets its own database cloned from a
# migrated template).
set -euo pipefail
cd "$(dirname "$0")/.."

dir=$(mktemp -d /tmp/learnlens-test-XXXXXX)
chmod 755 "$dir"
go build -o "$dir/learnlens" ./cmd/learnlens
cleanup() {
  "$dir/learnlens" devdb stop --dir "$dir/pg" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

LEARNLENS_TEST_DATABASE_URL=$("$dir/learnlens" devdb start --dir "$dir/pg")
export LEARNLENS_TEST_DATABASE_URL
"$@"
