# The two commands a new user needs: `make serve` and `make test`. Both install first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 4010
PYTEST_ARGS ?= -n auto
# The plugin's tests also run under the other pytest major (8 or 9), in a venv without the
# contracts extra (the README's async examples need the async extra and aiohttp).
OTHER_VENV ?= .venv-pytest-other
OTHER_STAMP := $(OTHER_VENV)/.installed-stamp

.PHONY: install serve test test-other-pytest lint format bench browser lighthouse dist install-size clean example-ts docs

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

serve: install
	$(VENV)/bin/northca-mock serve --host $(HOST) --port $(PORT)

test: install browser lighthouse $(OTHER_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)
	@$(MAKE) --no-print-directory test-other-pytest

$(OTHER_STAMP): pyproject.toml $(STAMP)
	@test -x $(OTHER_VENV)/bin/python || $(PYTHON) -m venv $(OTHER_VENV)
	@major=$$($(PY) -c 'import pytest; print(pytest.version_tuple[0])'); \
	  other=$$([ "$$major" = 8 ] && echo 9 || echo 8); \
	  echo "$(OTHER_VENV): northca-mock[async] with pytest $$other (.venv has pytest $$major)"; \
	  $(OTHER_VENV)/bin/python -m pip install --quiet -e '.[async]' "pytest==$$other.*" \
	    'pytest-xdist>=3.5,<4' 'aiohttp>=3.9,<4'
	@touch $(OTHER_STAMP)

test-other-pytest: $(OTHER_STAMP)
	@major() { $$1 -c 'import pytest; print(pytest.version_tuple[0])'; }; \
	  if [ "$$(major $(PY))" = "$$(major $(OTHER_VENV)/bin/python)" ]; then \
	    echo "$(VENV) and $(OTHER_VENV) have the same pytest major: rm -r $(OTHER_VENV)"; exit 1; fi
	@$(OTHER_VENV)/bin/python -c 'import pytest; print("pytest", pytest.__version__, end=": ")'
	$(OTHER_VENV)/bin/python -m pytest $(PYTEST_ARGS) -q tests/test_pytest_plugin.py

# Debian's headless Chromium for the inspector's browser tests (driven by Playwright for Python).
browser:
	@test -x /usr/bin/chromium || { s=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$s apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$s apt-get install -y -qq chromium chromium-driver; }

# Lighthouse, pinned (tests/lighthouse), for the inspector's layout-shift and accessibility test.
lighthouse:
	@test -x tests/lighthouse/node_modules/.bin/lighthouse || \
	  (cd tests/lighthouse && npm ci --no-audit --no-fund --loglevel=error)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install  # the mock beside Prism and plain Flask (bench/README.md); BENCH_ARGS=--quick|--survey|--sustained
	@command -v wrk >/dev/null || { s=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$s apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$s apt-get install -y -qq wrk; }
	$(PY) -m pip install --quiet -r bench/requirements.txt
	@case "$(BENCH_ARGS)" in *--sustained*) ;; *) test -x bench/node_modules/.bin/prism || \
	  (cd bench && npm ci --no-audit --no-fund --loglevel=error);; esac
	$(PY) -m bench.run $(BENCH_ARGS)

# The docs site (docs/, mkdocs.yml): strict, so a broken link or anchor fails the build.
docs: install
	$(PY) -m pip install --quiet -e '.[docs]'
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --clean

# The TypeScript example (examples/typescript): typed client generated from openapi.yaml, strict tsc,
# node:test against `northca-mock serve` from this venv (or NORTHCA_MOCK_URL, e.g. the container).
example-ts: install
	cd examples/typescript && { test -d node_modules -a node_modules/.package-lock.json -nt package-lock.json || \
	  npm ci --no-audit --no-fund --loglevel=error; } && PATH="$(abspath $(VENV))/bin:$$PATH" npm test

dist: install  # a wheel and an sdist into dist/, built with the venv's hatchling
	rm -rf dist
	$(PY) -m build --no-isolation --outdir dist .

install-size: install  # packages and MB of the bare and the full install, each in a new venv
	$(PY) -m tests.install_size

clean:
	rm -rf $(VENV) $(OTHER_VENV) build dist .pytest_cache .mypy_cache .ruff_cache
