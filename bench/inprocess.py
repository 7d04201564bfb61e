"""In-process costs: one request through the mock's WSGI app against the plain Flask baseline,
the list latency at 100 and 100,000 records, and a cProfile of the mock's request path.

    python -m bench.inprocess            # prints the tables
    python -m bench.inprocess --profile  # also writes bench/out/profile-<op>.txt
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from flask import Flask
from werkzeug.test import EnvironBuilder

from bench.baseline import create_plain_app
from bench.mix import MDT_ID, OPS, Op

OUT = Path(__file__).resolve().parent / "out"
WsgiEnviron = dict[str, Any]


def environ_for(op: Op, query: str | None = None) -> WsgiEnviron:
    builder = EnvironBuilder(
        path=op.path,
        method=op.method,
        query_string=op.query if query is None else query,
        headers=list(op.all_headers.items()),
        data=op.body_bytes if op.body is not None else None,
    )
    try:
        return builder.get_environ()
    finally:
        builder.close()


def wsgi_call(app: Flask, template: WsgiEnviron, body: bytes) -> int:
    """Call the app as a WSGI server would; returns the status code."""
    environ = dict(template)
    environ["wsgi.input"] = io.BytesIO(body)
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Callable[[bytes], Any]:
        statuses.append(status)
        return lambda data: None

    result: Iterable[bytes] = app(environ, start_response)
    for _ in result:
        pass
    close = getattr(result, "close", None)
    if close is not None:
        close()
    return int(statuses[0][:3])


def mock_app(world: Mapping[str, Any] | None = None) -> Flask:
    from mockserver import create_app

    return create_app(world=dict(world) if world is not None else None)


def reset(app: Flask) -> None:
    if "northca" in app.extensions:
        from mockserver.app import server_of

        server_of(app).state.reset()
    else:
        app.test_client().post("/__mock/reset")


def per_request_us(
    app: Flask, op: Op, *, calls: int, batches: int, client: bool = False, query: str | None = None
) -> float:
    """Microseconds per request: the fastest of ``batches`` batches of ``calls`` (the least
    disturbed by other load on the machine), state reset between batches."""
    template = environ_for(op, query)
    body = op.body_bytes
    test_client = app.test_client()
    target = op.path + (f"?{op.query if query is None else query}" if (query or op.query) else "")
    best = float("inf")
    for _ in range(batches):
        reset(app)
        start = time.perf_counter()
        if client:
            for _ in range(calls):
                response = test_client.open(
                    target, method=op.method, headers=op.all_headers, data=body or None
                )
                status = response.status_code
        else:
            for _ in range(calls):
                status = wsgi_call(app, template, body)
        elapsed = time.perf_counter() - start
        if status != op.expected_status:
            raise AssertionError(f"{op.name}: answered {status}, not {op.expected_status}")
        best = min(best, elapsed / calls)
    return best * 1e6


@dataclass
class CostRow:
    op: str
    mock_client_us: float
    plain_client_us: float
    mock_wsgi_us: float
    plain_wsgi_us: float

    @property
    def client_ratio(self) -> float:
        return self.mock_client_us / self.plain_client_us

    @property
    def wsgi_ratio(self) -> float:
        return self.mock_wsgi_us / self.plain_wsgi_us


def request_costs(calls: int = 500, batches: int = 5) -> list[CostRow]:
    mock, plain = mock_app(), create_plain_app()
    rows = []
    for op in OPS:
        costs = [
            per_request_us(app, op, calls=calls, batches=batches, client=client)
            for client in (True, False)
            for app in (mock, plain)
        ]
        rows.append(CostRow(op.name, *costs))
    return rows


def default_world() -> dict[str, Any]:
    from mockserver.world import default_world_path

    world: dict[str, Any] = yaml.safe_load(default_world_path().read_text())
    return world


def world_with_shifts(count: int) -> dict[str, Any]:
    """The default world plus ``count`` shifts in the linked MDT, all of department Patrol
    or Traffic, one millisecond apart."""
    world = default_world()
    shifts = []
    for n in range(count):
        ms = n % 1000
        seconds = n // 1000
        stamp = f"2026-01-01T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        shifts.append(
            {
                "id": f"shift-{n}",
                "officer_name": f"Officer {n}",
                "officer_badge": str(n),
                "department": "Patrol" if n % 2 else "Traffic",
                "status": "active",
                "start_time": f"{stamp}.{ms:03d}Z",
                "created_at": f"{stamp}.{ms:03d}Z",
                "updated_at": f"{stamp}.{ms:03d}Z",
            }
        )
    world["records"] = {MDT_ID: {"shifts": shifts}}
    return world


@dataclass
class ListRow:
    query: str
    small_us: float
    large_us: float

    @property
    def ratio(self) -> float:
        return self.large_us / self.small_us


LIST_QUERIES = (
    ("limit=20", "limit=20"),
    ("limit=100", "limit=100"),
    ("department=Patrol (half match)", "department=Patrol&limit=50"),
    ("department=Nobody (no match: worst case)", "department=Nobody"),
)


def list_latency(small: int = 100, large: int = 100_000, calls: int = 200) -> list[ListRow]:
    op = next(op for op in OPS if op.operation_id == "listShifts")
    apps = {size: mock_app(world_with_shifts(size)) for size in (small, large)}
    rows = []
    for label, query in LIST_QUERIES:
        n = calls if "Nobody" not in query else max(5, calls // 20)
        costs = [
            per_request_us(apps[size], op, calls=n, batches=3, query=query)
            for size in (small, large)
        ]
        rows.append(ListRow(label, *costs))
    return rows


# -- profile ---------------------------------------------------------------------------------
BUCKETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "mockserver.validation / schemas (+ jsonschema-rs)",
        ("mockserver/validation", "mockserver/schemas", "jsonschema_rs"),
    ),
    (
        "mockserver.handlers + state + store",
        (
            "mockserver/handlers",
            "mockserver/state",
            "mockserver/store",
            "mockserver/clock",
            "uuid",
            "random",
        ),
    ),
    ("mockserver.app (pipeline, journal, rendering)", ("mockserver/",)),
    ("json encode / decode", ("json/", "_json")),
    ("werkzeug (routing, request, response, headers)", ("werkzeug/",)),
    ("flask (dispatch, context, hooks)", ("flask/", "blinker/")),
    ("WSGI call / harness", ("bench/",)),
)


def _bucket(filename: str, function: str) -> str:
    where = f"{filename}:{function}"
    for label, needles in BUCKETS:
        if any(needle in where for needle in needles):
            return label
    return "other (stdlib: threading, re, dataclasses ...)"


def profile_op(op: Op, calls: int = 2000) -> tuple[dict[str, float], str]:
    """Share of self time per component, and the top of the cProfile listing."""
    app = mock_app()
    template, body = environ_for(op), op.body_bytes
    for _ in range(50):
        wsgi_call(app, template, body)
    reset(app)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        wsgi_call(app, template, body)
    profiler.disable()
    stats = pstats.Stats(profiler)
    raw: Mapping[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    shares: dict[str, float] = {}
    total = 0.0
    for (filename, _, function), (_, _, tottime, _, _) in raw.items():
        shares[_bucket(filename, function)] = shares.get(_bucket(filename, function), 0.0) + tottime
        total += tottime
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
    per_call = {label: seconds / calls * 1e6 for label, seconds in shares.items()}
    per_call["total (under cProfile)"] = total / calls * 1e6
    return per_call, text.getvalue()


def profile_all(ops: Sequence[Op] = OPS, write: bool = True) -> dict[str, dict[str, float]]:
    found = {}
    for op in ops:
        shares, text = profile_op(op)
        found[op.name] = shares
        if write:
            OUT.mkdir(exist_ok=True)
            (OUT / f"profile-{op.name}.txt").write_text(text)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", action="store_true", help="write cProfile listings")
    args = parser.parse_args()
    print(
        f"{'op':22} {'mock tc':>9} {'plain tc':>9} {'ratio':>6} {'mock wsgi':>10} "
        f"{'plain wsgi':>10} {'ratio':>6}  (us per request)"
    )
    for row in request_costs():
        print(
            f"{row.op:22} {row.mock_client_us:9.1f} {row.plain_client_us:9.1f} "
            f"{row.client_ratio:6.2f} {row.mock_wsgi_us:10.1f} {row.plain_wsgi_us:10.1f} "
            f"{row.wsgi_ratio:6.2f}"
        )
    for list_row in list_latency():
        print(
            f"list {list_row.query:42} 100: {list_row.small_us:9.1f} us   100k: "
            f"{list_row.large_us:9.1f} us   x{list_row.ratio:.2f}"
        )
    if args.profile:
        for op_name, shares in profile_all().items():
            print(f"\n{op_name}")
            for label, us in sorted(shares.items(), key=lambda item: -item[1]):
                print(f"  {us:8.1f} us  {label}")
        print(f"\nlistings in {OUT}")


if __name__ == "__main__":
    main()
