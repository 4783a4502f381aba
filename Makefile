# Tally: `make run` serves the demo, `make test` runs the whole suite.
SHELL := /bin/bash
# Python writes its compiled modules (__pycache__, git-ignored) even where the environment
# says not to: otherwise every test process and `tally` command the suite starts compiles all
# of Tally and its libraries again, about two seconds each.
unexport PYTHONDONTWRITEBYTECODE
VENV ?= .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))

.PHONY: install run test test-sqlite test-postgres lint audit bench clean catalogues

# Each pass spreads its tests over TEST_WORKERS processes (pytest-xdist, a database each), and
# `make test` runs the two passes at once. Last run's failures run first, alone, and the first
# failure stops the run: `make test PYTEST_ARGS=` runs every test whatever fails.
TEST_WORKERS ?= 2
PYTEST_ARGS ?= --ff -x
PYTEST_OPTIONS := -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

install: $(STAMP)

# Re-syncs only when the dependency declarations or the lock files changed. npm installs what
# the browser tests inject into pages (axe-core, package-lock.json) into node_modules/.
$(STAMP): pyproject.toml uv.lock package.json package-lock.json
	@bash scripts/install-system-packages.sh
	@test -x $(BIN)/python || python3 -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/pip install --quiet "uv==$(UV_VERSION)"
	@$(BIN)/uv sync --quiet --frozen --extra dev
	@npm ci --no-audit --no-fund --silent
	@touch $@

# Loads the demo once per data directory; its credentials are printed once the server listens.
run: install
	@exec $(BIN)/tally serve --demo

# lint-imports checks the layering (pyproject's [tool.importlinter]). No cache: a cached module
# keeps the imports it had when a sibling directory was not yet a package; a fresh graph takes
# a second.
lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python scripts/check_dialect.py
	$(BIN)/python scripts/check_tenant_scope.py
	$(BIN)/python scripts/check_presentation.py

# Lint and audit, then the SQLite and PostgreSQL passes side by side (PostgreSQL only when
# TALLY_TEST_DATABASE_URL is set), each logging to var/test-logs; a failing pass is shown whole.
test: lint audit
	@PYTEST=$(BIN)/pytest bash scripts/test-passes.sh $(PYTEST_OPTIONS)

# Known vulnerabilities in the locked dependencies fail it. Without network access to PyPI it
# warns that nothing was audited and passes; TALLY_AUDIT_REQUIRED=1 makes that fail too.
audit: install
	$(BIN)/python scripts/audit.py

test-sqlite: install
	env -u TALLY_TEST_DATABASE_URL $(BIN)/pytest $(PYTEST_OPTIONS) -o cache_dir=.pytest_cache/sqlite

# Runs only when TALLY_TEST_DATABASE_URL names a PostgreSQL server (CI sets it).
test-postgres: install
	@if [ -n "$$TALLY_TEST_DATABASE_URL" ]; then \
		echo "== the same suite against $$TALLY_TEST_DATABASE_URL"; \
		$(BIN)/pytest $(PYTEST_OPTIONS) -o cache_dir=.pytest_cache/postgres; \
	else \
		echo "== TALLY_TEST_DATABASE_URL is not set: PostgreSQL pass skipped"; \
	fi

# The customers' languages: extract the messages of documents, emails and the portal
# (babel.cfg) into the template, then update each language's catalogue from it (new messages
# empty, gone ones dropped); translate what is empty, and tests/core/test_i18n.py passes.
# Catalogues are read from the .po at run time (core/i18n.py): nothing to compile.
LOCALE_DIR := src/tally/locale
catalogues: install
	$(BIN)/pybabel extract -F babel.cfg --add-location=file --sort-output --no-wrap \
		--project=Tally -c TRANSLATORS: -o $(LOCALE_DIR)/messages.pot src/tally
	$(BIN)/pybabel update -i $(LOCALE_DIR)/messages.pot -d $(LOCALE_DIR) -D messages \
		--ignore-obsolete --no-fuzzy-matching --no-wrap

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) node_modules .mypy_cache .pytest_cache .ruff_cache var
