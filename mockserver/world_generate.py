"""Generated worlds: MDTs, guild links and plausible ER:LC / Maple County records, from a seed.

``generate_world(GenerateOptions(seed=1, mdts=3))`` returns a world in the world file's shape
(``serve --seed`` reads it). The same options give the same world, byte for byte once dumped:
every choice comes from one ``random.Random(seed)`` and every timestamp from ``options.now``.
The words come from ``worlds/vocabulary.yaml``; the maps from the spec's ``MdtMap``.
"""

from __future__ import annotations

import json
import math
import random
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from mockserver.clock import format_ms, parse_iso
from mockserver.spec import YAML_LOADER, Spec
from mockserver.world import WorldError

DAY_MS = 24 * 3600 * 1000
#: The partner key of generated worlds: the default world's, so clients and fixtures work as is.
PARTNER_KEYS = {"test-key": "Test Partner"}
LINK_REQUEST_TTL_SECONDS = 900
#: Share of an MDT's records per collection (largest remainder, so they add up exactly).
COLLECTION_SHARES = {
    "calls": 0.30,
    "shifts": 0.25,
    "tickets": 0.20,
    "scene_reports": 0.15,
    "active_units": 0.10,
}
CALL_SOURCES = ("Emergency", "Non-emergency", "Officer-initiated")
MAX_GENERATED_MDTS = 10_000
MAX_RECORDS_PER_MDT = 100_000


@dataclass(frozen=True)
class GenerateOptions:
    """What to generate; the defaults make a small world a dashboard can show at once."""

    seed: int = 0
    mdts: int = 3
    #: Guilds the linked MDTs are spread over; None: half the MDTs, rounded up.
    guilds: int | None = None
    records_per_mdt: int = 50
    #: Maps to cycle through (each one of the spec's ``MdtMap``); empty: all of them.
    maps: tuple[str, ...] = ()
    #: The world's "now" (ISO-8601): records are spread over the ``days`` before it.
    #: None: today 00:00 UTC, so that a seed gives the same world all day.
    now: str | None = None
    days: int = 3
    #: Not an option: filled from the vocabulary file when empty (tests may pass their own).
    vocabulary: Mapping[str, Any] = field(default_factory=dict)


@cache
def load_vocabulary() -> Mapping[str, Any]:
    """The packaged vocabulary (``mockserver/worlds/vocabulary.yaml``)."""
    path = Path(__file__).resolve().parent / "worlds" / "vocabulary.yaml"
    words: Mapping[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)
    return words


def spec_maps(spec: Spec) -> tuple[str, ...]:
    """The map names the spec allows (``MdtMap``'s enum)."""
    return tuple(spec.components["schemas"]["MdtMap"]["enum"])


def start_of_today() -> str:
    """Today 00:00 UTC, as the mock formats times."""
    return format_ms(int(time.time() * 1000) // DAY_MS * DAY_MS)


def check_options(options: GenerateOptions, spec: Spec) -> None:
    """Raise ``WorldError`` naming the option that cannot give a valid world."""
    if not 1 <= options.mdts <= MAX_GENERATED_MDTS:
        raise WorldError(f"--mdts {options.mdts}: expected 1 to {MAX_GENERATED_MDTS}")
    if options.guilds is not None and not 1 <= options.guilds <= options.mdts:
        raise WorldError(f"--guilds {options.guilds}: expected 1 to --mdts ({options.mdts})")
    if not 0 <= options.records_per_mdt <= MAX_RECORDS_PER_MDT:
        raise WorldError(
            f"--records-per-mdt {options.records_per_mdt}: expected 0 to {MAX_RECORDS_PER_MDT}"
        )
    if not 1 <= options.days <= 365:
        raise WorldError(f"--days {options.days}: expected 1 to 365")
    allowed = spec_maps(spec)
    for name in options.maps:
        if name not in allowed:
            raise WorldError(f"--map {name!r}: expected one of {', '.join(allowed)}")
    try:
        now_ms = parse_iso(options.now or start_of_today())
    except (ValueError, OverflowError):
        raise WorldError(f"--now {options.now!r}: expected an ISO-8601 time") from None
    if now_ms - options.days * DAY_MS < 0:
        raise WorldError(f"--now {options.now!r}: the records would start before 1970")


def generate_world(options: GenerateOptions, spec: Spec) -> dict[str, Any]:
    """A world in the world file's shape; ``WorldError`` for options that cannot make one."""
    check_options(options, spec)
    return _Generator(options, spec).world()


def dump_world(world: Mapping[str, Any], path: Path | None) -> str:
    """The world as a world file's text: YAML for a ``.yaml``/``.yml`` path, JSON otherwise.

    JSON by default: a large world loads about ten times faster from JSON than from YAML.
    """
    if path is None or path.suffix.lower() not in {".yaml", ".yml"}:
        return json.dumps(world, ensure_ascii=False, indent=1) + "\n"
    dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    header = "# A generated northca-mock world (northca-mock world generate).\n"
    body = yaml.dump(world, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)
    return header + body


class _Generator:
    def __init__(self, options: GenerateOptions, spec: Spec) -> None:
        self.options = options
        self.rng = random.Random(options.seed)
        self.words = options.vocabulary or load_vocabulary()
        self.maps = options.maps or spec_maps(spec)
        self.now_ms = parse_iso(options.now or start_of_today())
        self.start_ms = self.now_ms - options.days * DAY_MS

    # -- ids -----------------------------------------------------------------------------------
    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def snowflake(self) -> str:
        return str(self.rng.randrange(10**17, 10**19))

    # -- the world -----------------------------------------------------------------------------
    def world(self) -> dict[str, Any]:
        count = self.options.mdts
        mdts = [self.mdt(index) for index in range(count)]
        guild_count = self.options.guilds or max(1, math.ceil(count / 2))
        guilds = [self.snowflake() for _ in range(guild_count)]
        # Some MDTs stay unlinked, for the link flow: a third of them, at least one of two or more.
        linked = count - (max(1, count // 3) if count >= 2 else 0)
        links = [
            {"mdt_id": mdts[index]["id"], "guild_id": guilds[index % guild_count]}
            for index in range(linked)
        ]
        records = {mdt["id"]: self.records(mdt) for mdt in mdts if self.options.records_per_mdt > 0}
        return {
            "partner_keys": dict(PARTNER_KEYS),
            "link_request_ttl_seconds": LINK_REQUEST_TTL_SECONDS,
            "mdts": [{key: mdt[key] for key in ("id", "owner_discord_id", "info")} for mdt in mdts],
            "links": links,
            "records": records,
        }

    def mdt(self, index: int) -> dict[str, Any]:
        agencies: Sequence[Sequence[str]] = self.words["agencies"]
        place, kind = agencies[index % len(agencies)]
        round_ = index // len(agencies)
        name = f"{place} {kind}" + (f" {round_ + 1}" if round_ else "")
        departments = self.rng.sample(self.words["departments"], self.rng.randint(2, 4))
        divisions = self.rng.sample(self.words["divisions"], self.rng.randint(0, 3))
        mdt_id = self.uuid()
        return {
            "id": mdt_id,
            "owner_discord_id": self.snowflake(),
            "info": {
                "name": name,
                "logo_url": None,
                "map": self.maps[index % len(self.maps)],
                "departments": departments,
                "divisions": divisions,
                "settings": {},
            },
            "roster": self.roster(departments),
        }

    def roster(self, departments: Sequence[str]) -> list[dict[str, str]]:
        phonetic: Sequence[str] = self.words["phonetic"]
        units = _shares(self.options.records_per_mdt, COLLECTION_SHARES)["active_units"]
        size = max(4, min(len(phonetic) * 99, units))
        callsigns = self.rng.sample(range(len(phonetic) * 99), size)
        badges = self.rng.sample(range(100, 10_000), size)
        return [
            {
                "name": f"{self.rng.choice(self.words['first_initials'])}."
                f" {self.rng.choice(self.words['surnames'])}",
                "badge": str(badge),
                "rank": self.rng.choice(self.words["ranks"]),
                "department": self.rng.choice(departments),
                "callsign": f"{phonetic[sign // 99]}-{sign % 99 + 1}",
                "discord_id": self.snowflake(),
            }
            for sign, badge in zip(callsigns, badges, strict=True)
        ]

    # -- records -------------------------------------------------------------------------------
    def records(self, mdt: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
        roster: list[dict[str, str]] = mdt["roster"]
        counts = _shares(self.options.records_per_mdt, COLLECTION_SHARES)
        # One unit per officer: past the callsigns there are, the rest are calls.
        spare = max(0, counts["active_units"] - len(roster))
        counts["active_units"] -= spare
        counts["calls"] += spare
        calls = [self.call(mdt["id"], roster, at) for at in self.times(counts["calls"])]
        made = {
            "calls": calls,
            "shifts": [self.shift(mdt["id"], roster, at) for at in self.times(counts["shifts"])],
            "tickets": [self.ticket(mdt["id"], roster, at) for at in self.times(counts["tickets"])],
            "scene_reports": [
                self.scene_report(mdt["id"], roster, calls, at)
                for at in self.times(counts["scene_reports"])
            ],
            "active_units": [
                self.unit(mdt["id"], officer, at)
                for officer, at in zip(
                    roster[: counts["active_units"]],
                    self.times(counts["active_units"]),
                    strict=True,
                )
            ],
        }
        # Listed as the API lists them: most recently updated first.
        return {
            kind: sorted(items, key=lambda r: (r["updated_at"], r["created_at"]), reverse=True)
            for kind, items in made.items()
            if items
        }

    def times(self, count: int) -> list[int]:
        """``count`` distinct creation times (epoch ms) in the window, oldest first."""
        window = self.now_ms - self.start_ms
        return sorted(self.start_ms + offset for offset in self.rng.sample(range(window), count))

    def later(self, created_ms: int, most_ms: int) -> int:
        """A time after ``created_ms``, at most ``most_ms`` later and before now."""
        return min(self.now_ms - 1, created_ms + self.rng.randrange(1, most_ms))

    def audit(self, mdt_id: str, created_ms: int, updated_ms: int) -> dict[str, Any]:
        return {
            "mdt_code": mdt_id,
            "created_at": format_ms(created_ms),
            "updated_at": format_ms(max(created_ms, updated_ms)),
        }

    def location(self) -> str:
        return location(self.rng, self.words)

    def call(self, mdt_id: str, roster: Sequence[Mapping[str, str]], at: int) -> dict[str, Any]:
        recent = self.now_ms - at < 2 * 3600 * 1000
        statuses: Sequence[str] = self.words["call_statuses"]
        status = self.rng.choice(statuses[:2] if recent else statuses[2:])
        creator = self.rng.choice(roster)
        assigned = self.rng.sample(list(roster), self.rng.randint(1, min(3, len(roster))))
        return {
            "id": self.uuid(),
            "classification": self.rng.choice(self.words["call_types"]),
            "description": self.rng.choice(self.words["descriptions"]),
            "location": self.location(),
            "status": status,
            "call_type": self.rng.choice(CALL_SOURCES),
            "priority": self.rng.choice(self.words["call_priorities"]),
            "units_assigned": [officer["callsign"] for officer in assigned],
            "created_by": creator["name"],
            "created_by_discord_id": creator["discord_id"],
            **self.audit(mdt_id, at, at if recent else self.later(at, 3 * 3600 * 1000)),
        }

    def shift(self, mdt_id: str, roster: Sequence[Mapping[str, str]], at: int) -> dict[str, Any]:
        officer = self.rng.choice(roster)
        ended_ms = at + self.rng.randrange(30 * 60 * 1000, 6 * 3600 * 1000)
        active = ended_ms >= self.now_ms
        return {
            "id": self.uuid(),
            "officer_name": officer["name"],
            "officer_badge": officer["badge"],
            "status": "active" if active else "ended",
            "start_time": format_ms(at),
            "end_time": None if active else format_ms(ended_ms),
            "duration_ms": None if active else ended_ms - at,
            "department": officer["department"],
            "created_by_discord_id": officer["discord_id"],
            **self.audit(mdt_id, at, at if active else ended_ms),
        }

    def ticket(self, mdt_id: str, roster: Sequence[Mapping[str, str]], at: int) -> dict[str, Any]:
        officer = self.rng.choice(roster)
        status = self.rng.choice(self.words["ticket_statuses"])
        return {
            "id": self.uuid(),
            "title": self.rng.choice(self.words["ticket_titles"]),
            "description": self.rng.choice(self.words["descriptions"]),
            "officer_name": officer["name"],
            "officer_badge": officer["badge"],
            "officer_callsign": officer["callsign"],
            "status": status,
            "priority": self.rng.choice(self.words["ticket_priorities"]),
            "created_by_discord_id": officer["discord_id"],
            **self.audit(mdt_id, at, at if status == "open" else self.later(at, DAY_MS)),
        }

    def scene_report(
        self,
        mdt_id: str,
        roster: Sequence[Mapping[str, str]],
        calls: Sequence[Mapping[str, Any]],
        at: int,
    ) -> dict[str, Any]:
        officer = self.rng.choice(roster)
        stamp = format_ms(at)
        return {
            "id": self.uuid(),
            "title": self.rng.choice(self.words["report_titles"]),
            "description": self.rng.choice(self.words["descriptions"]),
            "location": self.location(),
            "date": stamp[:10],
            "time": stamp[11:16],
            "officer_name": officer["name"],
            "officer_badge": officer["badge"],
            "status": self.rng.choice(self.words["report_statuses"]),
            "dispatch_call_id": self.rng.choice(calls)["id"] if calls else None,
            "created_by_discord_id": officer["discord_id"],
            **self.audit(mdt_id, at, self.later(at, 2 * 3600 * 1000)),
        }

    def unit(self, mdt_id: str, officer: Mapping[str, str], at: int) -> dict[str, Any]:
        updated = self.later(at, 8 * 3600 * 1000)
        return {
            "id": officer["callsign"],
            "officer_name": officer["name"],
            "officer_badge": officer["badge"],
            "department": officer["department"],
            "rank": officer["rank"],
            "status": self.rng.choice(self.words["unit_statuses"]),
            "last_seen": format_ms(updated),
            "created_by_discord_id": officer["discord_id"],
            **self.audit(mdt_id, at, updated),
        }


def location(rng: random.Random, words: Mapping[str, Any]) -> str:
    """A street address, a corner or a postal, as dispatchers write them."""
    streets: Sequence[str] = words["streets"]
    shape = rng.randrange(3)
    if shape == 0:
        return f"{rng.randint(1, 999)} {rng.choice(streets)}"
    if shape == 1:
        first, second = rng.sample(list(streets), 2)
        return f"{first} & {second}"
    return f"Postal {rng.randint(1000, 9999)}, {rng.choice(streets)}"


def _shares(total: int, shares: Mapping[str, float]) -> dict[str, int]:
    """``total`` split by ``shares``, largest remainder first, adding up to ``total``."""
    exact = {kind: total * share for kind, share in shares.items()}
    counts = {kind: math.floor(value) for kind, value in exact.items()}
    short = total - sum(counts.values())
    for kind in sorted(exact, key=lambda k: exact[k] - counts[k], reverse=True)[:short]:
        counts[kind] += 1
    return counts
