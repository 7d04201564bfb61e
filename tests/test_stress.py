"""Bounded stress over the live server (loopback): concurrent creates, overlapping upserts and
racing link decisions. Every request is applied atomically, so the outcome must be that of some
serial order: no 5xx, nothing lost or doubled, last write wins per unit, link decisions exactly
once."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
import requests

from tests.live import LiveMock
from tests.support import DEFAULT, auth_headers

THREADS = 8
ROUNDS = 40  # per thread; each round is a create and an upsert (and sometimes a duplicate id)
UNIT_IDS = [f"U-{index}" for index in range(10)]
DUPLICATE_IDS = [f"dup-{index}" for index in range(5)]
LINK_REQUESTS = 10
TIME_CAP = 60.0  # seconds for the whole workload; it takes a few on two cores
BASE = f"/v1/mdts/{DEFAULT.mdt_id}"
T = TypeVar("T")


@pytest.fixture(scope="module")
def live() -> Iterator[LiveMock]:
    with LiveMock() as mock:
        yield mock


@pytest.fixture(autouse=True)
def fresh(live: LiveMock) -> None:
    assert live.post("/__mock/reset").status_code == 200


@dataclass
class Outcome:
    """Everything one worker saw."""

    statuses: Counter[int] = field(default_factory=Counter)
    shifts: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, int, str]] = field(default_factory=list)
    upserts: list[tuple[list[dict[str, Any]], list[dict[str, Any]]]] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)


def run_threads(count: int, work: Callable[[int], T]) -> list[T]:
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(work, index) for index in range(count)]
        return [future.result(timeout=TIME_CAP) for future in futures]


def worker(live: LiveMock, index: int, deadline: float) -> Outcome:
    rng = random.Random(index)
    outcome = Outcome()
    headers = auth_headers()
    with requests.Session() as session:

        def send(method: str, path: str, body: Any) -> requests.Response:
            response = session.request(
                method, live.url + path, json=body, headers=headers, timeout=30
            )
            outcome.statuses[response.status_code] += 1
            if response.status_code >= 500:
                outcome.server_errors.append(f"{method} {path}: {response.text[:200]}")
            return response

        for round_ in range(ROUNDS):
            if time.monotonic() > deadline:
                break
            created = send("POST", f"{BASE}/shifts", {"officer_name": f"T{index}-{round_}"})
            assert created.status_code == 201, created.text
            outcome.shifts.append(created.json()["data"]["id"])

            units = [
                {"id": unit_id, "status": f"T{index}-{round_}", "rank": str(index)}
                for unit_id in rng.sample(UNIT_IDS, rng.randint(1, 6))
            ]
            upserted = send("PUT", f"{BASE}/units/active", {"units": units})
            assert upserted.status_code == 200, upserted.text
            outcome.upserts.append((units, upserted.json()["data"]))

            if round_ % 4 == 0:
                dup_id = rng.choice(DUPLICATE_IDS)
                answer = send("POST", f"{BASE}/shifts", {"id": dup_id, "officer_name": str(index)})
                error = answer.json().get("error", "") if answer.status_code != 201 else ""
                outcome.duplicates.append((dup_id, answer.status_code, error))
    return outcome


def state_of(live: LiveMock) -> dict[str, Any]:
    response = live.get("/__mock/state")
    assert response.status_code == 200
    data: dict[str, Any] = response.json()["data"]
    return data


def test_concurrent_creates_and_upserts_are_serializable(live: LiveMock) -> None:
    deadline = time.monotonic() + TIME_CAP
    started = time.monotonic()
    outcomes = run_threads(THREADS, lambda index: worker(live, index, deadline))
    assert time.monotonic() - started < TIME_CAP
    server_errors = [error for outcome in outcomes for error in outcome.server_errors]
    assert server_errors == []
    statuses = sum((outcome.statuses for outcome in outcomes), Counter())
    assert set(statuses) <= {200, 201, 409}, statuses

    # Shifts: every 201 is listed exactly once; nothing else is listed.
    created = [shift for outcome in outcomes for shift in outcome.shifts]
    won = [d for outcome in outcomes for d, status, _ in outcome.duplicates if status == 201]
    assert len(set(created)) == len(created)
    stored = state_of(live)["mdts"][DEFAULT.mdt_id]
    stored_ids = [shift["id"] for shift in stored["shifts"]]
    assert Counter(stored_ids) == Counter(created + won)
    listed = live.get(f"{BASE}/shifts?limit=100", headers=auth_headers()).json()["data"]
    assert [shift["id"] for shift in listed] == stored_ids[:100]
    stamps = [shift["updated_at"] for shift in stored["shifts"]]
    assert stamps == sorted(stamps, reverse=True)

    # Client-chosen ids: exactly one 201 per id, every other attempt 409 "ID already exists".
    attempts: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for outcome in outcomes:
        for dup_id, status, error in outcome.duplicates:
            attempts[dup_id].append((status, error))
    for dup_id, answers in attempts.items():
        assert sorted(answers) == sorted(
            [(201, "")] + [(409, "ID already exists")] * (len(answers) - 1)
        ), dup_id

    # Units: each one's final record is the one written by its last upsert. Requests are
    # serialized under one lock and stamped from the clock inside it, so the last upsert of a
    # unit is the one with the latest `updated_at` (several in one millisecond: one of those).
    writes: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for outcome in outcomes:
        for sent, answered in outcome.upserts:
            assert [unit["id"] for unit in answered] == [unit["id"] for unit in sent]
            for unit, record in zip(sent, answered, strict=True):
                assert record["status"] == unit["status"]
                assert record["rank"] == unit["rank"]
                writes[unit["id"]].append((record["updated_at"], record))
    final = {unit["id"]: unit for unit in stored["active_units"]}
    assert set(final) == set(writes)
    for unit_id, history in writes.items():
        latest = max(stamp for stamp, _ in history)
        candidates = [
            {k: v for k, v in record.items() if k != "created_at"}
            for stamp, record in history
            if stamp == latest
        ]
        got = {k: v for k, v in final[unit_id].items() if k != "created_at"}
        assert got in candidates, (unit_id, got, candidates)
        first = min(stamp for stamp, _ in history)
        assert final[unit_id]["created_at"] == first

    # The journal has every partner request exactly once (plus the list above).
    journal = live.get("/__mock/requests").json()["data"]
    assert len(journal) == sum(statuses.values()) + 1
    assert Counter(entry["status"] for entry in journal) == statuses + Counter({200: 1})
    assert journal[-1]["operation_id"] == "listShifts"


def decide(live: LiveMock, request_id: str, decision: str, barrier: threading.Barrier) -> Any:
    headers = auth_headers(actor=DEFAULT.unlinked_mdt_owner_id)
    with requests.Session() as session:
        barrier.wait(timeout=30)
        response = session.post(
            f"{live.url}/v1/link-requests/{request_id}/{decision}", headers=headers, timeout=30
        )
    return decision, response.status_code, response.json()


def test_racing_confirm_and_deny_decide_exactly_once(live: LiveMock) -> None:
    owner = auth_headers()
    request_ids = []
    for _ in range(LINK_REQUESTS):
        created = live.post(
            "/v1/link-requests", json={"mdt_id": DEFAULT.unlinked_mdt_id}, headers=owner
        )
        assert created.status_code == 201
        request_ids.append(created.json()["data"]["id"])

    winners = {}
    for number, request_id in enumerate(request_ids):
        decisions = ["confirm", "deny"] * (THREADS // 2)
        random.Random(number).shuffle(decisions)
        barrier = threading.Barrier(THREADS)
        answers = run_threads(
            THREADS,
            lambda index, rid=request_id, ds=decisions, b=barrier: decide(  # type: ignore[misc]
                live, rid, ds[index], b
            ),
        )
        assert all(status < 500 for _, status, _ in answers), answers
        changed = [
            (d, body)
            for d, status, body in answers
            if status == 200 and not body["data"].get("already")
        ]
        assert len(changed) == 1, answers  # exactly one call changed the state
        winner, body = changed[0]
        expected_status = "approved" if winner == "confirm" else "denied"
        assert body["data"]["status"] == expected_status
        winners[request_id] = (winner, body["data"]["decided_at"])
        for decision, status, reply in answers:
            if reply is body:
                continue
            if decision == winner:  # the same decision again: 200 already, same record
                assert status == 200, reply
                assert reply["data"]["already"] is True
                assert reply["data"]["status"] == expected_status
                assert reply["data"]["decided_at"] == body["data"]["decided_at"]
            else:  # the opposite decision: 409 naming the winner's outcome
                assert status == 409, reply
                assert reply == {
                    "ok": False,
                    "error": "Link request already approved"
                    if winner == "confirm"
                    else "Link request already denied",
                }

    state = state_of(live)
    stored = {request["id"]: request for request in state["link_requests"]}
    for request_id, (winner, decided_at) in winners.items():
        assert stored[request_id]["status"] == ("approved" if winner == "confirm" else "denied")
        assert stored[request_id]["decided_at"] == decided_at
    links = [link for link in state["links"] if link["mdt_id"] == DEFAULT.unlinked_mdt_id]
    approved = [rid for rid, (winner, _) in winners.items() if winner == "confirm"]
    if approved:
        assert len(links) == 1
        assert links[0]["link_request_id"] in approved
    else:
        assert links == []
    journal = live.get("/__mock/requests").json()["data"]
    decisions_journaled = [e for e in journal if e["path"].endswith(("/confirm", "/deny"))]
    assert len(decisions_journaled) == LINK_REQUESTS * THREADS


def test_server_still_healthy_after_the_load(live: LiveMock) -> None:
    assert live.healthy()
    response = live.get(f"{BASE}/units/active", headers=auth_headers())
    assert response.status_code == 200
    assert response.json() == {"ok": True, "data": []}
