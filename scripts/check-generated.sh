#!/usr/bin/env bash
# Fails when a committed generated file (templ's *_templ.go, the Tailwind
# CSS, the vendored htmx files) differs from what the generators make now.
# It regenerates in place, so after a failure the fresh files are there to
# commit.
set -euo pipefail
cd "$(dirname "$0")/.."

snapshot() {
  { find views -name '*_templ.go' -print0 | sort -z | xargs -0 sha256sum
    sha256sum static/css/app.css static/js/htmx.min.js static/js/htmx-ext-ws.js \
      static/js/swagger-ui-bundle.js static/css/swagger-ui.css; } 2>/dev/null
}
before=$(snapshot)
go tool templ generate >/dev/null 2>&1
npm run --silent css >/dev/null 2>&1
npm run --silent vendor >/dev/null 2>&1
after=$(snapshot)
if [ "$before" != "$after" ]; then
  echo "Generated files were stale and have been regenerated; commit them:" >&2
  diff <(echo "$before") <(echo "$after") | grep '^[<>]' | awk '{print "  " $3}' | sort -u >&2
  exit 1
fi
echo "generated files are up to date"
