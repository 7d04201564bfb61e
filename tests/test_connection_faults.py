"""Connection-level faults (reset, empty reply): opt-in, and only on the werkzeug server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from mockserver import create_app
from tests.live import LiveMock, LiveMockError
from tests.support import DEFAULT, auth_headers

SHIFTS = f"/mdts/{DEFAULT.mdt_id}/shifts"
OFF = (
    "faults: connection faults are off (start the mock with --allow-connection-faults"
    " --server werkzeug)"
)


@pytest.fixture(scope="module")
def live() -> Iterator[LiveMock]:
    with LiveMock("--server", "werkzeug", "--allow-connection-faults") as mock:
        yield mock


def plan(live: LiveMock, connection: str, rate: float = 1.0) -> None:
    faults = {"operations": {"listShifts": {"connection": connection, "connection_rate": rate}}}
    response = live.post("/__mock/faults", json=faults)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("kind", ["reset", "empty"])
def test_planned_connection_fault_breaks_the_connection_and_nothing_else(
    live: LiveMock, kind: str
) -> None:
    assert live.post("/__mock/reset").status_code == 200
    plan(live, kind)
    with pytest.raises(requests.ConnectionError):
        requests.get(live.url + SHIFTS, headers=auth_headers(), timeout=5)
    # Other operations answer, the server keeps serving, and the journal says what happened.
    assert requests.get(live.url + f"/mdts/{DEFAULT.mdt_id}", headers=auth_headers(), timeout=5).ok
    journal = live.get("/__mock/requests").json()["data"]
    assert [(e["operation_id"], e["status"], e.get("connection_fault")) for e in journal] == [
        ("listShifts", 0, kind),
        ("getMdtInfo", 200, None),
    ]
    assert live.post("/__mock/reset").status_code == 200
    assert requests.get(live.url + SHIFTS, headers=auth_headers(), timeout=5).ok
    assert live.healthy()


def test_connection_faults_are_refused_unless_allowed() -> None:
    client = create_app().test_client()
    faults = {"operations": {"*": {"connection": "reset"}}}
    response = client.post("/__mock/faults", json=faults)
    assert (response.status_code, response.get_json()) == (400, {"ok": False, "error": OFF})
    bad = client.post(
        "/__mock/faults", json={"operations": {"*": {"connection": "explode"}}}
    ).get_json()
    assert bad == {
        "ok": False,
        "error": "faults.operations.*.connection: expected one of reset, empty",
    }


def test_granian_refuses_to_start_with_connection_faults() -> None:
    mock = LiveMock("--server", "granian", "--allow-connection-faults")
    with pytest.raises(LiveMockError):
        mock.start()
    assert "connection faults need --server werkzeug" in mock.output()
