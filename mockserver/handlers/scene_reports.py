"""Scene Reports: create and list incident summaries."""

from __future__ import annotations

from mockserver.handlers.records import list_and_create

list_and_create(
    "scene_reports", "listSceneReports", "createSceneReport", {"status": lambda call: "DRAFT"}
)
