"""A saved namespace checked as strictly as a world: every problem names its key.

``check_dump`` runs on the JSON of one namespace of a state file once its world is loaded:
records against the spec's schemas; no dangling reference (link requests and links name the
world's partners and MDTs, a request the MDT's owner, a link the approved request that made it,
no link twice); timestamps parseable and within the clock's range, the clock offset a whole
number in range.
Nesting and non-finite numbers are refused when the file is parsed (``persistence``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mockserver.clock import MAX_CLOCK_MS, parse_iso
from mockserver.schemas import SchemaCache
from mockserver.spec import Spec
from mockserver.world import RECORD_SCHEMAS, World

DUMP_KEYS = {"world", "clock_offset_ms", "faults", "link_requests", "links", "mdts"}
LINK_KEYS = {"partner", "mdt_id", "guild_id", "owner_discord_id", "link_request_id", "linked_at"}
LINK_REQUEST_TIMES = ("created_at", "expires_at", "decided_at")


class DumpError(ValueError):
    """What is wrong with a saved namespace, and where (``links[2].mdt_id: ...``)."""


def check_dump(dump: Mapping[str, Any], world: World, spec: Spec, now_ms: int) -> None:
    """Raise :class:`DumpError` for the first problem of ``dump`` (see the module)."""
    _DumpChecker(world, spec).check(dump, now_ms)


class _DumpChecker:
    def __init__(self, world: World, spec: Spec) -> None:
        self._world = world
        self._spec = spec
        self._schemas = SchemaCache(spec)

    def check(self, dump: Mapping[str, Any], now_ms: int) -> None:
        unknown = sorted(str(key) for key in dump if key not in DUMP_KEYS)
        if unknown:
            raise DumpError(f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(DUMP_KEYS))})")
        offset = dump.get("clock_offset_ms", 0)
        if isinstance(offset, bool) or not isinstance(offset, int):
            raise DumpError(f"clock_offset_ms: expected a whole number, got {offset!r}")
        if not 0 <= now_ms + offset <= MAX_CLOCK_MS:
            raise DumpError("clock_offset_ms: puts the clock outside 1970-9999")
        requests = self._link_requests(dump.get("link_requests", []))
        self._links(dump.get("links", []), requests)
        self._mdts(dump.get("mdts", {}))

    def _link_requests(self, value: Any) -> dict[str, Mapping[str, Any]]:
        """Each request checked, and every one it refers to (partner, MDT, owner) known."""
        items = _list(value, "link_requests")
        seen: dict[str, Mapping[str, Any]] = {}
        for index, item in enumerate(items):
            where = f"link_requests[{index}]"
            self._schema("LinkRequest", item, where)
            request_id = _string(item.get("id"), f"{where}.id")
            if request_id in seen:
                raise DumpError(f"{where}.id: duplicate id {request_id!r}")
            seen[request_id] = item
            self._partner(item.get("partner"), f"{where}.partner")
            mdt_id = self._mdt(item.get("mdt_id"), f"{where}.mdt_id")
            owner = self._world.mdts[mdt_id].owner_discord_id
            if item.get("owner_discord_id") != owner:
                raise DumpError(
                    f"{where}.owner_discord_id: {item.get('owner_discord_id')!r} is not the"
                    f" owner of MDT {mdt_id!r} ({owner!r})"
                )
            _string(item.get("guild_id"), f"{where}.guild_id")
            for stamp in LINK_REQUEST_TIMES:
                if item.get(stamp) is not None:
                    _time(item[stamp], f"{where}.{stamp}")
        return seen

    def _links(self, value: Any, requests: Mapping[str, Mapping[str, Any]]) -> None:
        """Each link checked: its partner, MDT and approving request known, none twice."""
        made: set[tuple[Any, Any, Any]] = set()
        for index, item in enumerate(_list(value, "links")):
            where = f"links[{index}]"
            if not isinstance(item, Mapping):
                raise DumpError(f"{where}: expected a mapping")
            unknown = sorted(str(key) for key in item if key not in LINK_KEYS)
            if unknown:
                raise DumpError(f"{where}: unknown key {unknown[0]!r}")
            partner = self._partner(item.get("partner"), f"{where}.partner")
            mdt_id = self._mdt(item.get("mdt_id"), f"{where}.mdt_id")
            guild_id = _string(item.get("guild_id"), f"{where}.guild_id")
            if (partner, guild_id, mdt_id) in made:
                raise DumpError(
                    f"{where}: MDT {mdt_id!r} is linked to guild {guild_id!r} for partner"
                    f" {partner!r} twice"
                )
            made.add((partner, guild_id, mdt_id))
            for optional in ("owner_discord_id", "link_request_id"):
                if item.get(optional) is not None:
                    _string(item[optional], f"{where}.{optional}")
            request_id = item.get("link_request_id")
            if request_id is not None:
                request = requests.get(request_id)
                if request is None or (
                    request.get("partner"),
                    request.get("guild_id"),
                    request.get("mdt_id"),
                    request.get("status"),
                ) != (partner, guild_id, mdt_id, "approved"):
                    raise DumpError(
                        f"{where}.link_request_id: no approved link request {request_id!r} of"
                        " this partner, guild and MDT"
                    )
            _time(item.get("linked_at"), f"{where}.linked_at")

    def _mdts(self, value: Any) -> None:
        if not isinstance(value, Mapping):
            raise DumpError("mdts: expected a mapping of MDT id -> collections")
        allowed = {*RECORD_SCHEMAS, "events"}
        for mdt_id, collections in value.items():
            where = f"mdts.{mdt_id}"
            self._mdt(mdt_id, where)
            if not isinstance(collections, Mapping):
                raise DumpError(f"{where}: expected a mapping of {', '.join(sorted(allowed))}")
            unknown = sorted(str(key) for key in collections if key not in allowed)
            if unknown:
                raise DumpError(f"{where}: unknown key {unknown[0]!r}")
            for kind, schema in RECORD_SCHEMAS.items():
                self._records(collections.get(kind, []), schema, f"{where}.{kind}")
            for index, event in enumerate(_list(collections.get("events", []), f"{where}.events")):
                if not isinstance(event, Mapping):
                    raise DumpError(f"{where}.events[{index}]: expected a mapping")
                if "ts" in event:
                    _time(event["ts"], f"{where}.events[{index}].ts")

    def _records(self, value: Any, schema: str, where: str) -> None:
        times = self._time_fields(schema)
        seen: set[str] = set()
        for index, record in enumerate(_list(value, where)):
            at = f"{where}[{index}]"
            self._schema(schema, record, at)
            record_id = _string(record.get("id"), f"{at}.id")
            if record_id in seen:
                raise DumpError(f"{at}.id: duplicate id {record_id!r}")
            seen.add(record_id)
            for name in times:
                if isinstance(record.get(name), str):
                    _time(record[name], f"{at}.{name}")

    def _time_fields(self, schema: str) -> tuple[str, ...]:
        properties = self._spec.components["schemas"][schema].get("properties", {})
        return tuple(name for name, node in properties.items() if node.get("format") == "date-time")

    def _mdt(self, mdt_id: Any, where: str) -> str:
        if not isinstance(mdt_id, str) or mdt_id not in self._world.mdts:
            raise DumpError(f"{where}: unknown MDT {mdt_id!r}")
        return mdt_id

    def _partner(self, partner: Any, where: str) -> str:
        if not isinstance(partner, str) or partner not in self._world.partners:
            raise DumpError(f"{where}: unknown partner {partner!r}")
        return partner

    def _schema(self, schema: str, instance: Any, where: str) -> None:
        if not isinstance(instance, Mapping):
            raise DumpError(f"{where}: expected a mapping")
        problem = self._schemas.component(schema).first_problem(instance, where)
        if problem:
            raise DumpError(problem)


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise DumpError(f"{where}: expected a list")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise DumpError(f"{where}: expected a non-empty string, got {value!r}")
    return value


def _time(value: Any, where: str) -> int:
    if not isinstance(value, str):
        raise DumpError(f"{where}: expected an ISO-8601 time, got {value!r}")
    try:
        epoch_ms = parse_iso(value)
    except (ValueError, OverflowError):
        raise DumpError(f"{where}: expected an ISO-8601 time, got {value!r}") from None
    if not 0 <= epoch_ms <= MAX_CLOCK_MS:
        raise DumpError(f"{where}: {value!r} is outside 1970-9999")
    return epoch_ms
