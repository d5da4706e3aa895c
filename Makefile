# LearnLens. `make help` lists the targets.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.DEFAULT_GOAL := help
.PHONY: help run build cluster test cover drills fuzz bench bench-ingest bench-dashboards bench-large bench-live deps check-generated generate css vendor lint clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: build ## Start LearnLens with demo data (own PostgreSQL under .data/ unless DATABASE_URL is set)
	./bin/learnlens serve --dev

cluster: build ## Two instances (8081, 8082) on make run's PostgreSQL and demo data, haproxy on 8088 in front; Ctrl-C stops all
	./scripts/cluster.sh

build: ## Build bin/learnlens
	go build -ldflags "$(LDFLAGS)" -o bin/learnlens ./cmd/learnlens

test: deps check-generated lint ## Run every test (installs what is missing, starts its own PostgreSQL), then each fuzz target for 5 s
	./scripts/test.sh
	./scripts/fuzz.sh

cover: deps ## Run the whole suite with -coverpkg=./... and print statement coverage per package and in total (profile in tests/artifacts/cover/)
	./scripts/cover.sh

bench: bench-ingest bench-dashboards bench-live ## Run every benchmark (figures with same-run baselines; see docs/PERFORMANCE.md)

bench-ingest: ## Statements/s through the real xAPI endpoint vs a raw COPY: the kind shape, then customers', then where a statement's CPU goes (BENCH_STATEMENTS=40000, BENCH_CUSTOMER_*, BENCH_COST_*)
	./scripts/hugepages.sh
	./scripts/with-test-db.sh go test -count=1 -run '^$$' -bench 'Ingest|StatementCost' -benchtime 1x -timeout 60m ./tests/bench/

bench-dashboards: ## Dashboards under 50 signed-in clients (one view, a customer mix, the mix under 2,000 statements/s), demo + 1M-statement tenant, vs /healthz (BENCH_DASH_* in docs/PERFORMANCE.md)
	./scripts/hugepages.sh $(if $(filter 1,$(BENCH_DASH_REPLICA)),3,1)
	./scripts/with-test-db.sh go test -count=1 -run '^$$' -bench Dashboards -benchtime 1x -timeout 60m ./tests/bench/

bench-large: ## Every dashboard route of a big tenant already loaded by `learnlens seed --bench`, one request at a time with the result cache off (BENCH_LARGE_URL=<superuser URL>, BENCH_LARGE_TENANT=huge001)
	go test -count=1 -run '^$$' -bench LargeTenant -benchtime 1x -timeout 30m ./tests/bench/

bench-live: ## Live dashboards: 1,000 WebSocket clients over 10 tenants and 50 views; commit → changed tile p95, stray messages, memory per connection, CPU per push (BENCH_LIVE_CLIENTS, BENCH_LIVE_TENANTS, BENCH_LIVE_ROUNDS)
	./scripts/with-test-db.sh go test -count=1 -run '^$$' -bench Live -benchtime 1x -timeout 30m ./tests/bench/

drills: ## Fault drills, long form: 20 kill -9s under 4 posting clients, the database taken away and PostgreSQL restarted under load, backup and restore, 5 rounds of rolling restarts and a rolling upgrade across a migration behind haproxy (DRILL_KILLS=20, DRILL_ROLLS=5); figures in docs/OPERATIONS.md
	DRILL_KILLS=$${DRILL_KILLS:-20} DRILL_ROLLS=$${DRILL_ROLLS:-5} ./scripts/with-test-db.sh go test -tags drills -count=1 -v -timeout 30m -run 'TestKilledMidBatch|TestDatabaseOutage|TestPostgresRestart|TestBackupRestores|TestRollingRestart|TestRollingUpgrade' ./tests/

fuzz: ## Run each fuzz target longer (FUZZTIME=5m each by default; crashes land in testdata/fuzz/ as regression cases)
	FUZZTIME=$${FUZZTIME:-5m} ./scripts/fuzz.sh

deps: ## Install Chromium, Firefox ESR, WebKitWebDriver (+ Xvfb), PostgreSQL, haproxy, npm packages and Go modules where missing
	./scripts/install-deps.sh

check-generated: ## Fail when committed generated files (templ, CSS, vendored JS) are stale
	./scripts/check-generated.sh

generate: ## Regenerate templ components (*_templ.go)
	go tool templ generate

css: ## Rebuild static/css/app.css with Tailwind
	npm run css

vendor: ## Copy htmx and its WebSocket extension from node_modules into static/js
	npm run vendor

lint: ## gofmt, go vet, promtool on the alert rules and haproxy -c on its configuration
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	go vet ./...
	go vet -tags drills ./tests/
	promtool check rules deploy/prometheus/alerts.yml
	haproxy -c -q -f deploy/haproxy/haproxy.cfg

clean: ## Remove build output and the dev database
	rm -rf bin .data tests/artifacts
