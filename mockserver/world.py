"""The world a mock starts from: partner keys, MDTs, guild links and optional records.

A world is read from YAML, JSON or a dict and validated at load; every error names the key path
and the record it is about (``mdts[1].id: expected a non-empty string``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from mockserver.clock import format_ms, parse_iso
from mockserver.errors import NorthcaMockError
from mockserver.faults import FaultPlan, FaultPlanError
from mockserver.gate import UnstorableError, check_storable
from mockserver.limits import Limits
from mockserver.schemas import SchemaCache
from mockserver.spec import YAML_LOADER, Spec, load_spec
from mockserver.store import RecordTable

#: Record collections a world (and the state) holds per MDT, with the spec schema of each.
RECORD_SCHEMAS: Mapping[str, str] = {
    "shifts": "Shift",
    "calls": "DispatchCall",
    "scene_reports": "SceneReport",
    "tickets": "Ticket",
    "active_units": "ActiveUnit",
}
#: Record fields that list operations filter on, indexed so a filter reads only what it returns.
FILTERED_FIELDS: Mapping[str, tuple[str, ...]] = {"shifts": ("department",)}
LinkKey = tuple[str, str, str]  # (partner, guild_id, mdt_id)
MAX_LINK_REQUEST_TTL_SECONDS = 100 * 365 * 24 * 3600
_TOP_LEVEL_KEYS = {
    "partner_keys",
    "link_request_ttl_seconds",
    "mdts",
    "links",
    "records",
    "faults",
}
_MDT_KEYS = {"id", "owner_discord_id", "info"}
_LINK_KEYS = {"mdt_id", "guild_id", "partner"}


class WorldError(NorthcaMockError, ValueError):
    """A world file or dict that cannot be used; the message names the key and the record."""


def default_world_path() -> Path:
    """The packaged default world (``mockserver/worlds/default.yaml``)."""
    return Path(__file__).resolve().parent / "worlds" / "default.yaml"


@dataclass(frozen=True)
class Mdt:
    id: str
    owner_discord_id: str | None
    info: Mapping[str, Any]


@dataclass(frozen=True)
class WorldLink:
    mdt_id: str
    guild_id: str
    partner: str | None  # None: linked for every partner of the world


@dataclass(frozen=True)
class World:
    partner_keys: Mapping[str, str]
    link_request_ttl_seconds: float
    mdts: Mapping[str, Mdt]
    links: tuple[WorldLink, ...]
    #: Records per MDT and collection, completed to every schema field at load, each kept as
    #: its JSON in a table in file order. States start from copies: never write to these.
    records: Mapping[str, Mapping[str, RecordTable]] = field(default_factory=dict)
    faults: FaultPlan = field(default_factory=FaultPlan)
    #: The validated source, its records left out when :attr:`records` holds them.
    source_without_records: Mapping[str, Any] = field(default_factory=dict)

    @property
    def partners(self) -> frozenset[str]:
        return frozenset(self.partner_keys.values())

    @cached_property
    def link_records(self) -> Mapping[LinkKey, Mapping[str, Any]]:
        """The link records the world makes (one per partner for a link without ``partner``),
        in its order, without their time (a state adds it): built once, shared by every
        namespace, never changed."""
        links: dict[LinkKey, Mapping[str, Any]] = {}
        for link in self.links:
            owner = self.mdts[link.mdt_id].owner_discord_id
            for partner in [link.partner] if link.partner else sorted(self.partners):
                links[(partner, link.guild_id, link.mdt_id)] = {
                    "mdt_id": link.mdt_id,
                    "guild_id": link.guild_id,
                    "owner_discord_id": owner,
                    "link_request_id": None,
                    "linked_at": None,
                    "_order": (0, len(links)),
                }
        return links

    @property
    def source(self) -> dict[str, Any]:
        """The validated source with its records completed, to write it back (state files)."""
        if not self.records:
            return dict(self.source_without_records)
        records = {
            mdt_id: {kind: table.in_write_order() for kind, table in kinds.items()}
            for mdt_id, kinds in self.records.items()
        }
        return {**self.source_without_records, "records": records}


def read_world_file(path: str | Path) -> Any:
    """Parse a world file (JSON or YAML; YAML is a superset of JSON)."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise WorldError(f"cannot read world file {source}: {exc.strerror}") from exc
    try:
        if source.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.load(text, Loader=YAML_LOADER)
    except (ValueError, yaml.YAMLError) as exc:
        raise WorldError(f"{source}: not valid JSON or YAML: {exc}") from exc


def load_world(
    source: str | Path | Mapping[str, Any] | None = None,
    spec: Spec | None = None,
    limits: Limits | None = None,
) -> World:
    """Load and validate a world; ``None`` loads the packaged default world.

    ``limits`` caps its MDTs and the link records it makes (``WorldError`` beyond).
    """
    if isinstance(source, Mapping):
        return _WorldParser(spec or load_spec(), limits or Limits()).parse(source)
    raw = read_world_file(default_world_path() if source is None else source)
    # Parsed here, so its records may be let go one by one as they are stored: the file's
    # objects and the stored JSON are then never all in memory at once.
    return _WorldParser(spec or load_spec(), limits or Limits(), consume=True).parse(raw)


class _WorldParser:
    def __init__(self, spec: Spec, limits: Limits, *, consume: bool = False) -> None:
        self._spec = spec
        self._limits = limits
        self._consume = consume  # the raw world is ours: empty its record lists as we go
        self._schemas = SchemaCache(spec)
        self._loaded_ms = int(time.time() * 1000)
        self._loaded_at = format_ms(self._loaded_ms)

    def parse(self, raw: Any) -> World:
        if not isinstance(raw, dict):
            raise WorldError("world: expected a mapping with partner_keys, mdts, links, records")
        try:  # what is accepted can be written to a state file and read back
            check_storable(raw)
        except UnstorableError as exc:
            raise WorldError(str(exc)) from None
        _no_unknown_keys(raw, _TOP_LEVEL_KEYS, "world")
        partner_keys = self._partner_keys(raw.get("partner_keys"))
        ttl = raw.get("link_request_ttl_seconds", 900)
        if (
            isinstance(ttl, bool)
            or not isinstance(ttl, (int, float))
            or not 0 < ttl <= MAX_LINK_REQUEST_TTL_SECONDS
        ):
            raise WorldError(
                "link_request_ttl_seconds: expected a number of seconds above 0 and at most"
                f" {MAX_LINK_REQUEST_TTL_SECONDS} (100 years), got {ttl!r}"
            )
        mdts = self._mdts(raw.get("mdts", []))
        partners = frozenset(partner_keys.values())
        links = self._links(raw.get("links", []), mdts, partners)
        made = sum(1 if link.partner else len(partners) for link in links)
        if made > self._limits.max_world_links:
            raise WorldError(
                f"links: {made} link records ({len(links)} links, a link without partner"
                f" counting once per partner), more than the limit of"
                f" {self._limits.max_world_links} (serve --max-world-links)"
            )
        records = self._records(raw.get("records") or {}, mdts)
        try:
            faults = FaultPlan.parse(raw.get("faults"), self._spec.operations)
        except FaultPlanError as exc:
            raise WorldError(str(exc)) from None
        # The source's records are the completed ones, read back from the tables when needed.
        source = {key: value for key, value in raw.items() if key != "records" or not records}
        return World(partner_keys, float(ttl), mdts, links, records, faults, source)

    @staticmethod
    def _partner_keys(value: Any) -> dict[str, str]:
        if not isinstance(value, Mapping) or not value:
            raise WorldError("partner_keys: expected a non-empty mapping of key -> partner name")
        for key, name in value.items():
            if not isinstance(key, str) or not key:
                raise WorldError(f"partner_keys[{key!r}]: a key must be a non-empty string")
            if not isinstance(name, str) or not name:
                raise WorldError(
                    f"partner_keys[{key!r}]: the partner name must be a non-empty string"
                )
        return dict(value)

    def _mdts(self, value: Any) -> dict[str, Mdt]:
        if not isinstance(value, list):
            raise WorldError("mdts: expected a list")
        if len(value) > self._limits.max_mdts:
            raise WorldError(
                f"mdts: {len(value)} MDTs, more than the limit of {self._limits.max_mdts}"
                " (serve --max-mdts)"
            )
        mdts: dict[str, Mdt] = {}
        for where, item in _entries(value, "mdts", _MDT_KEYS, "id, owner_discord_id, info"):
            mdt_id = _non_empty_string(item.get("id"), f"{where}.id")
            if mdt_id in mdts:
                raise WorldError(f"{where}.id: duplicate MDT id {mdt_id!r}")
            owner = item.get("owner_discord_id")
            if owner is not None:
                owner = _non_empty_string(owner, f"{where}.owner_discord_id")
            info = {**self._info_defaults(), "id": mdt_id, **(item.get("info") or {})}
            self._check_schema("MdtInfo", info, f"{where}.info")
            mdts[mdt_id] = Mdt(mdt_id, owner, info)
        return mdts

    @staticmethod
    def _links(
        value: Any, mdts: Mapping[str, Mdt], partners: frozenset[str]
    ) -> tuple[WorldLink, ...]:
        if not isinstance(value, list):
            raise WorldError("links: expected a list")
        links = []
        for where, item in _entries(value, "links", _LINK_KEYS, "mdt_id and guild_id"):
            mdt_id = _non_empty_string(item.get("mdt_id"), f"{where}.mdt_id")
            if mdt_id not in mdts:
                raise WorldError(f"{where}.mdt_id: unknown MDT {mdt_id!r}")
            guild_id = _non_empty_string(item.get("guild_id"), f"{where}.guild_id")
            partner = item.get("partner")
            if partner is not None and partner not in partners:
                raise WorldError(f"{where}.partner: unknown partner {partner!r}")
            links.append(WorldLink(mdt_id, guild_id, partner))
        return tuple(links)

    def _records(self, value: Any, mdts: Mapping[str, Mdt]) -> dict[str, dict[str, RecordTable]]:
        if not isinstance(value, Mapping):
            raise WorldError("records: expected a mapping of MDT id -> collections")
        records: dict[str, dict[str, RecordTable]] = {}
        for mdt_id, collections in value.items():
            where = f"records.{mdt_id}"
            if mdt_id not in mdts:
                raise WorldError(f"{where}: unknown MDT {mdt_id!r}")
            if not isinstance(collections, Mapping):
                raise WorldError(f"{where}: expected a mapping of {', '.join(RECORD_SCHEMAS)}")
            _no_unknown_keys(collections, set(RECORD_SCHEMAS), where)
            records[mdt_id] = {}
            for kind, items in collections.items():
                if not isinstance(items, list):
                    raise WorldError(f"{where}.{kind}: expected a list")
                fields = self._spec.schema_fields(RECORD_SCHEMAS[kind])
                table = records[mdt_id][kind] = RecordTable(FILTERED_FIELDS.get(kind, ()))
                for index, item in enumerate(items):
                    at = f"{where}.{kind}[{index}]"
                    if not isinstance(item, Mapping):
                        raise WorldError(f"{at}: expected a mapping")
                    record_id = _non_empty_string(item.get("id"), f"{at}.id")
                    if record_id in table:
                        raise WorldError(f"{at}.id: duplicate id {record_id!r}")
                    record, updated_ms = _complete(
                        item, fields, kind, mdt_id, self._loaded_ms, self._loaded_at
                    )
                    # Checked as the mock will send it: every field present, unsent ones null.
                    self._check_schema(RECORD_SCHEMAS[kind], record, at)
                    table.put(record, updated_ms)
                    if self._consume:
                        items[index] = None
        return records

    def _info_defaults(self) -> dict[str, Any]:
        """``MdtInfo`` fields a world leaves out, as the mock sends them: ``[]`` for a list,
        ``{}`` for an object, else null (the schema requires every field)."""
        properties = self._spec.components["schemas"]["MdtInfo"].get("properties", {})
        empty: dict[str, Any] = {"array": [], "object": {}}
        return {name: empty.get(str(node.get("type"))) for name, node in properties.items()}

    def _check_schema(self, schema: str, instance: Any, where: str) -> None:
        problem = self._schemas.component(schema).first_problem(instance, where)
        if problem:
            raise WorldError(problem)


def _complete(
    item: Mapping[str, Any],
    fields: tuple[str, ...],
    kind: str,
    mdt_id: str,
    loaded_ms: int,
    loaded_at: str,
) -> tuple[dict[str, Any], int]:
    """Every schema field present (null when not given), ``mdt_code`` and timestamps filled."""
    record: dict[str, Any] = dict.fromkeys(fields)
    record.update(item)
    if record.get("mdt_code") is None:
        record["mdt_code"] = mdt_id
    for stamp in ("created_at", "updated_at"):
        if record.get(stamp) is None:
            record[stamp] = loaded_at
    if kind == "active_units" and record.get("last_seen") is None:
        record["last_seen"] = record["updated_at"]
    try:
        updated_ms = parse_iso(record["updated_at"])
    except (ValueError, OverflowError):
        updated_ms = loaded_ms
    return record, updated_ms


def _non_empty_string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise WorldError(f"{where}: expected a non-empty string, got {value!r}")
    return value


def _entries(
    items: list[Any], name: str, keys: set[str], expected: str
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Each item of the list ``name`` with its place, checked to be a mapping of ``keys``."""
    for index, item in enumerate(items):
        where = f"{name}[{index}]"
        if not isinstance(item, Mapping):
            raise WorldError(f"{where}: expected a mapping with {expected}")
        _no_unknown_keys(item, keys, where)
        yield where, item


def _no_unknown_keys(item: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(str(key) for key in item if key not in allowed)
    if unknown:
        raise WorldError(
            f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})"
        )
