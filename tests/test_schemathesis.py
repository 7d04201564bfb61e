"""schemathesis 4.x against the mock, in-process (WSGI): every phase, every check, zero failures.

Phases examples, coverage and fuzzing run per operation through ``@schema.parametrize()``, each
operation starting from the default world; the stateful phase runs as a Hypothesis state machine
over the spec's links, each scenario starting from the default world. Data, bounds and the few
business-rule exceptions live in ``schemathesis.toml`` at the repository root, which
``schemathesis run`` discovers too, so a run against a live mock uses the same settings:

    northca-mock serve --port 4010 &
    schemathesis run openapi.yaml --url http://127.0.0.1:4010/v1 \\
        --phases examples,coverage,fuzzing,stateful --checks all

(That run shares one world across all operations; ``schemathesis.toml`` unlinks in a namespace
of its own and fixes the unit ids, so every operation reaches its success status there:
``tests/test_schemathesis_run.py``.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.core.result import Ok
from schemathesis.generation import overrides

from mockserver import create_app

ROOT = Path(__file__).resolve().parents[1]
PHASES = ("examples", "coverage", "fuzzing", "stateful")

CONFIG = SchemathesisConfig.from_path(ROOT / "schemathesis.toml")
schema = schemathesis.openapi.from_path(ROOT / "openapi.yaml", config=CONFIG)
# One in-process mock for the module. Checks that re-send a request (ignored_auth, use_after_free,
# ensure_resource_availability, ...) reach it through `schema.app` as well.
APP = create_app()
schema.app = APP


def reset_world() -> None:
    response = APP.test_client().post("/__mock/reset")
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.fixture
def fresh_world() -> None:
    """Every operation starts from the default world (state persists across its examples)."""
    reset_world()


def test_config_enables_every_phase_and_check() -> None:
    """Guard the "all phases, all checks" promise against a config edit."""
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        phases = schema.config.phases_for(operation=operation)
        for name in PHASES:
            assert getattr(phases, name).enabled, (operation.label, name)
        checks = schema.config.checks_config_for(operation=operation, phase=None)
        for name in (
            "not_a_server_error",
            "status_code_conformance",
            "content_type_conformance",
            "response_schema_conformance",
            "response_headers_conformance",
            "positive_data_acceptance",
            "negative_data_rejection",
            "use_after_free",
            "ensure_resource_availability",
            "missing_required_header",
            "ignored_auth",
            "object_level_authorization",
            "unsupported_method",
            "allow_header_conformance",
        ):
            assert getattr(checks, name).enabled, (operation.label, name)


@schema.parametrize()
@pytest.mark.usefixtures("fresh_world")
def test_api(case: Any) -> None:
    """Phases examples, coverage and fuzzing."""
    case.call_and_validate()


class NorthcaStateMachine(schema.as_state_machine()):  # type: ignore[misc]
    """Stateful phase: every scenario starts from the default world."""

    def setup(self) -> None:
        reset_world()

    def before_call(self, case: Any) -> None:
        # `[parameters]` of schemathesis.toml: the pytest state machine does not apply them by
        # itself; `schemathesis run` does exactly this in its stateful phase.
        overrides.for_operation(schema.config, operation=case.operation).apply_to(case)
        super().before_call(case)


_stateful = CONFIG.projects.get_default().phases.stateful
TestStateful = NorthcaStateMachine.TestCase
TestStateful.settings = hypothesis.settings(
    max_examples=CONFIG.projects.get_default().generation.max_examples or 8,
    stateful_step_count=_stateful.max_steps,
    deadline=None,
)
