from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver import create_app
from tests.support import auth_headers

# pytester's in-process runs drop the modules first imported during them from sys.modules, but
# not from their package's attributes. A run that loads the schemathesis plugin imported parts of
# its engine that way; the contract checks run later got a second copy of its event classes and,
# checking events with isinstance, recorded no schemathesis result. Import them once, up front.
with contextlib.suppress(ImportError):
    import schemathesis.engine.core
    import schemathesis.engine.events
    import schemathesis.openapi  # noqa: F401


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
