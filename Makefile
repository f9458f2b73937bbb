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

# Missing system packages stop the tests; the demo goes on without them and says what
# it switched off (the school seal without SoftHSM2).
ON_MISSING := exit 1
demo: ON_MISSING := echo "make demo goes on: hub demo switches off what needs them."
demo: $(STAMP) system-deps
	$(BIN)/hub demo

# Every Debian package the demo and the tests need, as command:package pairs.
# The demo's school seal is a PKCS#11 token in SoftHSM2 (softhsm2); the tests also read
# the hub's documents with independent tools (poppler-utils, xmlsec1, libnss3-tools).
SYSTEM_TOOLS := softhsm2-util:softhsm2 pdftotext:poppler-utils pdfsig:poppler-utils xmlsec1:xmlsec1 certutil:libnss3-tools

# Install what is missing when root with apt; otherwise say what to install, then stop
# (the tests) or go on (the demo: ON_MISSING).
define install_missing
	@missing=""; for pair in $(1); do \
	  command -v $${pair%%:*} >/dev/null || case " $$missing " in *" $${pair##*:} "*) ;; \
	    *) missing="$$missing $${pair##*:}";; esac; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing$$missing"; apt-get update -qq && apt-get install -y -qq$$missing >/dev/null; \
	  else echo "Please install:$$missing (Debian/Ubuntu: sudo apt-get install$$missing)"; $(2); fi; \
	fi
endef

system-deps:
	$(call install_missing,$(SYSTEM_TOOLS),$(ON_MISSING))

# node-oidc-provider (OpenID Certified), the foreign OpenID provider the sign-in tests
# run against; installed when missing and again when its lock file changes.
FOREIGN_OIDC := tests/foreign/oidc-provider
TEST_TOOLS := node:nodejs npm:npm

$(FOREIGN_OIDC)/node_modules/.package-lock.json: $(FOREIGN_OIDC)/package-lock.json
	$(call install_missing,$(TEST_TOOLS),exit 1)
	npm ci --prefix $(FOREIGN_OIDC) --no-audit --no-fund

test: $(STAMP) system-deps $(FOREIGN_OIDC)/node_modules/.package-lock.json
	@if [ -z "$$HUB_TEST_DATABASE_URL" ]; then \
	  echo "HUB_TEST_DATABASE_URL is not set: testing on SQLite (CI tests on PostgreSQL)."; \
	else \
	  echo "Testing on $$HUB_TEST_DATABASE_URL"; \
	fi
	$(BIN)/ruff check hub tests bench
	$(BIN)/mypy hub
	$(BIN)/hub schema --check
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check hub tests bench
	$(BIN)/ruff format --check hub tests bench
	$(BIN)/mypy hub

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
