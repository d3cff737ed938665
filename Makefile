# Incident Bot for Mattermost. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO         ?= go
PLUGIN_ID  := $(shell sed -n 's/^ *"id": *"\([^"]*\)".*/\1/p' plugin.json | head -1)
VERSION    := $(shell sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' plugin.json | head -1)
PLATFORMS  ?= linux-amd64 linux-arm64 darwin-amd64 darwin-arm64 windows-amd64
HOST       := $(shell $(GO) env GOOS)-$(shell $(GO) env GOARCH)
BUNDLE     := dist/$(PLUGIN_ID)-$(VERSION).tar.gz
HOST_BUNDLE := dist/$(PLUGIN_ID)-$(VERSION)-$(HOST).tar.gz
TEST_FLAGS ?= -race -count=1 -timeout 40m
# Extra linker flags and build tags for the plugin binary (tests build variants).
LDFLAGS    ?=
GOTAGS     ?=

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

.PHONY: dist
dist: ## Build the plugin bundle and the incident-archive tool for every platform into dist/
	@$(MAKE) --no-print-directory bundle OUT=$(BUNDLE) PLATFORMS="$(PLATFORMS)"
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%-*}; arch=$${p#*-}; ext=; [ "$$os" = windows ] && ext=.exe; \
		echo "build incident-archive $$os/$$arch"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags="-s -w" \
			-o dist/incident-archive-$$os-$$arch$$ext ./server/cmd/incident-archive; \
	done

.PHONY: archive-tool
archive-tool: ## Build the offline incident-archive reader for this machine: dist/incident-archive
	@mkdir -p dist
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o dist/incident-archive ./server/cmd/incident-archive

.PHONY: dist-host
dist-host: ## Build a bundle for this machine's platform only (fast; used by the tests)
	@$(MAKE) --no-print-directory bundle OUT=$(HOST_BUNDLE) PLATFORMS="$(HOST)"

# bundle assembles OUT from the server binaries for PLATFORMS.
.PHONY: bundle
# Each run stages in a directory of its own and renames the finished
# bundle into place, so that two builds at once (parallel test packages)
# never pack each other's half-written files.
bundle:
	@set -e; mkdir -p dist; stage=$$(mktemp -d dist/stage.XXXXXX); trap 'rm -rf "$$stage"' EXIT; \
	mkdir -p $$stage/$(PLUGIN_ID)/server/dist $$stage/$(PLUGIN_ID)/webapp/dist; \
	for p in $(PLATFORMS); do \
		os=$${p%-*}; arch=$${p#*-}; ext=; [ "$$os" = windows ] && ext=.exe; \
		echo "build server $$os/$$arch"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags="-s -w $(LDFLAGS)" $(GOTAGS) \
			-o $$stage/$(PLUGIN_ID)/server/dist/plugin-$$os-$$arch$$ext ./server; \
	done; \
	cp plugin.json $$stage/$(PLUGIN_ID)/; \
	cp -r assets $$stage/$(PLUGIN_ID)/; \
	cp webapp-stub/main.js $$stage/$(PLUGIN_ID)/webapp/dist/main.js; \
	tar -czf $$stage/bundle.tar.gz -C $$stage $(PLUGIN_ID); \
	mv $$stage/bundle.tar.gz $(OUT)
	@echo "bundle: $(OUT)"

.PHONY: test
test: ## Run every test with -race, end-to-end on a real Mattermost server included
	$(GO) test $(TEST_FLAGS) ./...

.PHONY: test-unit
test-unit: ## Run the fast tests only (no real server)
	$(GO) test -race -count=1 -short ./...

.PHONY: bench
bench: ## Run the Go benchmarks (store append, postmortem, ...)
	$(GO) test -run='^$$' -bench=. -benchmem ./server/...

.PHONY: latency
latency: ## Measure command and button latency on a real server (median, p99)
	$(GO) run ./e2e/cmd/latency

.PHONY: soak
soak: ## The worst day on a real server: mixed load, update bursts, starts after a fill, alert storms, KV statements (SOAK_FLAGS=-scenarios mixed)
	$(GO) run ./e2e/cmd/soak $(SOAK_FLAGS)

.PHONY: page-bench
page-bench: ## The incidents and stats pages in Chromium over 1,000 and 10,000 incidents stored on a real server
	$(GO) test -count=1 -v -run TestPagesAtTenThousandIncidents ./e2e/browser

.PHONY: archive-bench
archive-bench: ## Export and import 1,000 incidents of 100 events between two real servers, and /incident start meanwhile
	$(GO) run ./e2e/cmd/archivebench

.PHONY: check
check: ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l server e2e); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.7.0 ./...

.PHONY: deploy
deploy: dist ## Upload and enable the bundle: MM_SERVICESETTINGS_SITEURL and MM_ADMIN_TOKEN must be set
	$(GO) run ./e2e/cmd/deploy -bundle $(BUNDLE) -plugin-id $(PLUGIN_ID)

.PHONY: dev
dev: dist-host ## Start a local real Mattermost with the plugin, a team and users; Ctrl-C stops it
	$(GO) run ./e2e/cmd/mmdev -bundle $(HOST_BUNDLE) -plugin-id $(PLUGIN_ID)

.PHONY: clean
clean: ## Remove build output
	rm -rf dist
