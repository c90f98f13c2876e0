# Passerelle — `make run` brings the whole platform up, `make test` runs every test.
# Both find or start PostgreSQL themselves (DATABASE_URL / TEST_DATABASE_URL, or a
# private cluster under .data/). `make help` lists every target.

GO      ?= go
BIN     := bin/passerelle
PKGS    := ./...
export PATH := $(PATH):/usr/local/go/bin

.DEFAULT_GOAL := help
.PHONY: help run build test soak eval vet fmt-check tidy-check axe generate generate-check bench lint db-stop clean check-go

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

check-go:
	@command -v $(GO) >/dev/null 2>&1 || { echo "Go is not installed: install Go 1.26 (https://go.dev/dl) and run make again"; exit 1; }

build: check-go ## Build the binary into bin/
	$(GO) build -o $(BIN) ./cmd/passerelle

run: build ## Start PostgreSQL (private cluster unless DATABASE_URL), migrate, load demo data, serve on PORT (8080)
	./$(BIN) dev

test: check-go vet fmt-check tidy-check generate-check axe ## vet, gofmt, go.mod tidiness and templ drift checks, axe-core install, every test with -race, then 20 s of fuzzing
	@status=0; $(GO) test -race -count=1 -timeout 30m $(PKGS) || status=$$?; \
	if [ $$status -eq 0 ]; then $(GO) test -run '^$$' -fuzz FuzzGETParameters -fuzztime $(FUZZTIME) ./internal/server/ || status=$$?; fi; \
	if [ -z "$$TEST_DATABASE_URL" ]; then $(GO) run ./cmd/passerelle db stop -dir .data/postgres-test || true; fi; \
	exit $$status

vet: check-go ## go vet
	$(GO) vet $(PKGS)

fmt-check: check-go ## Fail when gofmt would change a file
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.data/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

tidy-check: check-go ## Fail when go.mod/go.sum are not tidy (go mod tidy would change them)
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy: run go mod tidy and commit the result"; $(GO) mod tidy -diff; exit 1; }

AXE_DIR := internal/tools/browsertest/axe

axe: ## Install axe-core from npm (lock file) for the browser tests' accessibility check
	@command -v npm >/dev/null 2>&1 || { echo "npm not found: install Node.js and npm (apt-get install -y nodejs npm); the browser tests inject axe-core from npm"; exit 1; }
	@if [ ! -f $(AXE_DIR)/node_modules/axe-core/axe.min.js ] || [ $(AXE_DIR)/package-lock.json -nt $(AXE_DIR)/node_modules/.package-lock.json ]; then \
		npm ci --prefix $(AXE_DIR) --no-audit --no-fund --loglevel=error; fi

generate: check-go ## Regenerate the templ views (*_templ.go)
	$(GO) tool templ generate

generate-check: check-go ## Fail when templ generate changes the committed *_templ.go files
	@list() { find web internal -name '*_templ.go' -print0 | sort -z | xargs -0 sha256sum; }; \
	before=$$(list); $(GO) tool templ generate >/dev/null 2>&1 || { echo "templ generate failed"; exit 1; }; \
	after=$$(list); \
	if [ "$$before" != "$$after" ]; then echo "templ generate changed *_templ.go files: they were stale; commit the regenerated files"; exit 1; fi

SCALE ?= 1000000
FUZZTIME ?= 20s

bench: build ## Go benchmarks, then search at SCALE organisations under load (data generated once, ~13 min per million); see docs/BENCHMARKS.md
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
	./$(BIN) bench -scale $(SCALE)

eval: build ## Matching quality on real public contracts (leave-one-out on the DECP history) beside three baselines; docs/MATCHING.md
	./$(BIN) eval $(EVAL_ARGS)

soak: build ## The platform 5 minutes under mixed traffic at 16 clients: latency, errors and memory per 30 s (docs/RELIABILITY.md)
	./$(BIN) soak

lint: vet fmt-check tidy-check generate-check ## All static checks

db-stop: check-go ## Stop the private development cluster (data is kept in .data/)
	$(GO) run ./cmd/passerelle db stop

clean: ## Remove build output and browser screenshots (not the database)
	rm -rf bin .artifacts
