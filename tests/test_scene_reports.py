"""Scene reports: the rules of createSceneReport alone (northca-api.md §4.5, §11).

The rules every record collection shares are in ``test_record_lists``.
"""

from __future__ import annotations

from tests.support import DEFAULT, create_record, list_records

REPORTS = f"/mdts/{DEFAULT.mdt_id}/scene-reports"


def test_date_and_time_are_plain_strings_stored_verbatim(client, headers):
    report = create_record(client, headers, REPORTS, {"date": "yesterday", "time": "around noon"})
    assert (report["date"], report["time"]) == ("yesterday", "around noon")


def test_dispatch_call_id_is_not_checked_against_calls(client, headers):
    assert list_records(client, headers, f"/mdts/{DEFAULT.mdt_id}/calls") == []
    report = create_record(client, headers, REPORTS, {"dispatch_call_id": "no-such-call"})
    assert report["dispatch_call_id"] == "no-such-call"
