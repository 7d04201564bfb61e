"""The plain Flask baseline: the routes of the mix, written the way a hand-made Flask stub would be.

No spec, no schema validation, no auth or link checks, no journal: parse the JSON, keep the
records in memory, answer the same envelope. What the mock costs beyond this is the price of
being a faithful, validating, stateful mock.
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timezone
from typing import Any

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def create_plain_app() -> Flask:
    app = Flask("plain_baseline")
    lock = threading.Lock()
    shifts: dict[str, list[dict[str, Any]]] = {}
    units: dict[str, dict[str, dict[str, Any]]] = {}
    link_requests: dict[str, dict[str, Any]] = {}

    @app.get("/mdts/<mdt_id>/shifts")
    def list_shifts(mdt_id: str) -> ResponseReturnValue:
        limit = int(request.args.get("limit", 50))
        with lock:
            newest = shifts.get(mdt_id, [])[-limit:][::-1]
        return jsonify(ok=True, data=newest)

    @app.post("/mdts/<mdt_id>/shifts")
    def create_shift(mdt_id: str) -> ResponseReturnValue:
        body = request.get_json()
        now = _now()
        record = {
            "id": str(uuid.uuid4()),
            "mdt_code": mdt_id,
            **body,
            "created_by_discord_id": request.headers.get("x-discord-actor"),
            "created_at": now,
            "updated_at": now,
        }
        with lock:
            shifts.setdefault(mdt_id, []).append(record)
        return jsonify(ok=True, data=record), 201

    @app.put("/mdts/<mdt_id>/units/active")
    def upsert_units(mdt_id: str) -> ResponseReturnValue:
        body = request.get_json()
        if not isinstance(body.get("units"), list):
            return jsonify(ok=False, error="Expected { units: [...] }"), 400
        now = _now()
        stored = []
        with lock:
            table = units.setdefault(mdt_id, {})
            for unit in body["units"]:
                record = {**unit, "mdt_code": mdt_id, "last_seen": now, "updated_at": now}
                table[unit["id"]] = record
                stored.append(record)
        return jsonify(ok=True, data=stored)

    @app.post("/link-requests")
    def create_link_request() -> ResponseReturnValue:
        body = request.get_json()
        record = {
            "id": str(uuid.uuid4()),
            "mdt_id": body["mdt_id"],
            "guild_id": request.headers.get("x-discord-guild"),
            "status": "pending",
            "requester_discord_id": request.headers.get("x-discord-actor"),
            "created_at": _now(),
        }
        with lock:
            link_requests[record["id"]] = record
        return jsonify(ok=True, data=record), 201

    @app.post("/__mock/reset")
    def reset() -> ResponseReturnValue:
        with lock:
            shifts.clear()
            units.clear()
            link_requests.clear()
        return jsonify(ok=True, data=None)

    return app
