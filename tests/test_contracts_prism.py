"""The checker against Stoplight Prism serving our unmodified openapi.yaml (``make check-prism``):
found at Prism's root, it fails, and its messages state what Prism answered.

Skipped when Prism is not installed (``cd bench && npm ci``, or ``make check-prism``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.check_prism import CREDENTIALS, prism_serving
from bench.servers import PRISM, ROOT
from contracts.cli import main

pytestmark = pytest.mark.skipif(
    not PRISM.exists(), reason="Prism is not installed (cd bench && npm ci)"
)


@pytest.fixture(scope="module")
def prism_url() -> Iterator[str]:
    with prism_serving(ROOT / "openapi.yaml") as url:
        yield url


def test_prism_workflows_fail_with_true_messages(
    prism_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["check", "--url", prism_url, *CREDENTIALS, "--seed", "1", "--run-id", "prism"]
    code = main([*argv, "--stage", "workflows"])
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith(f"northca-contracts: the API is at {prism_url} (the root)\n")
    failures = out.split("\n\n")
    panic = next(f for f in failures if "units.panic-no-change in triggerUnitPanic" in f)
    assert "   received: not listed by listActiveUnits\n" in panic + "\n"
    allow = next(f for f in failures if "routing.allow-header in (routing)" in f)
    assert "   received: no Allow header\n" in allow
    crossed = [f for f in failures if "isolation.second-mdt in listCalls" in f]
    assert crossed and "received: both were answered with id 'string'" in crossed[0]
    assert "at least" not in out
    for failure in failures:
        assert "   received: {}\n" not in failure + "\n"
        assert "   received: None\n" not in failure + "\n"
