#!/usr/bin/env bash
# make cover: runs the whole test suite with -coverpkg=./... (every package's
# statements count whichever test runs them, in process or in a learnlens
# binary a test builds: tests/commands_test.go builds it with -cover when
# LEARNLENS_COVERDIR is set) and prints statement coverage per package and
# in total. The merged profile is tests/artifacts/cover/cover.out (`go tool
# cover -html` shows it). Extra arguments go to `go test`.
#
# A test binary that times out writes no coverage at all, so the timeout
# is generous (COVER_TIMEOUT, 60m): with -coverpkg the tests run slower
# than under make test, and on a shared, loaded machine the tests package
# alone took 25 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
out=tests/artifacts/cover
rm -rf "$out"
mkdir -p "$out/data"
LEARNLENS_COVERDIR=$(cd "$out/data" && pwd)
export LEARNLENS_COVERDIR
status=0
./scripts/with-test-db.sh go test -count=1 -p 2 -timeout "${COVER_TIMEOUT:-60m}" -cover -coverpkg=./... "$@" ./... \
  -args -test.gocoverdir="$LEARNLENS_COVERDIR" >"$out/test.log" 2>&1 || status=$?
grep -E '^(ok|FAIL|---|panic)' "$out/test.log" | grep -v '^--- PASS' || true
go tool covdata textfmt -i="$LEARNLENS_COVERDIR" -o "$out/cover.out"
# A block appears once per binary that ran it: count it once, covered when
# any run covered it.
# templ's generated code returns the writer's error after every write
# ("if templ_7745c5c3_Err != nil { return templ_7745c5c3_Err }"): a
# page's writer fails only when the client has gone, so no test reaches
# those returns. The last line leaves them out (the lines are listed
# first, as file:line of the return).
module="$(go list -m)/"
grep -rn --include='*_templ.go' 'return templ_7745c5c3_Err$' . | awk -F: -v module="$module" '{ f = $1; sub(/^\.\//, module, f); print f ":" $2 }' >"$out/templ-returns.txt"
awk -v module="$module" '
  FILENAME != ARGV[2] { templReturn[$1] = 1; next }
  FNR == 1 { next }
  {
    split($1, loc, ":"); file = loc[1]; pkg = file; sub(/\/[^\/]*$/, "", pkg); sub(module, "", pkg)
    if (!($1 in stmts)) { stmts[$1] = $2; pkgOf[$1] = pkg }
    if ($3 > 0) hit[$1] = 1
    # A block of one statement that starts on the if line and returns on the next.
    split(loc[2], at, "."); if ($2 == 1 && (file ":" (at[1] + 1)) in templReturn) writeReturn[$1] = 1
  }
  END {
    for (b in stmts) {
      p = pkgOf[b]; total[p] += stmts[b]; all += stmts[b]; if (b in hit) { covered[p] += stmts[b]; allCovered += stmts[b] }
      if (!(b in writeReturn)) { reachable += stmts[b]; if (b in hit) reachableCovered += stmts[b] }
    }
    n = 0; for (p in total) names[++n] = p
    for (i = 2; i <= n; i++) { v = names[i]; for (j = i - 1; j > 0 && names[j] > v; j--) names[j + 1] = names[j]; names[j + 1] = v }
    printf "%-28s %10s %10s %7s\n", "package", "statements", "covered", "%"
    for (i = 1; i <= n; i++) { p = names[i]; printf "%-28s %10d %10d %6.1f%%\n", p, total[p], covered[p], 100 * covered[p] / total[p] }
    printf "%-28s %10d %10d %6.1f%%\n", "total", all, allCovered, 100 * allCovered / all
    printf "%-28s %10d %10d %6.1f%%\n", "total w/o templ write errors", reachable, reachableCovered, 100 * reachableCovered / reachable
  }' "$out/templ-returns.txt" "$out/cover.out" | tee "$out/table.txt"
if [ "$status" != 0 ]; then
  echo "some tests failed (see $out/test.log): the figures above miss what they did not run" >&2
fi
exit "$status"
