"""One mutant's verdict: the checker, in-process, against ``create_app()``.

``python -m mutation.kill`` exits 0 when the checker finds nothing (the mutant survives), 1 when
it reports a violation or the run cannot even start (killed), with the rules that fired on
stderr. The ``mockserver`` it checks is whichever comes first on ``sys.path``: the campaign puts
the mutated copy there.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from contracts import (
    Auth,
    CheckOptions,
    HttpTarget,
    RunFinished,
    UsageError,
    WsgiTarget,
    run_check,
)
from contracts.target import TargetUnreachable

#: The default world's partner, guild, linked MDT and its owner (README "The default world").
AUTH = Auth(
    "test-key",
    "123456789012345678",
    "0c7f6a0c-2c4f-4f44-b16a-2b6b8d8fe2c2",
    actor="222222222222222222",
)
#: The default world's MDT linked to no guild, and its owner: the link flow's second MDT.
SECOND_MDT, SECOND_OWNER = "9b1d3f2e-5a47-4c8e-9f10-2d6c7b8a9e01", "333333333333333333"
#: The schemathesis stage costs tens of seconds a run: mutants are judged without it.
STAGES = ("workflows", "stateful")
SEED = 21
MAX_EXAMPLES = 3


def check(
    stages: Sequence[str] = STAGES,
    seed: int = SEED,
    max_examples: int = MAX_EXAMPLES,
    *,
    served: bool = False,
) -> RunFinished:
    """The checker's run against a new ``create_app()`` (default world, fixed ids): called
    in-process, or over a loopback socket when ``served``."""
    from mockserver import create_app

    options = CheckOptions(
        AUTH,
        seed=seed,
        max_examples=max_examples,
        state_machine_examples=max_examples,
        include_destructive=True,
        stages=tuple(stages),
        second_mdt=SECOND_MDT,
        second_owner=SECOND_OWNER,
        run_id="mutation",
    )
    app = WsgiTarget(create_app(id_seed=seed))
    if not served:
        return run_check(app, options)
    with app.served() as url:
        assert url is not None
        return run_check(HttpTarget(url), options)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mutation.kill", description=__doc__)
    parser.add_argument("--stage", action="append", choices=("schemathesis", *STAGES))
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--max-examples", type=int, default=MAX_EXAMPLES)
    parser.add_argument(
        "--served", action="store_true", help="over a loopback socket, not in-process"
    )
    args = parser.parse_args(argv)
    try:
        result = check(args.stage or STAGES, args.seed, args.max_examples, served=args.served)
    except (UsageError, TargetUnreachable) as exc:
        print(f"killed before the checks: {exc}", file=sys.stderr)
        return 1
    if result.ok:
        print(f"survived: no violation in {result.duration:.1f}s", file=sys.stderr)
        return 0
    names = sorted({failure.rule for failure in result.failures})
    print(f"killed by {', '.join(names)} in {result.duration:.1f}s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
