"""``make mutation``: cosmic-ray over a copy of the handlers and validation, judged by the checker.

The code is copied to ``<out>/work`` (cosmic-ray mutates files in place, so the checkout is never
touched), put first on ``PYTHONPATH``, and each mutant is judged by ``python -m mutation.kill``
(the checker in-process, workflows and state machines, fixed seed). Mutants that need no run
(:mod:`mutation.prefilter`) are skipped with their reason. The share killed and the survivors go
to ``<out>/summary.json`` and ``<out>/survivors.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from cosmic_ray.work_db import WorkDB, use_db

from mutation import prefilter, report

ROOT = Path(__file__).resolve().parent.parent
#: What is mutated (paths relative to the checkout).
MUTATED = ("mockserver/handlers", "mockserver/validation.py")
#: What the copy needs to run the checker.
COPIED = ("mockserver", "contracts", "mutation", "openapi.yaml")
CONFIG = """\
[cosmic-ray]
module-path = {modules}
timeout = {timeout}
excluded-modules = []
test-command = "{python} -m mutation.kill{served}"

[cosmic-ray.distributor]
name = "local"
"""


def prepare(work: Path, timeout: float, served: bool = False) -> Path:
    """A fresh copy of the code in ``work`` and its cosmic-ray config; the config's path."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, work / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, work / name)
    modules = "[" + ", ".join(f'"{m}"' for m in MUTATED) + "]"
    config = work / "cosmic-ray.toml"
    config.write_text(
        CONFIG.format(
            modules=modules,
            timeout=timeout,
            python=sys.executable,
            served=" --served" if served else "",
        ),
        encoding="utf-8",
    )
    return config


def cosmic_ray(work: Path, *args: str, budget: float | None = None) -> int:
    """Run ``cosmic-ray ARGS`` in ``work`` with the copy first on the path; its exit status.
    Past ``budget`` seconds it is interrupted (finished mutants keep their results)."""
    env = {**os.environ, "PYTHONPATH": str(work), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "cosmic_ray.cli", *args]
    with subprocess.Popen(command, cwd=work, env=env, start_new_session=True) as process:
        try:
            return process.wait(timeout=budget)
        except subprocess.TimeoutExpired:
            print(f"mutation: budget of {budget:.0f}s spent, stopping", file=sys.stderr)
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
            return process.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mutation.campaign", description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "mutation")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per mutant")
    parser.add_argument("--budget", type=float, default=None, help="seconds for all mutants")
    parser.add_argument("--resume", action="store_true", help="continue the last session")
    parser.add_argument(
        "--served", action="store_true", help="judge over a loopback socket, not in-process"
    )
    args = parser.parse_args(argv)
    work, session = args.out / "work", args.out / "session.sqlite"
    config = work / "cosmic-ray.toml"
    started = time.monotonic()
    if not (args.resume and session.exists()):
        config = prepare(work, args.timeout, args.served)
        session.unlink(missing_ok=True)
        if cosmic_ray(work, "init", str(config), str(session)) != 0:
            return 2
        with use_db(str(session), WorkDB.Mode.open) as db:
            for reason, count in prefilter.skip_needless(work, db).items():
                print(f"mutation: {count} skipped, {reason}", file=sys.stderr)
        if cosmic_ray(work, "baseline", str(config)) != 0:
            print("mutation: the checker fails the unmutated code; no campaign", file=sys.stderr)
            return 2
    cosmic_ray(work, "exec", str(config), str(session), budget=args.budget)
    summary = report.load(session)
    summary.seconds = round(time.monotonic() - started, 1)
    report.write(summary, args.out)
    print(f"mutation: {summary.line()} in {summary.seconds:.0f}s; see {args.out}/survivors.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
