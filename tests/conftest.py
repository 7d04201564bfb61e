from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver import create_app
from tests.support import auth_headers


@pytest.fixture
def app() -> Iterator[Flask]:
    """A fresh mock with the default world."""
    yield create_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def headers() -> dict[str, str]:
    """Default partner key, guild and actor (the owner of the linked MDT)."""
    return auth_headers()
