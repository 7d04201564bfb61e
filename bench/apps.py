"""WSGI app factories the benchmark serves (``bench.serve`` and granian's ``--factory``)."""

from __future__ import annotations

import os

from flask import Flask

#: Environment variable naming a world file for the mock (default: the packaged world).
WORLD_ENV = "NORTHCA_BENCH_WORLD"


def mock_app() -> Flask:
    """The mock exactly as ``northca-mock serve`` builds it (validation and state on)."""
    from mockserver import create_app

    return create_app(world=os.environ.get(WORLD_ENV) or None)


def plain_app() -> Flask:
    """The plain Flask baseline (no validation)."""
    from bench.baseline import create_plain_app

    return create_plain_app()


FACTORIES = {"mock": mock_app, "plain": plain_app}
