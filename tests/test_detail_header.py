"""The diagnostic header never holds a control character: a body key with one is answered in
the envelope on both servers (granian refused such a header and answered a plain-text 500)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from mockserver.envelopes import DETAIL_HEADER, detail_header_value
from tests.live import LiveMock
from tests.support import DEFAULT, auth_headers

BODY = b'{"\\ud834\\udea0\\u0004\\ud9f9\\uddde": ":", "status": null}'


@pytest.fixture(scope="module", params=["granian", "werkzeug"])
def live(request: pytest.FixtureRequest) -> Iterator[LiveMock]:
    with LiveMock("--server", request.param) as mock:
        yield mock


def test_a_control_character_in_a_body_key_is_answered_in_the_envelope(live: LiveMock) -> None:
    answer = requests.post(
        f"{live.url}/v1/mdts/{DEFAULT.mdt_id}/scene-reports",
        data=BODY,
        headers={**auth_headers(), "content-type": "application/json"},
        timeout=10,
    )
    assert (answer.status_code, answer.json()) == (
        400,
        {"ok": False, "error": "Invalid request body"},
    )
    assert "\\x04" in answer.headers[DETAIL_HEADER]


def test_detail_header_value_escapes_controls_and_keeps_tabs() -> None:
    assert detail_header_value("a\x04b\tc\nd\x7f\U0001d2a0é") == "a\\x04b\tc d\\x7f\\U0001d2a0é"
