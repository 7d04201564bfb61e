# The two commands a new user needs: `make serve` and `make test`. Both install first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 4010
PYTEST_ARGS ?= -n auto --dist loadgroup
# The plugin's tests also run under the other pytest major (8 or 9), in a venv without the
# contracts extra (the README's async examples need the async extra and aiohttp).
OTHER_VENV ?= .venv-pytest-other
OTHER_STAMP := $(OTHER_VENV)/.installed-stamp

.PHONY: install serve test test-other-pytest lint format bench profile check-prism memory-worst-case browser node-tools lighthouse \
	dist install-size mutation clean example-ts docs image image-test podman-setup test-base lint-workflows

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

serve: install
	$(VENV)/bin/northca-mock serve --host $(HOST) --port $(PORT)

test: install browser node-tools lighthouse $(OTHER_STAMP)
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

# The pinned JavaScript tools of the client tests (openapi-typescript, openapi-fetch, tsc, Spectral,
# Redocly, Prism), from tests/node/package-lock.json; reinstalled only when the lock changes.
# Without npm the tests that need them skip (they fail in CI).
NODE_DIR := tests/node
NODE_STAMP := $(NODE_DIR)/node_modules/.installed-stamp

node-tools:
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory $(NODE_STAMP); \
	  else echo "npm not found: the TypeScript client, lint and Prism tests will skip"; fi

$(NODE_STAMP): $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

# Lighthouse, pinned (tests/lighthouse), for the inspector's layout-shift and accessibility test.
LIGHTHOUSE_DIR := tests/lighthouse
LIGHTHOUSE_STAMP := $(LIGHTHOUSE_DIR)/node_modules/.installed-stamp

lighthouse:
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory $(LIGHTHOUSE_STAMP); \
	  else echo "npm not found: the inspector's Lighthouse test will skip"; fi

$(LIGHTHOUSE_STAMP): $(LIGHTHOUSE_DIR)/package.json $(LIGHTHOUSE_DIR)/package-lock.json
	cd $(LIGHTHOUSE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $(LIGHTHOUSE_STAMP)

lint: install
	$(VENV)/bin/actionlint -no-color .github/workflows/*.yml
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

memory-worst-case: install  # every default cap reached on a real serve (minutes, a few GB; README "Limits")
	NORTHCA_WORST_CASE_MEMORY=1 $(PY) -m pytest -q -s -n 0 -p no:cacheprovider tests/test_worst_case_memory.py

bench: install  # the mock beside Prism and plain Flask (bench/README.md); BENCH_ARGS=--quick|--survey|--sustained
	@command -v wrk >/dev/null || { s=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$s apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$s apt-get install -y -qq wrk; }
	$(PY) -m pip install --quiet -r bench/requirements.txt
	@case "$(BENCH_ARGS)" in *--sustained*) ;; *) test -x bench/node_modules/.bin/prism || \
	  (cd bench && npm ci --no-audit --no-fund --loglevel=error);; esac
	$(PY) -m bench.run $(BENCH_ARGS)

check-prism: install  # the checker against Prism serving openapi.yaml; result in docs/checker-vs-prism.md
	test -x bench/node_modules/.bin/prism || (cd bench && npm ci --no-audit --no-fund --loglevel=error)
	$(PY) -m bench.check_prism

profile: install  # flame graphs of `serve` per operation and the stage table: bench/PROFILE.md
	@command -v wrk >/dev/null || { s=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$s apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$s apt-get install -y -qq wrk; }
	$(PY) -m pip install --quiet -r bench/requirements.txt
	$(PY) -m bench.profile $(PROFILE_ARGS)

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

# Mutation testing of the handlers and validation, judged by the checker (docs/mutation.md);
# not part of `make test`. MUTATION_ARGS=--budget SECONDS|--timeout SECONDS|--resume
mutation: install
	$(PY) -m mutation.campaign $(MUTATION_ARGS)

install-size: install  # packages and MB of the bare and the full install, each in a new venv
	$(PY) -m tests.install_size

# -- the container image (Containerfile) -----------------------------------------------------------
# `make image` builds it with docker, or podman where docker is missing. `make image-test` builds it
# on a Debian base made here (no registry needed) and runs tests/test_image.py against it with
# podman; the base's rootfs and the podman image are cached, so only the first run pays for them.
IMAGE ?= northca-mock:latest
CONTAINER ?= $(shell command -v docker >/dev/null 2>&1 && echo docker || echo podman)
IMAGE_CACHE ?= $(HOME)/.cache/northca-mock
TEST_BASE ?= localhost/northca-base:bookworm-python3
TEST_IMAGE ?= localhost/northca-mock:test
# crun refuses hybrid cgroups on some hosts; runc works everywhere podman does.
PODMAN ?= podman --runtime runc

image:  # podman needs the docker format to keep HEALTHCHECK
	$(CONTAINER) build $(if $(findstring podman,$(CONTAINER)),--format docker) -t $(IMAGE) \
	  -f Containerfile .

podman-setup:  # podman, runc and mmdebstrap from Debian, installed once
	@command -v podman >/dev/null && command -v runc >/dev/null && command -v mmdebstrap >/dev/null \
	  || { s=$$([ "$$(id -u)" = 0 ] || echo sudo); $$s apt-get update -qq \
	  && DEBIAN_FRONTEND=noninteractive $$s apt-get install -y -qq podman runc mmdebstrap; }

$(IMAGE_CACHE)/bookworm-python3.tar:
	@$(MAKE) --no-print-directory podman-setup
	mkdir -p $(IMAGE_CACHE) && rm -f $@.partial
	mmdebstrap --quiet --format=tar --variant=minbase --include=python3,python3-venv,ca-certificates \
	  bookworm $@.partial
	mv $@.partial $@

test-base: $(IMAGE_CACHE)/bookworm-python3.tar
	@$(PODMAN) image exists $(TEST_BASE) || $(PODMAN) import \
	  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	  $< $(TEST_BASE)

# The build's pip trusts what this machine trusts (a TLS-intercepting proxy's CA): the CA bundle
# is mounted for the build's RUN steps only, never copied into the image.
CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt
IMAGE_BUILD_OPTS ?= $(if $(wildcard $(CA_BUNDLE)),--volume $(CA_BUNDLE):/etc/ssl/certs/ca-certificates.crt:ro \
	--build-arg PIP_CERT=/etc/ssl/certs/ca-certificates.crt)

image-test: install test-base
	$(PODMAN) build --format docker --network host --ulimit nofile=4096:4096 \
	  --ulimit nproc=4096:4096 $(IMAGE_BUILD_OPTS) --build-arg BASE=$(TEST_BASE) \
	  -t $(TEST_IMAGE) -f Containerfile .
	NORTHCA_TEST_IMAGE=$(TEST_IMAGE) NORTHCA_TEST_BASE=$(TEST_BASE) PODMAN="$(PODMAN)" $(PY) -m pytest -q -n 0 -p no:randomly \
	  tests/test_image.py

lint-workflows: install  # actionlint (pinned in the dev extra) on .github/workflows; also in `make lint`
	$(VENV)/bin/actionlint -no-color .github/workflows/*.yml

clean:
	rm -rf $(VENV) $(OTHER_VENV) build dist .pytest_cache .mypy_cache .ruff_cache
