"""``northca-contracts check``: a thin adapter from flags to :func:`contracts.runner.run_check`.

Exit status: 0 the target conforms, 1 at least one violation, 2 bad usage or unreachable target.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from contracts.base_path import locate
from contracts.redact import Redactor
from contracts.runner import STAGES, CheckOptions, Reporter, UsageError, run_check
from contracts.spec import ContractSpec
from contracts.target import Auth, HttpTarget, TargetUnreachable
from contracts.transport import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT, broken_bound
from contracts.workflows import WORKFLOWS


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"northca-contracts: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="northca-contracts",
        description="Check a Northca Partner API implementation against openapi.yaml.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    check = commands.add_parser("check", help="run the conformance checks against a URL")
    check.add_argument(
        "--url", required=True, help="base URL of the API, e.g. http://127.0.0.1:4010"
    )
    check.add_argument(
        "--base-path",
        metavar="PATH",
        help="where the API is under --url, e.g. /v1 or / (default: the preflight tries the"
        " spec's base path /v1, then the root, and says which answered)",
    )
    check.add_argument("--partner-key", required=True, help="x-partner-key")
    check.add_argument("--guild", required=True, help="x-discord-guild the MDT is linked to")
    check.add_argument("--mdt", required=True, metavar="MDT_ID", help="an MDT linked to the guild")
    check.add_argument("--actor", help="x-discord-actor for ordinary requests")
    check.add_argument("--owner", help="the MDT owner's Discord id (default: from the server)")
    check.add_argument(
        "--second-mdt",
        metavar="MDT_ID",
        help="an MDT the target knows that is not linked to the guild: with"
        " --include-destructive the checker links it (its owner confirms), checks that records"
        " never cross between the two MDTs, runs the link-request state machine, and unlinks it"
        " again (default on northca-mock: one of its world)",
    )
    check.add_argument(
        "--second-owner",
        metavar="ACTOR",
        help="the Discord id of --second-mdt's owner (default: the owner_discord_id the target"
        " reports on a link request)",
    )
    check.add_argument(
        "--other-guild",
        metavar="GUILD_ID",
        help="a guild that must see none of --guild's MDTs, link requests or records"
        " (default: a generated Discord id with no links)",
    )
    check.add_argument("--seed", type=int, help="seed for data generation (default: random)")
    check.add_argument(
        "--max-examples",
        type=int,
        default=25,
        help="schemathesis examples per operation (default 25)",
    )
    check.add_argument(
        "--include-destructive",
        action="store_true",
        help="also confirm/deny link requests and unlink (then re-link) the MDT",
    )
    check.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML here")
    check.add_argument(
        "--report-dir", type=Path, metavar="DIR", help="write coverage.md/.json and junit.xml"
    )
    check.add_argument(
        "--stage", action="append", choices=STAGES, help="run only these stages (repeatable)"
    )
    check.add_argument(
        "--workflow", action="append", choices=sorted(WORKFLOWS), help="run only these workflows"
    )
    check.add_argument("--run-id", help="tag of the records the run creates (default: random)")
    check.add_argument(
        "--no-clock-control",
        action="store_true",
        help="do not use the mock's /__mock/clock even if the target has one",
    )
    check.add_argument(
        "--request-timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help="seconds for each whole answer, trickled or not (default %(default)g); beyond it"
        " the run stops with a transport.timeout violation (exit 2)",
    )
    check.add_argument(
        "--max-answer-bytes",
        type=int,
        default=DEFAULT_MAX_BYTES,
        metavar="N",
        help="bytes read of each answer (default %(default)d); beyond it the run stops with a"
        " transport.too-large violation (exit 2)",
    )
    check.add_argument("--spec", help="OpenAPI file (default: the packaged openapi.yaml)")
    check.add_argument(
        "-v", "--verbose", action="store_true", help="list every schemathesis scenario"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from contracts.reporters import ConsoleReporter, FileReporter

    args = build_parser().parse_args(argv)
    if args.max_examples < 1:
        print("northca-contracts: --max-examples must be at least 1", file=sys.stderr)
        return 2
    if args.request_timeout <= 0 or args.max_answer_bytes < 1:
        print(
            "northca-contracts: --request-timeout and --max-answer-bytes must be positive",
            file=sys.stderr,
        )
        return 2
    if not args.url.startswith(("http://", "https://")):
        print(f"northca-contracts: --url must be http(s)://..., got {args.url!r}", file=sys.stderr)
        return 2
    auth = Auth(args.partner_key, args.guild, args.mdt, args.actor, args.owner)
    options = CheckOptions(
        auth,
        seed=args.seed,
        max_examples=args.max_examples,
        include_destructive=args.include_destructive,
        stages=tuple(args.stage or STAGES),
        workflows=args.workflow,
        run_id=args.run_id,
        clock_control=False if args.no_clock_control else None,
        spec_path=args.spec,
        second_mdt=args.second_mdt,
        second_owner=args.second_owner,
        other_guild=args.other_guild,
        request_timeout=args.request_timeout,
        max_answer_bytes=args.max_answer_bytes,
    )
    try:

        def make_target(url: str) -> HttpTarget:
            return HttpTarget(url, timeout=args.request_timeout, max_bytes=args.max_answer_bytes)

        target, where = locate(args.url, ContractSpec(args.spec), auth, args.base_path, make_target)
        print(f"northca-contracts: {where}", flush=True)
        reporters: list[Reporter] = [
            ConsoleReporter(verbose=args.verbose),
            FileReporter(args.junit, args.report_dir),
        ]
        result = run_check(target, options, reporters)
    except TargetUnreachable as exc:
        reason = Redactor(args.partner_key).text(" ".join(str(exc).split()))
        what = "answer out of bounds" if broken_bound(exc) is not None else "target unreachable"
        print(f"northca-contracts: {what}: {reason}", file=sys.stderr)
        return 2
    except (UsageError, OSError) as exc:
        print(f"northca-contracts: {Redactor(args.partner_key).text(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("northca-contracts: interrupted", file=sys.stderr)
        return 2
    return 0 if result.ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
