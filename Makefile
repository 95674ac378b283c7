# SalesOptic: every target creates .venv and installs what it needs on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SCALE  ?= medium

.PHONY: demo test test-reliability lint dashboard bench bench-dashboard system-deps clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
	  { echo "SalesOptic needs Python 3.10 or newer ($(PYTHON) is older)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# System packages the tests use, installed when running as root on Debian/Ubuntu:
# the PostgreSQL JDBC driver, the psql client, Chromium for the browser tests, and
# docker-compose (v1, without the engine) to validate the compose file offline.
system-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  missing=""; \
	  [ -f /usr/share/java/postgresql.jar ] || missing="$$missing libpostgresql-jdbc-java"; \
	  command -v psql >/dev/null 2>&1 || missing="$$missing postgresql-client"; \
	  [ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	  command -v docker-compose >/dev/null 2>&1 || missing="$$missing docker-compose"; \
	  if [ -n "$$missing" ]; then \
	    echo "Installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends $$missing; \
	  fi; \
	fi

demo: $(STAMP)
	$(BIN)/salesoptic demo

test: $(STAMP) system-deps
	$(BIN)/ruff check .
	$(BIN)/pytest

# The long crash and failure trials (the default suite runs one of each).
test-reliability: $(STAMP) system-deps
	$(BIN)/pytest -m slow tests/reliability

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

dashboard: $(STAMP)
	$(BIN)/salesoptic dashboard

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py --scale $(SCALE)

# The dashboard's render times, server side and in Chromium (DATA_DIR=... for real gold).
bench-dashboard: $(STAMP) system-deps
	$(BIN)/python benchmarks/bench_dashboard.py --browser $(if $(DATA_DIR),--data-dir $(DATA_DIR))

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache
