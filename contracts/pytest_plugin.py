"""Run the conformance suite from your own pytest session.

In your ``conftest.py``::

    import pytest
    from contracts import Auth, HttpTarget  # or WsgiTarget(your_wsgi_app)

    pytest_plugins = ["contracts.pytest_plugin"]

    @pytest.fixture(scope="session")
    def northca_target():
        return HttpTarget("http://127.0.0.1:8000/v1")

    @pytest.fixture(scope="session")
    def northca_auth():
        return Auth(partner_key="...", guild="...", mdt="...", actor="...")

Then any test that takes ``northca_workflow`` runs once per workflow (``include_destructive``
and clock control come from ``--northca-destructive``; the latter is detected), e.g.::

    def test_northca_contract(northca_workflow, northca_target, northca_auth):
        northca_workflow.check(northca_target, northca_auth)

and ``run_check`` (see :mod:`contracts.runner`) runs everything, schemathesis included.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from contracts.context import CheckConfig
from contracts.redact import Redactor
from contracts.runner import detect_clock_control
from contracts.spec import ContractSpec
from contracts.target import Auth, Target
from contracts.workflows import WORKFLOWS, Workflow


class BoundWorkflow:
    """A workflow ready to check a target from a test (fails the test on any violation)."""

    def __init__(self, workflow: Workflow, config: pytest.Config) -> None:
        self.workflow = workflow
        self.config = config

    def check(self, target: Target, auth: Auth, *, seed: int = 0) -> None:
        destructive = bool(self.config.getoption("northca_destructive", default=False))
        config = CheckConfig(
            target,
            auth,
            ContractSpec(),
            run_id=f"{random.SystemRandom().randrange(16**6):06x}",
            seed=seed,
            include_destructive=destructive,
            clock_control=detect_clock_control(target),
        )
        ctx = config.context(self.workflow.name)
        reason = self.workflow.skip_reason(ctx)
        if reason:
            pytest.skip(reason)
        redactor = Redactor(auth.partner_key)  # pytest's output and JUnit never get the key
        failures = [redactor.failure(f) for f in self.workflow.run(ctx)]
        if failures:
            lines = [
                f.summary() + (f"\n    reproduce: {f.curl}" if f.curl else "") for f in failures
            ]
            pytest.fail("\n".join(lines), pytrace=False)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("northca-contracts")
    group.addoption(
        "--northca-destructive",
        action="store_true",
        default=False,
        help="also run the workflows that confirm/deny link requests and unlink",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "northca_workflow" in metafunc.fixturenames:
        metafunc.parametrize("northca_workflow", list(WORKFLOWS), indirect=True)


@pytest.fixture
def northca_workflow(request: pytest.FixtureRequest) -> Iterator[BoundWorkflow]:
    """One workflow of the suite (the test is parametrized over all of them)."""
    yield BoundWorkflow(WORKFLOWS[request.param], request.config)


@pytest.fixture(scope="session")
def northca_target() -> Any:
    """Override: return the Target to check (``HttpTarget(url)`` or ``WsgiTarget(app)``)."""
    raise pytest.UsageError("define a `northca_target` fixture returning a contracts Target")


@pytest.fixture(scope="session")
def northca_auth() -> Auth:
    """Override: the partner key, guild, linked MDT (and actor/owner) to check with."""
    raise pytest.UsageError("define a `northca_auth` fixture returning contracts.Auth(...)")
