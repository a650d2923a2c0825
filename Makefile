# Gatepass — the two commands are `make demo` and `make test`; the rest are their parts.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

GATEPASS_CACHE ?= $(HOME)/.cache/gatepass
export GATEPASS_CACHE
export CARGO_TARGET_DIR ?= $(GATEPASS_CACHE)/target
export PATH := $(GATEPASS_CACHE)/tools/bin:$(CURDIR)/end2end/node_modules/.bin:$(PATH)
export SITE_ROOT ?= $(CARGO_TARGET_DIR)/site

DEMO_DIR ?= $(CURDIR)/data
CARGO ?= cargo

.PHONY: demo test tools site site-release build build-release lint deny unit sdk e2e bundle-size fmt clean help

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

demo: tools site-release build-release ## Build in release mode; serve Gatepass on :3000 with the Okta simulator on :3001
	scripts/demo.sh $(CARGO_TARGET_DIR)/release/gatepass $(DEMO_DIR) $(SITE_ROOT)

LOGS := $(GATEPASS_CACHE)/logs
VENV := $(GATEPASS_CACHE)/venv

test: tools lint deny unit sdk e2e bundle-size ## Format, lint, cargo deny, Rust tests (SQLite, PostgreSQL, moto), Okta SDK checks, browser tests, bundle budget
	@scripts/test-summary.sh

tools: ## Install what is missing (wasm target, wasm-bindgen, cargo-deny, gatepass-wasm-split, chromium, postgresql, npm packages)
	scripts/tools.sh

site: ## Build the hydrate bundle and CSS (debug: quick to compile, large; for debugging in the browser)
	scripts/build-site.sh dev

site-release: ## Build the hydrate bundle and CSS (size-optimised; what the demo and the browser tests use)
	scripts/build-site.sh release

build: ## Build the gatepass binary (debug)
	$(CARGO) build --locked -p server

build-release:
	$(CARGO) build --locked --release -p server

lint: ## rustfmt and clippy on both feature sets
	$(CARGO) fmt --all --check
	$(CARGO) clippy --locked -p app -p server -p okta-sim --all-targets --features app/test-support -- -D warnings
	$(CARGO) clippy --locked -p app --all-targets --features hydrate -- -D warnings
	$(CARGO) clippy --locked -p frontend --target wasm32-unknown-unknown -- -D warnings
	scripts/check-wasm-deps.sh
	scripts/check-imports.py

# Prints one line per finding (the full report, with inclusion graphs, is in the log); all of it on failure.
deny: ## cargo deny: advisories from the offline snapshot, licenses, bans, sources
	@mkdir -p $(LOGS) && rm -f $(LOGS)/deny.log
	scripts/tools.sh cargo-deny
	@if scripts/deny.sh > $(LOGS)/deny.log 2>&1; then \
	  grep -E '^(deny: |[a-z]+\[|advisories )' $(LOGS)/deny.log; \
	  echo "deny: full report in $(LOGS)/deny.log"; \
	else cat $(LOGS)/deny.log; exit 1; fi

unit: ## Rust tests on SQLite and on a throwaway PostgreSQL cluster
	@mkdir -p $(LOGS) && rm -f $(LOGS)/unit.log
	GATEPASS_TEST_REQUIRE_POSTGRES=1 GATEPASS_TEST_REQUIRE_MOTO=1 GATEPASS_TEST_REQUIRE_PYTHON=1 \
	GATEPASS_TEST_MOTO_SERVER=$(VENV)/bin/moto_server GATEPASS_TEST_PYTHON=$(VENV)/bin/python \
	  scripts/with-postgres.sh \
	  $(CARGO) test --locked -p app -p server -p okta-sim --features app/test-support 2>&1 | tee $(LOGS)/unit.log

sdk: build ## Official Okta, Slack and PagerDuty Python SDKs against the simulator (fidelity checks)
	@mkdir -p $(LOGS) && rm -f $(LOGS)/sdk.log
	GATEPASS_BIN=$(CARGO_TARGET_DIR)/debug/gatepass PYTHONDONTWRITEBYTECODE=1 \
	  $(VENV)/bin/python -m pytest -p no:cacheprovider -q server/tests/okta_sdk server/tests/slack_sdk server/tests/pagerduty_sdk 2>&1 | tee $(LOGS)/sdk.log

# The browser tests load the release bundle, the one people get: one build serves them, the size
# check and the demo.
e2e: site-release build ## Browser tests (Playwright + Debian chromium) against the real binary
	@mkdir -p $(LOGS) && rm -f $(LOGS)/e2e.log
	data=$$(mktemp -d /tmp/gatepass-e2e.XXXXXX); \
	trap 'rm -rf "$$data"' EXIT; \
	read -r E2E_PORT E2E_OIDC_PORT E2E_SIGNIN_PORT E2E_OKTA_PORT E2E_SIM_SIGNIN_PORT E2E_SMTP_PORT \
	  < <(scripts/free-ports.py 6); \
	export E2E_PORT E2E_OIDC_PORT E2E_SIGNIN_PORT E2E_OKTA_PORT E2E_SIM_SIGNIN_PORT E2E_SMTP_PORT; \
	cd end2end && \
	E2E_BIN=$(CARGO_TARGET_DIR)/debug/gatepass E2E_DATA_DIR=$$data \
	GATEPASS_SITE_ROOT=$(SITE_ROOT) npx playwright test 2>&1 | tee $(LOGS)/e2e.log

bundle-size: ## Fail if the release browser bundle is over its budget (250 KB gzipped; builds it if needed)
	scripts/check-bundle-size.sh

fmt: ## Format the code
	$(CARGO) fmt --all

clean: ## Remove build output (keeps installed tools)
	rm -rf $(CARGO_TARGET_DIR) end2end/test-results end2end/playwright-report
