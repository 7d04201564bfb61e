"""``northca-mock world generate``: write a generated world file that ``serve --seed`` reads."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from mockserver.atomic_file import write_atomically
from mockserver.spec import load_spec
from mockserver.world import WorldError, load_world
from mockserver.world_generate import (
    GenerateOptions,
    dump_world,
    generate_world,
    start_of_today,
)


def add_parser(commands: Any) -> None:
    world = commands.add_parser("world", help="world files: generate one")
    actions = world.add_subparsers(dest="world_command", required=True)
    generate = actions.add_parser(
        "generate",
        help="write a world of several MDTs with plausible records (the same for a seed)",
        description="Generate a world file: MDTs (some linked to guilds, some not, for the "
        "link flow) with shifts, calls, scene reports, tickets and active units of plausible "
        "ER:LC / Maple County content, spread over the days before --now. The same options "
        "give byte-identical output. Every record is checked as `serve --seed` checks it.",
    )
    generate.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    generate.add_argument("--mdts", type=int, default=3, metavar="N", help="MDTs (default 3)")
    generate.add_argument(
        "--guilds",
        type=int,
        metavar="N",
        help="guilds the linked MDTs are spread over (default: half the MDTs, rounded up)",
    )
    generate.add_argument(
        "--records-per-mdt",
        type=int,
        default=50,
        metavar="N",
        help="records per MDT, over the five collections (default 50)",
    )
    generate.add_argument(
        "--map",
        action="append",
        default=[],
        dest="maps",
        metavar="MAP",
        help="an MDT map (repeatable, cycled through; default: every map of the spec)",
    )
    generate.add_argument(
        "--now",
        metavar="ISO",
        help="the records end here (default: today 00:00 UTC, so a seed gives the same file"
        " all day)",
    )
    generate.add_argument(
        "--days", type=int, default=3, metavar="N", help="days the records span (default 3)"
    )
    generate.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="write here (YAML for .yaml or .yml, JSON otherwise); default: standard output",
    )


def run(args: argparse.Namespace) -> int:
    """Generate, check and write the world; exit 2 with one line for bad options."""
    options = GenerateOptions(
        seed=args.seed,
        mdts=args.mdts,
        guilds=args.guilds,
        records_per_mdt=args.records_per_mdt,
        maps=tuple(args.maps),
        now=args.now or start_of_today(),
        days=args.days,
    )
    spec = load_spec()
    started = time.perf_counter()
    try:
        world = generate_world(options, spec)
        load_world(world, spec)  # the check `serve --seed` makes: never write a world it refuses
    except WorldError as exc:
        print(f"northca-mock world generate: {exc}", file=sys.stderr)
        return 2
    text = dump_world(world, args.output)
    if args.output is None:
        sys.stdout.write(text)
    else:
        try:
            write_atomically(args.output, text)
        except OSError as exc:
            print(f"northca-mock world generate: {args.output}: {exc.strerror}", file=sys.stderr)
            return 2
    records = sum(len(items) for kinds in world["records"].values() for items in kinds.values())
    first = world["links"][0] if world["links"] else None
    summary = (
        f"{len(world['mdts'])} MDTs ({len(world['links'])} linked), {records} records,"
        f" until {options.now}, in {time.perf_counter() - started:.2f} s"
    )
    if first is not None:
        summary += f"; first link: guild {first['guild_id']}, MDT {first['mdt_id']}"
    print(f"northca-mock world generate: {summary}", file=sys.stderr)
    return 0
