"""CI-safe output: the partner key never reaches a file or the console, a wrong URL and a target
that goes away mid-run exit 2 with one line."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from contracts import Auth, CheckOptions, TargetUnreachable, WsgiTarget, run_check
from contracts.cli import main
from contracts.events import Failure
from contracts.redact import PLACEHOLDER, Redactor
from contracts.target import Exchange
from mockserver import create_app
from mockserver.threaded import served
from tests.support import DEFAULT

AUTH = Auth(DEFAULT.partner_key, DEFAULT.guild_id, DEFAULT.mdt_id, actor=DEFAULT.actor_id)


def args(url: str, *extra: str) -> list[str]:
    return [
        "check", "--url", url, "--partner-key", DEFAULT.partner_key, "--guild", DEFAULT.guild_id,
        "--mdt", DEFAULT.mdt_id, "--actor", DEFAULT.actor_id, "--seed", "5", *extra,
    ]  # fmt: skip


def test_redactor_replaces_the_key_in_curl_and_text() -> None:
    ex = Exchange("GET", "http://h/v1/x", {"x-partner-key": "s3cr3t key"}, b"{}", 200, {}, b"")
    failure = Failure("c", "r", "op", 'expected "s3cr3t key"', "received s3cr3t key", ex.curl())
    clean = Redactor("s3cr3t key").failure(failure)
    assert clean.curl == f'curl -i -X GET http://h/v1/x -H "x-partner-key: {PLACEHOLDER}"' + (
        " --data-raw '{}'"
    )
    assert clean.expected == f'expected "{PLACEHOLDER}"'
    assert clean.received == f"received {PLACEHOLDER}"
    assert Redactor(None).failure(failure) == failure


def test_key_is_in_no_output_of_a_failing_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every failure prints a curl line; none carries the key (console, JUnit, coverage)."""
    with served(create_app(bugs=["wrong-error-string", "patch-not-stored"])) as url:
        code = main(
            args(url, "--stage", "workflows", "--junit", str(tmp_path / "j.xml"),
                 "--report-dir", str(tmp_path / "report"))
        )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 1
    assert out.count("reproduce: curl") >= 2
    assert f'-H "x-partner-key: {PLACEHOLDER}"' in out
    written = [p.read_text() for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) == 4  # j.xml, junit.xml, coverage.md, coverage.json
    assert all(DEFAULT.partner_key not in text for text in [out, err, *written])
    assert PLACEHOLDER in (tmp_path / "j.xml").read_text()


def test_every_route_404_exits_2_with_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    with served(create_app()) as url:
        root = url.removesuffix("/v1")
        code = main(args(root + "/api"))
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == (
        f"northca-contracts: every route answers 404 at {root}/api/v1 and {root}/api: is --url"
        " the server's root (the checker tries /v1 and the root; --base-path sets another),"
        " e.g. http://127.0.0.1:4010?"
    )


class DyingTarget(WsgiTarget):
    """Answers ``lives`` requests, then never again."""

    def __init__(self, lives: int) -> None:
        super().__init__(create_app())
        self.lives = lives

    def send(self, method: str, path: str, **kwargs: Any) -> Exchange:
        self.lives -= 1
        if self.lives < 0:
            raise TargetUnreachable("cannot reach http://localhost/v1 (ConnectionError)")
        return super().send(method, path, **kwargs)

    def control(self, method: str, path: str, json: Mapping[str, Any] | None = None) -> Exchange:
        return super().control(method, path, json)


@pytest.mark.parametrize(
    ("lives", "stages", "where"),
    [(60, ("workflows",), "workflows auth"), (150, ("stateful",), "stateful stateful.model")],
)
def test_target_that_goes_away_stops_the_run(
    lives: int, stages: tuple[str, ...], where: str
) -> None:
    options = CheckOptions(AUTH, seed=1, stages=stages)
    with pytest.raises(TargetUnreachable) as raised:
        run_check(DyingTarget(lives), options)
    message = str(raised.value)
    assert message.startswith("cannot reach http://localhost/v1 (ConnectionError); ")
    assert f"it stopped answering during {where}, " in message


def test_dying_target_exits_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def vanish(*_: Any, **__: Any) -> None:
        raise TargetUnreachable(
            f"cannot reach it; key {DEFAULT.partner_key}\nduring workflows auth"
        )

    monkeypatch.setattr("contracts.cli.run_check", vanish)
    monkeypatch.setattr("contracts.cli.locate", lambda url, *_: (url, "the API is at it"))
    assert main(args("http://127.0.0.1:9")) == 2
    err = capsys.readouterr().err
    assert err == (
        f"northca-contracts: target unreachable: cannot reach it; key {PLACEHOLDER}"
        " during workflows auth\n"
    )
