#!/usr/bin/env bash
# Runs every Go test against one throwaway PostgreSQL cluster. Extra
# arguments go to `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p tests/artifacts
exec ./scripts/with-test-db.sh go test -count=1 -p 2 -timeout 12m "$@" ./...
