"""Planted bugs: named defects a mock can be started with, to prove the contract checks catch them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from mockserver.app import MockServer

Planter = Callable[["Flask", "MockServer"], None]

#: Bug name -> function that plants it into an app.
BUGS: dict[str, Planter] = {}


def plant_bugs(app: Flask, server: MockServer, names: Iterable[str]) -> None:
    """Plant each named bug; an unknown name is a ValueError listing the known ones."""
    for name in names:
        try:
            planter = BUGS[name]
        except KeyError:
            known = ", ".join(sorted(BUGS)) or "none"
            raise ValueError(f"unknown bug {name!r} (known: {known})") from None
        planter(app, server)
