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
#
# templ's generated code (*_templ.go) checks an error after every step of
# a render. Read against templ's runtime (v0.3.1100: runtime/buffer.go,
# bufferpool.go, attributeexpression.go, attribute.go, runtime.go), two
# kinds of those checks can never be taken, and the table's last line
# leaves them out (listed, as file:line and kind, in
# generated-unreachable.txt):
#  - write: "if templ_7745c5c3_Err != nil { return templ_7745c5c3_Err }"
#    after a write (WriteString, the buffer's WriteString and WriteTo,
#    RenderScriptItems, RenderCSSItems). Every page renders into memory:
#    fasthttp's response body writer (Response.BodyWriter: AppendBody, then
#    "return len(p), nil") or a bytes.Buffer (the dashboards' shared
#    pages), behind templ's bufio buffer; a write into memory does not
#    fail, whether or not the client is still there.
#  - expression: "return templ.Error{...}" after templ.JoinStringErrs(x)
#    or NewAttributeExpression(x).Resolve(URL)(ctx) when x carries no
#    error of its own. JoinStringErrs returns errors.Join() of x's errors
#    (nil when there are none), and an attribute value fails to resolve
#    only when x brought an error: the generic constraint (attributeValue)
#    admits only the kinds it can format. x may carry an error only if it
#    is a single call to a function or method named like one, here or in
#    templ, that returns an error; those are kept (counted).
# Counted as reachable, and so left in: the returns after a nested
# component's Render and after RenderAttributes (a child fails when its
# context is done; spread attributes may hold a value templ cannot
# format), "if templ_7745c5c3_CtxErr := ctx.Err(); ... { return }" (a
# request's context is never done, but a dashboard page renders inside
# its view-cache computation, which has a timeout), and
# "if !templ_7745c5c3_IsBuffer { defer ... }" (it runs for the outermost
# component of every render; a component the app only ever renders inside
# another never runs it).
module="$(go list -m)/"
templDir=$(go list -m -f '{{.Dir}}' github.com/a-h/templ)
# Names of the functions and methods, here and in templ, that return a
# value and an error: an expression calling one may carry an error.
mayFail=$( { grep -rhE --include='*.go' --exclude='*_test.go' '^func (\([^)]*\) )?[A-Za-z0-9_]+(\[[^]]*\])?\(.*, ?error\) \{' . "$templDir" || true; } |
  sed -E 's/^func (\([^)]*\) )?([A-Za-z0-9_]+).*/\2/' | sort -u | tr '\n' ' ')
find . -name '*_templ.go' -not -path './node_modules/*' | sort | while read -r f; do
  awk -v file="$module${f#./}" -v mayFail="$mayFail" '
    # whole says whether x is a single call (a chain like a.b(c).d(e))
    # rather than an operand of an operator; name is its last callee.
    function whole(x,   i, ch, depth, last) {
      depth = 0; name = ""
      for (i = 1; i <= length(x); i++) {
        ch = substr(x, i, 1)
        if (ch == "(") { if (depth == 0) name = last; depth++ }
        else if (ch == ")") depth--
        else if (depth == 0) {
          if (ch ~ /[A-Za-z0-9_]/) last = last ch
          else if (ch == ".") last = ""
          else return 0
        }
      }
      return depth == 0 && substr(x, length(x), 1) == ")"
    }
    BEGIN { n = split(mayFail, e, " "); for (i = 1; i <= n; i++) fails[e[i]] = 1 }
    { line[NR] = $0 }
    END {
      for (i = 3; i <= NR; i++) {
        if (line[i-1] !~ /^\t*if templ_7745c5c3_Err != nil \{$/) continue
        x = line[i-2]
        if (line[i] ~ /^\t*return templ_7745c5c3_Err$/ && x ~ /templ_7745c5c3_Err = (templruntime\.WriteString|templ_7745c5c3_Buffer\.(WriteString|WriteTo)|templ\.Render(Script|CSS)Items)\(/) print file ":" i-1 "\twrite"
        if (line[i] !~ /^\t*return templ\.Error\{/) continue
        if (x ~ /templ\.JoinStringErrs\(.*\)$/) { sub(/.*templ\.JoinStringErrs\(/, "", x); sub(/\)$/, "", x) }
        else if (x ~ /templruntime\.NewAttributeExpression\(.*\)\.Resolve(URL)?\(ctx\)$/) { sub(/.*templruntime\.NewAttributeExpression\(/, "", x); sub(/\)\.Resolve(URL)?\(ctx\)$/, "", x) }
        else continue
        if (!whole(x) || !(name in fails)) print file ":" i-1 "\texpression"
      }
    }' "$f"
done >"$out/generated-unreachable.txt"
awk -v module="$module" '
  FILENAME != ARGV[2] { split($0, u, "\t"); unreachableAt[u[1]] = u[2]; next }
  FNR == 1 { next }
  {
    split($1, loc, ":"); file = loc[1]; pkg = file; sub(/\/[^\/]*$/, "", pkg); sub(module, "", pkg)
    if (!($1 in stmts)) { stmts[$1] = $2; pkgOf[$1] = pkg }
    if ($3 > 0) hit[$1] = 1
    # The block of one statement that starts on a listed if line.
    split(loc[2], at, "."); if ($2 == 1 && (file ":" at[1]) in unreachableAt) unreachable[$1] = unreachableAt[file ":" at[1]]
  }
  END {
    for (b in stmts) {
      p = pkgOf[b]; total[p] += stmts[b]; all += stmts[b]; if (b in hit) { covered[p] += stmts[b]; allCovered += stmts[b] }
      if (b in unreachable) { left[unreachable[b]] += stmts[b]; if (b in hit) leftHit += stmts[b] }
      else { reachable += stmts[b]; reach[p] += stmts[b]; if (b in hit) { reachableCovered += stmts[b]; reachCovered[p] += stmts[b] } }
      if (b !~ /_templ\.go:/) { handWritten += stmts[b]; if (b in hit) handWrittenCovered += stmts[b] }
    }
    n = 0; for (p in total) names[++n] = p
    for (i = 2; i <= n; i++) { v = names[i]; for (j = i - 1; j > 0 && names[j] > v; j--) names[j + 1] = names[j]; names[j + 1] = v }
    # The last column leaves out the unreachable generated statements.
    printf "%-36s %10s %10s %7s %9s\n", "package", "statements", "covered", "%", "reachable"
    for (i = 1; i <= n; i++) { p = names[i]; printf "%-36s %10d %10d %6.1f%% %8.1f%%\n", p, total[p], covered[p], 100 * covered[p] / total[p], 100 * reachCovered[p] / reach[p] }
    printf "%-36s %10d %10d %6.1f%%\n", "total", all, allCovered, 100 * allCovered / all
    printf "%-36s %10d %10d %6.1f%%\n", "total w/o unreachable generated code", reachable, reachableCovered, 100 * reachableCovered / reachable
    printf "%-36s %10d %10d %6.1f%%\n", "hand-written Go (no *_templ.go)", handWritten, handWrittenCovered, 100 * handWrittenCovered / handWritten
    printf "left out: %d write-error and %d expression-error statements of templ'"'"'s generated code (%d of them ran, which would be a mistake in the list)\n", left["write"], left["expression"], leftHit
  }' "$out/generated-unreachable.txt" "$out/cover.out" | tee "$out/table.txt"
if [ "$status" != 0 ]; then
  echo "some tests failed (see $out/test.log): the figures above miss what they did not run" >&2
fi
exit "$status"
