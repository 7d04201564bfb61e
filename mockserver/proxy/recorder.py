"""``--record FILE``: a world file (the format ``serve --seed`` reads) from what the proxy saw.

- MDTs: every MDT id seen in a path or a link, with the info ``getMdtInfo`` answered and the
  owner a link or link request named;
- guild links: an MDT-scoped 2xx answer means the MDT is linked to the caller's guild, the
  guild MDT list names the guild's links, an approved link request adds one and an unlink
  removes it;
- records: the shifts, calls, scene reports, tickets and units the upstream answered (lists,
  creates, updates; a deleted unit is dropped), each checked as world records are, and as
  strict JSON (UTF-8, no lone surrogate, finite numbers): one that fails is left out and counted
  in :attr:`WorldRecorder.rejected`, and the rest is written.

Which records an operation answers is read from the spec: the record schema its success answer
refers to. The file's only partner key is the default world's ``test-key``, never the key seen.
It is written atomically (temporary file, fsync, rename), on shutdown and on snapshot.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mockserver.atomic_file import write_atomically
from mockserver.bodies import parse_json
from mockserver.schemas import SchemaCache
from mockserver.spec import Operation, Spec
from mockserver.world import RECORD_SCHEMAS, load_world

_KIND_OF_SCHEMA = {schema: kind for kind, schema in RECORD_SCHEMAS.items()}
_PREFIX = "#/components/schemas/"
#: What a success answer holds, by the schema it refers to, beyond records.
MDT_INFO, MDT_LINK, UNLINKED, DELETED_UNIT = (
    "MdtInfo",
    "MdtLink",
    "UnlinkResult",
    "DeleteUnitResult",
)
DECISION = "LinkRequestDecision"
_ANSWERS = (*_KIND_OF_SCHEMA, MDT_INFO, MDT_LINK, UNLINKED, DELETED_UNIT, DECISION)


class WorldRecorder:
    """Builds a world from exchanges; thread-safe."""

    def __init__(
        self,
        spec: Spec,
        path: Path,
        redact: Callable[[dict[str, Any]], dict[str, Any]] = lambda world: world,
    ) -> None:
        self.spec = spec
        self.path = path
        #: Applied to the world before it is written (the proxy's secrets out).
        self.redact = redact
        self._schemas = SchemaCache(spec)
        self._lock = threading.Lock()
        self._info: dict[str, dict[str, Any]] = {}
        self._owners: dict[str, str] = {}
        self._mdts: dict[str, None] = {}
        self._links: dict[tuple[str, str], None] = {}
        self._records: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
        #: Records left out because they break their schema.
        self.rejected = 0
        self._answers = {op_id: self._answer(op) for op_id, op in spec.operations.items()}

    @staticmethod
    def _answer(op: Operation) -> str | None:
        """The schema an operation's success answer holds (a record's, MDT info, links...)."""
        response = op.raw_responses.get(str(op.success_status), {})
        schema = (response.get("content", {}).get("application/json") or {}).get("schema")
        text = json.dumps(schema)
        return next((name for name in _ANSWERS if f'"{_PREFIX}{name}"' in text), None)

    def observe(
        self,
        op: Operation,
        path_params: Mapping[str, str],
        guild: str | None,
        status: int,
        payload: Any,
    ) -> None:
        """Learn from one exchange of ``op`` answered ``status`` with ``payload`` (parsed)."""
        if (
            not 200 <= status < 300
            or not isinstance(payload, dict)
            or payload.get("ok") is not True
        ):
            return
        data = payload.get("data")
        mdt_id = path_params.get("mdtId")
        answer = self._answers.get(op.operation_id)
        with self._lock:
            if mdt_id:
                self._mdts.setdefault(mdt_id)
                if guild and answer != UNLINKED:
                    self._links.setdefault((mdt_id, guild))
                elif guild:
                    self._links.pop((mdt_id, guild), None)
            if answer == MDT_INFO and isinstance(data, dict) and mdt_id:
                self._info[mdt_id] = dict(data)
            for item in data if isinstance(data, list) else [data]:
                if isinstance(item, dict):
                    linked = answer == MDT_LINK or (
                        answer == DECISION and item.get("status") == "approved"
                    )
                    self._learn_links(linked, item)
            if answer == DELETED_UNIT and mdt_id:
                units = self._records.get(mdt_id, {}).get(_KIND_OF_SCHEMA["ActiveUnit"], {})
                units.pop(path_params.get("unitId", ""), None)
                return
            kind = _KIND_OF_SCHEMA.get(answer or "")
            if kind is None or not mdt_id:
                return
            table = self._records.setdefault(mdt_id, {}).setdefault(kind, {})
            items = data if isinstance(data, list) else [data]
            for item in reversed(items):  # lists are newest first: keep the oldest first
                if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"]:
                    table.pop(item["id"], None)
                    table[item["id"]] = dict(item)

    def _learn_links(self, is_link: bool, item: Mapping[str, Any]) -> None:
        mdt = item.get("mdt_id")
        owner = item.get("owner_discord_id")
        if not isinstance(mdt, str) or not mdt:
            return
        if isinstance(owner, str) and owner:
            self._owners[mdt] = owner
        if is_link and isinstance(item.get("guild_id"), str):
            self._mdts.setdefault(mdt)
            self._links.setdefault((mdt, item["guild_id"]))

    def world(self) -> dict[str, Any]:
        """The world document (checked: ``load_world`` accepts it)."""
        with self._lock:
            mdts = []
            for mdt_id in self._mdts:
                info = {k: v for k, v in self._info.get(mdt_id, {}).items() if k != "id"}
                if info and not self._admissible("MdtInfo", {**info, "id": mdt_id}):
                    self.rejected += 1
                    info = {}
                entry: dict[str, Any] = {"id": mdt_id, "owner_discord_id": self._owners.get(mdt_id)}
                if info:
                    entry["info"] = info
                mdts.append(entry)
            links = [{"mdt_id": m, "guild_id": g} for m, g in self._links if m in self._mdts]
            records: dict[str, dict[str, list[dict[str, Any]]]] = {}
            for mdt_id, kinds in self._records.items():
                for kind, table in kinds.items():
                    kept = []
                    for record in table.values():
                        if self._admissible(RECORD_SCHEMAS[kind], record):
                            kept.append(record)
                        else:
                            self.rejected += 1
                    kept.sort(key=lambda r: str(r.get("updated_at") or ""))
                    if kept:
                        records.setdefault(mdt_id, {})[kind] = kept
        document = {
            "partner_keys": dict(load_world(None, self.spec).partner_keys),
            "mdts": mdts,
            "links": links,
            "records": records,
        }
        load_world(document, self.spec)  # the file must load as it will be read
        return document

    def _admissible(self, schema: str, instance: Any) -> bool:
        """Whether a world file may hold ``instance``: the one check of a recorded item."""
        try:
            parse_json(json.dumps(instance, ensure_ascii=False).encode("utf-8"))
        except (ValueError, RecursionError):  # NaN, a lone surrogate, too deep
            return False
        return self._schemas.component(schema).is_valid(instance)

    def write(self) -> Path:
        world = self.redact(self.world())
        write_atomically(self.path, json.dumps(world, indent=2, ensure_ascii=False) + "\n")
        return self.path
