#!/usr/bin/env bash
# Runs every fuzz target for FUZZTIME each (default 5s: the short run of
# make test; `make fuzz` runs them longer). A crash is saved under the
# package's testdata/fuzz/<Target>/ and then fails `go test` as a
# regression case until fixed. The targets need no database.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-5s}
targets=(
  "./xapi FuzzParseStatements"
  "./xapi FuzzParseQuery"
  "./imports FuzzParse"
  "./analytics FuzzParseFilters"
)
for t in "${targets[@]}"; do
  set -- $t
  echo "fuzz $2 ($1) for $fuzztime"
  go test -run '^$' -fuzz "^$2\$" -fuzztime "$fuzztime" "$1"
done
