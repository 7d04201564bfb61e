"""``NORTHCA_*`` variables set ``serve``'s common options (the container image's configuration)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import requests

from mockserver.cli import build_parser, main
from tests.live import LiveMock
from tests.support import auth_headers


def serve_args(environ: dict[str, str], *argv: str) -> argparse.Namespace:
    return build_parser(environ).parse_args(["serve", *argv])


def test_variables_set_the_defaults() -> None:
    args = serve_args(
        {
            "NORTHCA_PORT": "8080",
            "NORTHCA_SEED": "/world/world.yaml",
            "NORTHCA_STATE_FILE": "/data/state.json",
            "NORTHCA_ADMIN_TOKEN": "t0ken",
            "NORTHCA_ALLOWED_HOSTS": "northca, mock",
        }
    )
    assert (args.port, args.seed, args.state_file, args.admin_token, args.allowed_host) == (
        8080,
        Path("/world/world.yaml"),
        Path("/data/state.json"),
        "t0ken",
        ["northca", "mock"],
    )


def test_flags_win_and_allowed_hosts_add_up() -> None:
    environ = {"NORTHCA_PORT": "8080", "NORTHCA_ALLOWED_HOSTS": "northca"}
    args = serve_args(environ, "--port", "9090", "--allowed-host", "bot")
    assert (args.port, args.allowed_host) == (9090, ["northca", "bot"])
    plain = serve_args({})
    assert (plain.port, plain.allowed_host, plain.admin_token) == (4010, [], None)


@pytest.mark.parametrize(
    ("environ", "line"),
    [
        (
            {"NORTHCA_PORT": "http"},
            "northca-mock: NORTHCA_PORT='http': expected a port number (0-65535)",
        ),
        (
            {"NORTHCA_PORT": "70000"},
            "northca-mock: NORTHCA_PORT='70000': expected a port number (0-65535)",
        ),
        (
            {"NORTHCA_ADMIN_TOKEN": ""},
            "northca-mock: NORTHCA_ADMIN_TOKEN is empty: give a token, or unset it",
        ),
    ],
)
def test_unusable_variables_exit_2_naming_them(
    environ: dict[str, str],
    line: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert main(["serve"]) == 2
    assert capsys.readouterr().err.strip() == line


def test_allowed_hosts_variable_lets_a_container_name_through_and_nothing_else() -> None:
    with LiveMock(env={"NORTHCA_ALLOWED_HOSTS": "northca"}) as mock:
        url = mock.url + "/v1/mdts/0c7f6a0c-2c4f-4f44-b16a-2b6b8d8fe2c2/shifts"
        named = requests.get(url, headers={**auth_headers(), "Host": "northca:4010"}, timeout=10)
        assert named.status_code == 200
        rebinding = requests.get(
            url, headers={**auth_headers(), "Host": "attacker.example:4010"}, timeout=10
        )
        assert (rebinding.status_code, rebinding.json()) == (
            403,
            {"ok": False, "error": "Forbidden host"},
        )
