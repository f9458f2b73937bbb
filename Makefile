# The newcomer's contract: `make demo` runs the hub, `make test` tests it.
# Both create .venv and install on first use (and again when pyproject.toml changes).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install system-deps web-assets lint format bench-graphql bench-seed bench-documents clean local-stack

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP) web-assets

# Missing system packages stop the tests; the demo goes on without them and says what
# it switched off (the school seal without SoftHSM2).
ON_MISSING := exit 1
demo: ON_MISSING := echo "make demo goes on: hub demo switches off what needs them."
demo: $(STAMP) system-deps web-assets
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

# The front-end files the hub serves itself (the demo's GraphiQL page: GraphiQL, React),
# from the npm registry by hub/web/assets/package-lock.json; their builds are copied
# into hub/web/static/vendor/ (not in git), so no page loads anything from the internet.
WEB_ASSETS := hub/web/assets
VENDOR := hub/web/static/vendor
NODE_TOOLS := node:nodejs npm:npm
VENDORED := react/umd/react.production.min.js react-dom/umd/react-dom.production.min.js \
	graphiql/graphiql.min.js graphiql/graphiql.min.css \
	@graphiql/plugin-explorer/dist/index.umd.js @graphiql/plugin-explorer/dist/style.css

# Without Node.js (not root, no apt) the demo goes on and its GraphiQL page says what
# to install; the tests stop (ON_MISSING).
$(VENDOR)/.installed: $(WEB_ASSETS)/package-lock.json
	$(call install_missing,$(NODE_TOOLS),$(ON_MISSING))
	@if command -v npm >/dev/null; then \
	  npm ci --prefix $(WEB_ASSETS) --no-audit --no-fund && \
	  rm -rf $(VENDOR) && mkdir -p $(VENDOR) && \
	  (cd $(WEB_ASSETS)/node_modules && cp --parents $(VENDORED) $(CURDIR)/$(VENDOR)/) && \
	  touch $@; \
	else echo "GraphiQL stays off until Node.js and npm are installed (make install)."; fi

web-assets: $(VENDOR)/.installed

# The foreign implementations the tests run against, each a package of the npm registry
# installed when missing and again when its lock file changes: node-oidc-provider
# (OpenID Certified) for the sign-in tests, Deque's axe-core for the accessibility
# rules the browser tests run in every page. The browser tests (tests/browser) drive
# Debian's chromium with Playwright: no browser is downloaded.
FOREIGN := tests/foreign/oidc-provider tests/foreign/axe
TEST_TOOLS := $(NODE_TOOLS) chromium:chromium

tests/foreign/%/node_modules/.package-lock.json: tests/foreign/%/package-lock.json
	$(call install_missing,$(TEST_TOOLS),exit 1)
	npm ci --prefix tests/foreign/$* --no-audit --no-fund

# checkov scans the deployment (tests/deploy) from a virtualenv of its own: it holds
# packaging below 24, which the hub's test tools refuse.
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/.installed
$(CHECKOV): deploy/checkov-requirements.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r deploy/checkov-requirements.txt
	touch $(CHECKOV)

# The suite runs in a process per core, at most four (pytest-xdist): each has its own
# database, queues and simulators (tests/conftest.py), and a test file stays in one
# process, so a module's fixtures are made once. `make test TEST_PROCESSES=` runs it in
# this process alone.
TEST_PROCESSES ?= -n auto --maxprocesses 4 --dist loadfile

# The tests also need TEST_TOOLS, checked (and installed) with the system packages.
test: SYSTEM_TOOLS += $(TEST_TOOLS)
test: $(STAMP) system-deps web-assets $(FOREIGN:%=%/node_modules/.package-lock.json) $(CHECKOV)
	@if [ -z "$$HUB_TEST_DATABASE_URL" ]; then \
	  echo "HUB_TEST_DATABASE_URL is not set: testing on SQLite (CI tests on PostgreSQL)."; \
	else \
	  echo "Testing on $$HUB_TEST_DATABASE_URL"; \
	fi
	$(BIN)/ruff check hub tests bench
	$(BIN)/mypy hub
	$(BIN)/hub schema --check
	$(BIN)/python -m pytest -q $(TEST_PROCESSES)

# The production topology on one machine (API processes behind a front, workers,
# simulators) on this machine's PostgreSQL and Redis: `deploy/local-stack --help`;
# `deploy/local-stack status`, `deploy/local-stack stop [--drop]`.
local-stack: $(STAMP)
	$(BIN)/python deploy/local-stack start

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
	$(BIN)/python bench/document_sizes.py

clean:
	rm -rf $(VENV) var/*.sqlite3* $(VENDOR) $(WEB_ASSETS)/node_modules
