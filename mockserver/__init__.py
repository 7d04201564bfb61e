"""northca-mock: a stateful mock of the Northca Partner API, driven by ``openapi.yaml``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["create_app"]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from flask import Flask


def create_app(*args: Any, **kwargs: Any) -> Flask:
    """Build the mock's Flask app (see :func:`mockserver.app.create_app`)."""
    from mockserver.app import create_app as _create_app

    return _create_app(*args, **kwargs)
