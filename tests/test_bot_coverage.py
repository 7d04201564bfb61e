"""``--northca-coverage``: which documented responses a bot's tests received from the mock."""

from __future__ import annotations

import json
import math
import textwrap
from typing import Any

import pytest

from mockserver.bot_coverage import REQUEST_HINTS, Tally, build_report
from mockserver.spec import load_spec


def answered(payload: dict[str, Any]) -> dict[str, Any]:
    """A journal entry's ``response`` for an answer with this JSON body."""
    return {"status": 0, "body": json.dumps(payload)}


pytest_plugins = ["pytester"]
SPEC = load_spec(None)
DOCUMENTED = sum(1 + len(op.errors) for op in SPEC.operations.values())
# Two tests: a shift created (201), a duplicate forced with prefer (409), a bad body (400), and
# listShifts twice (200) - 4 documented responses of 2 operations.
SUITE = """
import requests

SHIFT = {"officer_name": "B. Bubbleton", "department": "Patrol"}


def test_create(northca_mock):
    m = northca_mock
    url = f"{m.url}/mdts/{m.mdt_id}/shifts"
    assert requests.post(url, json=SHIFT, headers=m.headers).status_code == 201
    assert requests.post(url, json=SHIFT, headers=m.prefer(example="idExists")).status_code == 409
    m.reset()  # what was received before a reset counts too
    assert requests.post(url, data="x", headers=m.headers).status_code == 400

def test_list(northca_inprocess):
    m = northca_inprocess
    for _ in range(2):
        assert m.session.get(f"{m.url}/mdts/{m.mdt_id}/shifts", headers=m.headers).ok
"""
QUIET = ("-p", "no:cacheprovider")


def write_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bot=textwrap.dedent(SUITE))


def test_the_report_lists_what_was_received_and_how_to_reach_the_rest(
    pytester: pytest.Pytester,
) -> None:
    write_suite(pytester)
    result = pytester.runpytest("--northca-coverage", *QUIET)
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "*= Northca coverage =*",
            f"Your tests received 4 of {DOCUMENTED} documented responses (*%), from 2 of 19"
            " operations.",
            "Never called (17): createLinkRequest, confirmLinkRequest,*",
            "Not received from the operations you called:",
            "  listShifts  GET /mdts/{mdtId}/shifts",
            '    400 invalidLimit * "Invalid limit" * ?limit=0',
            '    401 unauthorized * "Unauthorized" * leave out the partner key: *',
            '    500 internalError * "Internal server error" * prefer or a fault plan only',
            "  createShift  POST /mdts/{mdtId}/shifts",
            '    400 invalidBody * "Invalid request body" * a body the schema rejects*',
            "Any documented error on demand, e.g. listShifts 400 invalidLimit:",
            '  one request: headers=mock.prefer(example="invalidLimit")',
            '  every call:  mock.set_faults({"operations": {"listShifts": {"error_rate": 1,'
            ' "error": "invalidLimit"}}})',
            "*2 passed*",
        ]
    )
    # received ones are not listed as gaps
    result.stdout.no_fnmatch_line("*409 idExists*")
    result.stdout.no_fnmatch_line("*400 invalidJson*")
    result.stdout.no_fnmatch_line("    201 created*")


def test_no_report_without_the_option(pytester: pytest.Pytester) -> None:
    write_suite(pytester)
    result = pytester.runpytest(*QUIET)
    assert result.ret == 0
    result.stdout.no_fnmatch_line("*Northca coverage*")


def test_fail_under_fails_a_partial_suite(pytester: pytest.Pytester) -> None:
    write_suite(pytester)
    result = pytester.runpytest("--northca-coverage-fail-under", "100", *QUIET)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            f"FAIL: your tests received 4 of {DOCUMENTED} documented responses (*%), from 2 of 19"
            " operations, below --northca-coverage-fail-under 100%",
            "*2 passed*",
        ]
    )
    result.stdout.no_fnmatch_line("*= Northca coverage =*")  # the table only with the option
    share = 100 * 4 / DOCUMENTED  # 3.508...%
    at, above = f"{math.floor(share * 100) / 100}", f"{math.ceil(share * 100) / 100}"
    assert pytester.runpytest("--northca-coverage-fail-under", at, *QUIET).ret == 0
    assert pytester.runpytest("--northca-coverage-fail-under", above, *QUIET).ret == 1


def test_collect_only_reports_nothing(pytester: pytest.Pytester) -> None:
    write_suite(pytester)
    result = pytester.runpytest("--collect-only", "--northca-coverage-fail-under", "100", *QUIET)
    assert result.ret == 0
    result.stdout.no_fnmatch_line("*FAIL: your tests*")


def test_fail_under_keeps_a_failing_suite_failing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bad="def test_fails(northca_mock):\n    assert False\n")
    result = pytester.runpytest("--northca-coverage-fail-under", "0", *QUIET)
    assert result.ret == pytest.ExitCode.TESTS_FAILED


@pytest.mark.parametrize("value", ["101", "-1", "lots"])
def test_fail_under_takes_a_percentage(pytester: pytest.Pytester, value: str) -> None:
    result = pytester.runpytest("--northca-coverage-fail-under", value, *QUIET)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*expected a percentage from 0 to 100, got {value!r}*"])


def test_report_file_is_json_or_markdown(pytester: pytest.Pytester) -> None:
    write_suite(pytester)
    result = pytester.runpytest("--northca-coverage-report", "reports/coverage.json", *QUIET)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["Northca coverage report written to reports/coverage.json"])
    data = json.loads((pytester.path / "reports" / "coverage.json").read_text())
    assert (data["received"], data["documented"], data["operations_called"]) == (4, DOCUMENTED, 2)
    ops = {op["operation_id"]: op for op in data["operations"]}
    assert len(ops) == 19
    create = {(r["status"], r["example"]): r for r in ops["createShift"]["responses"]}
    assert create[(201, "created")]["received"] == 1
    assert create[(409, "idExists")] == {
        "status": 409,
        "example": "idExists",
        "error": "ID already exists",
        "received": 1,
        "prefer": 'mock.prefer(example="idExists")',
        "fault_plan": {"operations": {"createShift": {"error_rate": 1, "error": "idExists"}}},
        "request": "create twice with the same id",
    }
    assert create[(400, "invalidBody")]["received"] == 0
    assert ops["listShifts"]["responses"][0]["received"] == 2

    pytester.runpytest("--northca-coverage-report", "coverage.md", *QUIET)
    markdown = (pytester.path / "coverage.md").read_text()
    assert markdown.startswith("# Northca coverage of your tests\n\nYour tests received 4 of")
    assert "| `createShift` | 409 | idExists | `ID already exists` | 1 |  |" in markdown
    assert (
        "| `createShift` | 400 | invalidBody | `Invalid request body` | 0 | a body the schema"
        ' rejects (a field of the wrong type); `mock.prefer(example="invalidBody")`;'
    ) in markdown
    assert markdown.count("\n| `") == DOCUMENTED


def test_xdist_workers_coverage_is_merged(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    write_suite(pytester)
    quiet = (*QUIET, "-p", "no:schemathesis", "-p", "no:hypothesispytest")
    result = pytester.runpytest_subprocess(
        "-n", "2", "--northca-coverage", "--northca-coverage-report", "merged.json", *quiet
    )
    assert result.ret == 0
    result.stdout.fnmatch_lines([f"Your tests received 4 of {DOCUMENTED} documented responses*"])
    pytester.runpytest_subprocess("--northca-coverage-report", "single.json", *quiet)
    merged = json.loads((pytester.path / "merged.json").read_text())
    single = json.loads((pytester.path / "single.json").read_text())
    assert merged == single
    assert merged["received"] == 4
    # --dist each runs every test on both workers: every count doubles once merged
    pytester.runpytest_subprocess(
        "-n", "2", "--dist", "each", "--northca-coverage-report", "each.json", *quiet
    )
    each = json.loads((pytester.path / "each.json").read_text())

    def counts(report: dict[str, Any]) -> list[int]:
        return [r["received"] for op in report["operations"] for r in op["responses"]]

    assert counts(each) == [2 * n for n in counts(single)]
    assert sum(counts(single)) == 5


# -- the pieces ------------------------------------------------------------------------------------
def test_tally_counts_responses_and_merges() -> None:
    tally = Tally()
    tally.add(
        [
            {"operation_id": "createShift", "status": 201, "response": answered({"ok": True})},
            {"operation_id": "createShift", "status": 409, "response": answered({"error": "x"})},
            {"operation_id": None, "status": 404, "response": answered({"error": "Not found"})},
            {"operation_id": "getMdtInfo", "status": 0, "response": None},  # broken connection
        ]
    )
    other = Tally()
    other.merge(json.loads(json.dumps(tally.dump())))
    other.merge(tally.dump())
    assert other.responses() == {("createShift", 201, None): 2, ("createShift", 409, "x"): 2}
    assert other.counts == {
        **other.responses(),
        (None, 404, "Not found"): 2,
        ("getMdtInfo", 0, None): 2,
    }


def test_undocumented_answers_are_reported_apart() -> None:
    tally = Tally()
    tally.add(
        [
            {
                "operation_id": "createShift",
                "status": 413,
                "response": answered({"ok": False, "error": "Request body too large"}),
            }
        ]
    )
    report = build_report(SPEC, tally)
    assert report.received == 0
    assert report.undocumented == (("createShift", 413, "Request body too large", 1),)
    assert "createShift" not in report.never_called
    assert (
        'Received, but not documented for createShift: 413 "Request body too large" (1x)'
        in report.terminal_lines()
    )


def test_every_error_example_but_internal_error_has_a_request_hint() -> None:
    names = {name for op in SPEC.operations.values() for name in op.errors}
    assert set(REQUEST_HINTS) <= names  # no hint for an example the spec lacks
    assert names - set(REQUEST_HINTS) == {"internalError"}


def test_a_complete_tally_is_100_percent() -> None:
    tally = Tally()
    for op in SPEC.operations.values():
        entries = [{"operation_id": op.operation_id, "status": op.success_status}]
        entries += [
            {
                "operation_id": op.operation_id,
                "status": e.status,
                "response": answered({"ok": False, "error": e.message}),
            }
            for e in op.errors.values()
        ]
        tally.add(entries)
    report = build_report(SPEC, tally)
    assert (report.received, report.percent, report.below(100)) == (DOCUMENTED, 100.0, False)
    assert report.terminal_lines() == [
        f"Your tests received {DOCUMENTED} of {DOCUMENTED} documented responses (100.0%), from"
        " 19 of 19 operations."
    ]
