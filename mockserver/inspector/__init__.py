"""The live inspector at ``GET /__mock/``: a page (plain HTML, CSS and JS in ``assets/``) and
the read-only control endpoints it needs (namespaces, journal since, link requests, coverage)."""

from mockserver.inspector.routes import register

__all__ = ["register"]
