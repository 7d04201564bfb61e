"""Scene Reports: create and list incident summaries."""

from __future__ import annotations

from typing import Any

from mockserver.handlers.records import create_record, list_records
from mockserver.handlers.registry import Call, handles

KIND = "scene_reports"
DEFAULTS = {"status": lambda call: "DRAFT"}


@handles("listSceneReports")
def list_scene_reports(call: Call) -> Any:
    return list_records(call, KIND)


@handles("createSceneReport")
def create_scene_report(call: Call) -> Any:
    return create_record(call, KIND, DEFAULTS)
