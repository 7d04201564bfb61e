"""Generated worlds: ``world generate`` time and ``serve --seed`` load time, for a size.

``python -m bench.worlds [--mdts 10] [--records-per-mdt 1000] [--runs 3]`` prints the median
of each, in seconds, measured as a user sees them: the whole command (``northca-mock world
generate -o FILE``, a new process), then a new ``northca-mock serve --seed FILE`` until it prints
its URL, and the world load alone (``load_world`` in this process).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mockserver.spec import load_spec
from mockserver.world import load_world


def _timed(command: list[str], until: str | None = None) -> float:
    started = time.perf_counter()
    if until is None:
        subprocess.run(command, check=True, capture_output=True, timeout=600)
        return time.perf_counter() - started
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    try:
        for line in process.stdout:
            if until in line:
                return time.perf_counter() - started
        raise RuntimeError(f"{command[0]} ended before printing {until!r}")
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mdts", type=int, default=10)
    parser.add_argument("--records-per-mdt", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cli = [sys.executable, "-m", "mockserver"]
    spec = load_spec()
    results: dict[str, list[float]] = {"generate": [], "serve": [], "load": []}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "world.json"
        size = ["--mdts", str(args.mdts), "--records-per-mdt", str(args.records_per_mdt)]
        for run in range(args.runs):
            generate = [*cli, "world", "generate", "--seed", str(run), *size, "-o", str(path)]
            results["generate"].append(_timed(generate))
            serve = [*cli, "serve", "--port", "0", "--seed", str(path)]
            results["serve"].append(_timed(serve, until="northca-mock serving"))
            started = time.perf_counter()
            load_world(path, spec)
            results["load"].append(time.perf_counter() - started)
        megabytes = path.stat().st_size / 1e6
    medians = {name: round(statistics.median(times), 2) for name, times in results.items()}
    print(json.dumps({"mdts": args.mdts, "records_per_mdt": args.records_per_mdt,
                      "file_mb": round(megabytes, 1), "seconds": medians}))  # fmt: skip


if __name__ == "__main__":
    main()
