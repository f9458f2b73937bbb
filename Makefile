# The newcomer's contract: `make demo` runs the hub, `make test` tests it.
# Both create .venv and install on first use (and again when pyproject.toml changes).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install system-deps lint format bench-graphql bench-seed bench-documents clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/hub demo

# Debian tools the tests use as independent readers of the hub's documents.
SYSTEM_TOOLS := pdftotext:poppler-utils pdfsig:poppler-utils xmlsec1:xmlsec1 softhsm2-util:softhsm2 certutil:libnss3-tools

system-deps:
	@missing=""; for pair in $(SYSTEM_TOOLS); do \
	  command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair##*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing$$missing"; apt-get update -qq && apt-get install -y -qq$$missing >/dev/null; \
	  else echo "Please install:$$missing (Debian/Ubuntu packages)"; exit 1; fi; \
	fi

test: $(STAMP) system-deps
	@if [ -z "$$HUB_TEST_DATABASE_URL" ]; then \
	  echo "HUB_TEST_DATABASE_URL is not set: testing on SQLite (CI tests on PostgreSQL)."; \
	else \
	  echo "Testing on $$HUB_TEST_DATABASE_URL"; \
	fi
	$(BIN)/ruff check hub tests bench
	$(BIN)/hub schema --check
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check hub tests bench
	$(BIN)/ruff format --check hub tests bench

format: $(STAMP)
	$(BIN)/ruff format hub tests bench
	$(BIN)/ruff check --fix hub tests bench

bench-graphql: $(STAMP)
	$(BIN)/python bench/graphql_page.py

bench-seed: $(STAMP)
	$(BIN)/python bench/seed_province.py

bench-documents: $(STAMP)
	taskset -c 0 $(BIN)/python bench/documents.py

clean:
	rm -rf $(VENV) var/*.sqlite3*
