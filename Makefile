# The two commands a new user needs: `make serve` and `make test`. Both install first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 4010
PYTEST_ARGS ?= -n auto

.PHONY: install serve test lint format bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

serve: install
	$(VENV)/bin/northca-mock serve --host $(HOST) --port $(PORT)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

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

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
