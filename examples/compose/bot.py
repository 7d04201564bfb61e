"""A stand-in bot for compose.yaml: it reaches the mock by its service name, starts a shift and
reads it back. Exit status 0 and ``bot: ok`` on success."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any

BASE = os.environ.get("NORTHCA_URL", "http://northca:4010/v1")
MDT = "0c7f6a0c-2c4f-4f44-b16a-2b6b8d8fe2c2"
HEADERS = {
    "x-partner-key": "test-key",
    "x-discord-guild": "123456789012345678",
    "x-discord-actor": "222222222222222222",
    "content-type": "application/json",
}


def call(method: str, path: str, body: object = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method=method, headers=HEADERS)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as refused:
        return refused.code, json.load(refused)


def main() -> int:
    for _ in range(50):  # the mock may still be starting
        try:
            status, listed = call("GET", f"/mdts/{MDT}/shifts")
            break
        except OSError:
            time.sleep(0.2)
    else:
        print(f"bot: {BASE} did not answer", file=sys.stderr)
        return 1
    status, created = call("POST", f"/mdts/{MDT}/shifts", {"officer_name": "B. Bubbleton"})
    print(f"bot: POST shifts -> {status} {json.dumps(created)}")
    status, listed = call("GET", f"/mdts/{MDT}/shifts")
    ids = [shift["id"] for shift in listed["data"]]
    ok = status == 200 and created["data"]["id"] in ids
    print("bot: ok" if ok else f"bot: shift missing from {ids}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
