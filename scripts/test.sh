#!/usr/bin/env bash
# Runs every Go test against one throwaway PostgreSQL cluster shared by all
# test binaries (each test still gets its own database, cloned from a
# migrated template). Extra arguments go to `go test`.
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

url=$("$dir/learnlens" devdb start --dir "$dir/pg")
export LEARNLENS_TEST_DATABASE_URL="$url"
mkdir -p tests/artifacts
go test -count=1 -p 2 -timeout 12m "$@" ./...
