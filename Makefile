# ghostcandle: `make demo` runs the product, `make test` runs every check CI runs.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo-data

.PHONY: install test lint typecheck imports unit demo bench clean frontend-deps browser-deps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: pip takes the local CPU build and never pulls CUDA packages
	$(BIN)/python -m pip install --quiet torch==2.13.0
	# ray: `make test` runs the distributed walk-forward and backtest on a local Ray
	$(BIN)/python -m pip install --quiet -e '.[dev,ray]'
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check src tests bench

typecheck: install
	$(BIN)/mypy

imports: install
	$(BIN)/lint-imports

unit: install
	$(BIN)/pytest

test: browser-deps lint typecheck imports unit

# The exchange simulator (a SYNTHETIC, seeded market on 127.0.0.1) and the workspace connected
# to it exactly as to Binance; the default model is first trained offline on the history the
# feed loads (--warm-start, epochs in the log), then predicts every 1s candle and trains on each.
# The demo database is rebuilt each time: the simulator's market starts from "now".
DEMO_SIM_PORT ?= 8765
demo: install frontend-deps
	mkdir -p $(DEMO_DIR)
	rm -f $(DEMO_DIR)/ghostcandle.duckdb $(DEMO_DIR)/ghostcandle.duckdb.wal
	rm -rf $(DEMO_DIR)/ghostcandle.checkpoints
	$(BIN)/ghostcandle exchange-sim --port $(DEMO_SIM_PORT) --symbols ETH/USDT,BTC/USDT \
	  --intervals 1s,1m,1h,1d --history-hours 72 --seed 42 & SIM=$$!; \
	trap 'kill $$SIM 2>/dev/null; wait $$SIM 2>/dev/null' EXIT INT TERM; \
	sleep 2; \
	echo "open http://127.0.0.1:8050/?timeframe=1s  (SYNTHETIC market; Ctrl-C stops everything)"; \
	$(BIN)/ghostcandle serve --db $(DEMO_DIR)/ghostcandle.duckdb \
	  --exchange-url http://127.0.0.1:$(DEMO_SIM_PORT) --synthetic \
	  --symbols ETH/USDT,BTC/USDT --intervals 1s,1m,1h,1d --live-mode every_candle --warm-start

# The workspace's front end and browser tests: lightweight-charts, swagger-ui-dist and redoc
# (/docs, /redoc) from the npm registry (served under /vendor/, never from a CDN; .npmrc skips
# redoc's peer packages, its standalone bundle has them) and Debian's Chromium for Playwright.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

frontend-deps: node_modules/.package-lock.json

browser-deps: frontend-deps
	test -x /usr/bin/chromium || ($(SUDO) apt-get update && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y chromium)

bench: install
	for f in bench/bench_*.py; do $(BIN)/python $$f; done

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
