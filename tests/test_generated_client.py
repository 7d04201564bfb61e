"""A client generated from openapi.yaml by openapi-python-client drives the mock.

The client is generated once per module into a temporary folder and imported from there. Every
request and every parsed answer below goes through the generated code: no hand-written parsing.
openapi-python-client needs Python >= 3.11, so the module is skipped on 3.10.
"""

from __future__ import annotations

import enum
import importlib
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import pytest
import yaml

from mockserver.testing import NorthcaMock

pytest.importorskip("openapi_python_client", reason="openapi-python-client needs Python >= 3.11")

ROOT = Path(__file__).resolve().parents[1]
SPEC_PATH = ROOT / "openapi.yaml"
PACKAGE = "northca_generated_client"
MAPS = {"ER:LC", "ER:LC Roadmap", "Maple County"}
GENERATE_TIMEOUT = 120.0


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated client package, imported; generated once for the module."""
    folder = tmp_path_factory.mktemp("generated")
    config = folder / "config.yaml"
    # No post hooks: the code is only imported here, and formatting it would slow the run.
    config.write_text(yaml.safe_dump({"post_hooks": []}))
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--meta", "none"]
    command += ["--path", str(SPEC_PATH), "--config", str(config)]
    command += ["--output-path", str(folder / PACKAGE)]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=GENERATE_TIMEOUT,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # The generator reads the whole spec without a warning (it prints one per skipped part).
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _module(generated: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{generated.__name__}.{name}")


def _client(generated: ModuleType, mock: NorthcaMock, key: str | None) -> Any:
    # The guild is a security scheme: set once on the client, like the partner key.
    options: dict[str, Any] = {"base_url": mock.v1_url, "raise_on_unexpected_status": True}
    options["headers"] = {"x-discord-guild": mock.guild_id}
    if key is None:
        return generated.Client(**options)
    return generated.AuthenticatedClient(
        **options, token=key, prefix="", auth_header_name="x-partner-key"
    )


# --------------------------------------------------------------------------------------------
# what was generated


def test_map_is_one_enum(generated: ModuleType) -> None:
    models = _module(generated, "models")
    enums = [
        name
        for name in models.__all__
        if isinstance(getattr(models, name), enum.EnumMeta)
        and {member.value for member in getattr(models, name)} == MAPS
    ]
    assert enums == ["MdtMap"]
    field = attrs.fields_dict(models.MdtInfo)["map_"]
    # Required (the mock always sends it) and nullable: no `Unset`. A string: the models
    # postpone annotations.
    assert str(field.type) == "MdtMap | None"


def test_every_success_body_requires_data(generated: ModuleType) -> None:
    models = _module(generated, "models")
    spec = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    operations = [
        op for item in spec["paths"].values() for op in item.values() if "operationId" in op
    ]
    success = [name for name in models.__all__ if "Response20" in name]
    assert len(success) == len(operations) == 19
    for name in success:
        data = attrs.fields_dict(getattr(models, name))["data"]
        assert data.default is attrs.NOTHING, name  # no default: a required argument
        assert "Unset" not in str(data.type), (name, data.type)


# --------------------------------------------------------------------------------------------
# the generated client against the mock


def test_create_then_list_shifts(generated: ModuleType, northca_mock: NorthcaMock) -> None:
    models = _module(generated, "models")
    create_shift = _module(generated, "api.shifts.create_shift")
    list_shifts = _module(generated, "api.shifts.list_shifts")
    body = models.CreateShiftBody(
        officer_name="B. Bubbleton", officer_badge="512", department="Patrol", status="active"
    )
    with _client(generated, northca_mock, northca_mock.partner_key) as client:
        created = create_shift.sync_detailed(
            northca_mock.mdt_id,
            client=client,
            body=body,
            x_discord_actor=northca_mock.owner_id,
        )
        assert created.status_code == 201
        assert isinstance(created.parsed, models.CreateShiftResponse201)
        assert created.parsed.ok is True
        shift = created.parsed.data
        assert isinstance(shift, models.Shift)
        assert (shift.officer_name, shift.officer_badge) == ("B. Bubbleton", "512")
        assert (shift.department, shift.status) == ("Patrol", "active")
        assert shift.mdt_code == northca_mock.mdt_id
        assert shift.created_by_discord_id == northca_mock.owner_id
        assert (shift.end_time, shift.duration_ms) == (None, None)
        assert shift.start_time.utcoffset() == timedelta(0)
        assert shift.created_at == shift.updated_at == shift.start_time

        listed = list_shifts.sync_detailed(northca_mock.mdt_id, client=client)
    assert listed.status_code == 200
    assert isinstance(listed.parsed, models.ListShiftsResponse200)
    assert listed.parsed.ok is True
    assert listed.parsed.data == [shift]
    northca_mock.requests.assert_called("createShift", times=1, status=201)
    northca_mock.requests.assert_called("listShifts", times=1, status=200)


def test_mdt_info_map_parses_to_the_enum(generated: ModuleType, northca_mock: NorthcaMock) -> None:
    models = _module(generated, "models")
    get_mdt_info = _module(generated, "api.mdt_info.get_mdt_info")
    with _client(generated, northca_mock, northca_mock.partner_key) as client:
        info = get_mdt_info.sync_detailed(northca_mock.mdt_id, client=client)
    assert info.status_code == 200
    assert isinstance(info.parsed, models.GetMdtInfoResponse200)
    assert info.parsed.data.map_ is models.MdtMap.ERLC
    assert info.parsed.data.id == northca_mock.mdt_id


def test_bad_limit_is_a_parsed_400(generated: ModuleType, northca_mock: NorthcaMock) -> None:
    models = _module(generated, "models")
    list_shifts = _module(generated, "api.shifts.list_shifts")
    with _client(generated, northca_mock, northca_mock.partner_key) as client:
        answer = list_shifts.sync_detailed(northca_mock.mdt_id, client=client, limit=101)
    assert answer.status_code == 400
    assert isinstance(answer.parsed, models.ErrorEnvelope)
    assert (answer.parsed.ok, answer.parsed.error) == (False, "Invalid limit")
    northca_mock.requests.assert_called("listShifts", times=1, status=400)


@pytest.mark.parametrize("key", [None, "not-a-partner-key"], ids=["missing-key", "unknown-key"])
def test_unauthorized_is_a_parsed_401(
    generated: ModuleType, northca_mock: NorthcaMock, key: str | None
) -> None:
    models = _module(generated, "models")
    create_shift = _module(generated, "api.shifts.create_shift")
    with _client(generated, northca_mock, key) as client:
        answer = create_shift.sync_detailed(
            northca_mock.mdt_id,
            client=client,
            body=models.CreateShiftBody(officer_name="B. Bubbleton"),
        )
    assert answer.status_code == 401
    assert isinstance(answer.parsed, models.ErrorEnvelope)
    assert (answer.parsed.ok, answer.parsed.error) == (False, "Unauthorized")
    northca_mock.requests.assert_called("createShift", times=1, status=401)


def test_an_oversized_body_is_a_parsed_413(
    generated: ModuleType, northca_mock: NorthcaMock
) -> None:
    """The route-level 413 is attached to the operation, so the client parses it (it raised
    ``UnexpectedStatus`` while no operation listed it)."""
    models = _module(generated, "models")
    create_ticket = _module(generated, "api.tickets.create_ticket")
    body = models.CreateTicketBody(title="x" * (1 << 20))
    with _client(generated, northca_mock, northca_mock.partner_key) as client:
        answer = create_ticket.sync_detailed(northca_mock.mdt_id, client=client, body=body)
    assert answer.status_code == 413
    assert isinstance(answer.parsed, models.ErrorEnvelope)
    assert (answer.parsed.ok, answer.parsed.error) == (False, "Request body too large")
    northca_mock.requests.assert_called("createTicket", times=1, status=413)
