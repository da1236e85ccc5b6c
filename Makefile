# hookrelay: the Makefile is the interface. CI calls these same targets.
SHELL := /bin/bash
GO ?= go
PKGS := ./... ./.ci/testsum
BENCH_PKGS := ./infra/... ./functions/... ./relay/api/... ./relay/hub/... ./relay/sse/... ./relay/ws/...
BUILD := build
LAMBDA_ARCHES := arm64 amd64
LAMBDAS := ingest publish
STATICCHECK_VERSION := v0.8.2
GOBIN := $(shell $(GO) env GOPATH)/bin
FUZZTIME ?= 30s
DURATION ?= 10m

.PHONY: help
help: ## list targets
	@grep -hE '^[A-Za-z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

.PHONY: deps
deps: ## install what the tests need (redis-server, chromium) where missing
	@bash .ci/deps.sh

.PHONY: run
run: build ## start `relay dev`: memory bus, webhooks, relay and demo pages on 127.0.0.1:8080
	@echo "starting $(BUILD)/relay dev"
	@exec $(BUILD)/relay dev

.PHONY: build
build: ## build the relay binary: build/relay
	@mkdir -p $(BUILD)
	@echo "compiling $(BUILD)/relay (go build ./relay; a minute or so the first time, seconds after)"
	@CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(BUILD)/relay ./relay

.PHONY: test
test: deps ## everything, with -race, against a real redis-server and real Chromium (.ci/test.sh); every benchmark once
	@bash .ci/test.sh $(PKGS)
	@# Benchmarks check their own answers (a delivery that came back a
	@# duplicate, a failed publish); one iteration each keeps them working.
	@mkdir -p $(BUILD)
	@echo "benchmarks, one iteration each: $(BENCH_PKGS)"
	@$(GO) test -run '^$$' -bench . -benchtime 1x $(BENCH_PKGS) > $(BUILD)/bench-once.log 2>&1 || { grep -E -A12 '^--- FAIL|^panic|^FAIL' $(BUILD)/bench-once.log; exit 1; }

.PHONY: lint
lint: ## gofmt, go vet, staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	@[ -x $(GOBIN)/staticcheck ] || GOFLAGS= $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(GOBIN)/staticcheck $(PKGS)
	@bash .ci/check-help.sh

.PHONY: bench
bench: ## Go benchmarks and the relay load runs of docs/performance.md (BENCH_RUNS=name... for a subset)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s $(BENCH_PKGS)
	bash .ci/bench.sh

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (default 30s)
	@bash .ci/fuzz.sh $(FUZZTIME)

.PHONY: e2e
e2e: deps ## browser tests in headless Chromium
	$(GO) test -race -count=1 -run 'E2E' ./relay/internal/e2e/...

.PHONY: lambda
lambda: ## build the Lambda zips (provided.al2023, arm64 and amd64) into build/lambda/
	@bash .ci/lambda.sh "$(LAMBDAS)" "$(LAMBDA_ARCHES)" $(BUILD)/lambda

.PHONY: tf-check
tf-check: ## offline: real terraform fmt/init/validate/plan/test against the schema-only provider, and the contract tests (docs/deploy.md)
	@bash .ci/terraform.sh
	PATH="$$PATH:$(GOBIN)" terraform fmt -check -recursive terraform
	PATH="$$PATH:$(GOBIN)" HOOKRELAY_TF_CHECK=full $(GO) test -count=1 -timeout 20m ./terraform/...

.PHONY: chaos
chaos: deps ## the full fault-injection suite (a short version runs in make test)
	HOOKRELAY_CHAOS=full $(GO) test -count=1 -timeout 60m -run Chaos -v ./relay/internal/chaos/...

.PHONY: storm
storm: deps ## connect storm: 15,000 SSE clients on one relay of three, that relay SIGKILLed (docs/reliability.md)
	HOOKRELAY_STORM=full $(GO) test -count=1 -timeout 30m -run TestChaosConnectStorm -v ./relay/internal/chaos/...

.PHONY: interop
interop: deps ## third-party clients (npm, Chromium) across restarts, drains, caps, Redis restarts (a short run is in make test)
	HOOKRELAY_INTEROP=full $(GO) test -count=1 -timeout 30m -run Interop -v ./relay/internal/interop/...

.PHONY: soak
soak: deps ## steady load with relay restarts for DURATION (default 10m)
	HOOKRELAY_SOAK=$(DURATION) $(GO) test -count=1 -timeout 0 -run Soak -v ./relay/internal/chaos/...

.PHONY: clean
clean: ## remove build/ (binaries, Lambda zips, bench results, test logs)
	rm -rf $(BUILD)
