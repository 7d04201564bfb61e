"""Reporters: consume the engine's events. Console progress and failures, JUnit XML, coverage."""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TextIO

from contracts.events import (
    CheckFinished,
    Event,
    RunFinished,
    RunStarted,
    StageFinished,
    StageStarted,
)
from contracts.rules import lookup


class ConsoleReporter:
    """Progress while the run goes, then every failure with rule, expected/received and curl."""

    def __init__(self, stream: TextIO | None = None, *, verbose: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.verbose = verbose
        self._count = 0
        self._total = 0

    def __call__(self, event: Event) -> None:
        out = self.stream
        if isinstance(event, RunStarted):
            print(
                f"northca-contracts: checking {event.target} "
                f"(seed {event.seed}, run {event.run_id})",
                file=out,
            )
        elif isinstance(event, StageStarted):
            self._count, self._total = 0, event.total
            print(f"== {event.stage}", file=out, flush=True)
        elif isinstance(event, CheckFinished):
            self._count += 1
            if event.skipped:
                mark = "SKIP"
            else:
                mark = "ok" if event.passed else f"FAIL ({len(event.failures)})"
            if self.verbose or event.stage != "schemathesis" or not event.passed:
                detail = f" - {event.skipped}" if event.skipped else ""
                print(
                    f"  {mark:<9} {event.name} [{event.duration:.2f}s]{detail}",
                    file=out,
                    flush=True,
                )
            elif self._count % 10 == 0:
                print(f"  ... {self._count} scenarios", file=out, flush=True)
        elif isinstance(event, StageFinished):
            print(f"   {event.stage} done in {event.duration:.1f}s", file=out, flush=True)
        elif isinstance(event, RunFinished):
            for number, failure in enumerate(event.failures, 1):
                print(
                    f"\n{number}) {failure.rule} in {failure.operation} ({failure.check})", file=out
                )
                print(f"   meaning: {_describe(failure.rule)}", file=out)
                if failure.message:
                    print(f"   message: {failure.message}", file=out)
                print(f"   expected: {failure.expected}", file=out)
                print(f"   received: {failure.received}", file=out)
                if failure.curl:
                    print(f"   reproduce: {failure.curl}", file=out)
            rules = sorted({f.rule for f in event.failures})
            verdict = (
                "CONFORMS"
                if event.ok
                else f"{len(event.failures)} violation(s): {', '.join(rules)}"
            )
            if event.aborted:
                verdict = f"STOPPED ({event.aborted}); {len(event.failures)} violation(s) so far"
                if rules:
                    verdict += f": {', '.join(rules)}"
            print(f"\n{verdict} [{event.duration:.1f}s]", file=out, flush=True)


def _describe(rule: str) -> str:
    try:
        return lookup(rule).description
    except KeyError:
        return "(undeclared)"


#: Characters XML 1.0 cannot hold (a fuzzed body may contain them): written as ``\\xNN``.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def junit_xml(run: RunFinished) -> str:
    """A JUnit XML document: one testsuite per stage, one testcase per check."""
    suites = ET.Element("testsuites", name="northca-contracts", time=f"{run.duration:.3f}")
    by_stage: dict[str, list[CheckFinished]] = {}
    for check in run.checks:
        by_stage.setdefault(check.stage, []).append(check)
    for stage, checks in by_stage.items():
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=stage,
            tests=str(len(checks)),
            failures=str(sum(1 for c in checks if c.failures)),
            skipped=str(sum(1 for c in checks if c.skipped)),
            time=f"{sum(c.duration for c in checks):.3f}",
        )
        for check in checks:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"northca.{stage}",
                name=_xml(check.name),
                time=f"{check.duration:.3f}",
            )
            if check.skipped:
                ET.SubElement(case, "skipped", message=check.skipped)
            for failure in check.failures:
                node = ET.SubElement(
                    case, "failure", type=failure.rule, message=_xml(failure.summary()[:500])
                )
                node.text = _xml(
                    f"rule: {failure.rule}\nmeaning: {_describe(failure.rule)}\n"
                    f"operation: {failure.operation}\n"
                    + (f"message: {failure.message}\n" if failure.message else "")
                    + f"expected: {failure.expected}\nreceived: {failure.received}\n"
                    f"reproduce: {failure.curl}\n"
                )
    if run.aborted:
        suite = ET.SubElement(suites, "testsuite", name="run", tests="1", errors="1")
        case = ET.SubElement(suite, "testcase", classname="northca.run", name="target")
        ET.SubElement(case, "error", type="target-unreachable", message=_xml(run.aborted[:500]))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


class FileReporter:
    """Writes the JUnit file and/or the report directory (coverage.md, coverage.json, junit.xml)."""

    def __init__(self, junit: Path | None = None, report_dir: Path | None = None) -> None:
        self.junit = junit
        self.report_dir = report_dir

    def __call__(self, event: Event) -> None:
        if not isinstance(event, RunFinished):
            return
        xml = junit_xml(event)
        if self.junit is not None:
            self.junit.parent.mkdir(parents=True, exist_ok=True)
            self.junit.write_text(xml, encoding="utf-8")
        if self.report_dir is not None:
            self.report_dir.mkdir(parents=True, exist_ok=True)
            (self.report_dir / "junit.xml").write_text(xml, encoding="utf-8")
            if event.coverage is not None:
                (self.report_dir / "coverage.md").write_text(event.coverage.to_markdown(), "utf-8")
                (self.report_dir / "coverage.json").write_text(event.coverage.to_json(), "utf-8")
