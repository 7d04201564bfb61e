"""The journal of one namespace: partner-API exchanges, oldest first, bounded in bytes.

An entry has ``seq`` (increasing per namespace, never reused, also across resets), ``method``,
``path``, ``query`` (the raw query string), ``headers`` (the request's, lower-case names, with
:data:`REDACTED_HEADERS` - partner key, admin token, authorization, cookie - redacted),
``body`` (the parsed request body, or None), ``status``, ``operation_id``, ``timestamp``,
``detail`` (an error answer's ``x-northca-mock-detail``, or None), ``response`` (``status``,
``headers``, ``body`` as text, ``body_bytes``, its whole size, ``truncated``, and ``detail``),
and ``connection_fault`` only when a fault plan broke the connection (status 0).

Bodies longer than the body limit (``serve --journal-max-body-bytes``) are kept as the start of
their text: a request body with ``body_truncated: true`` beside it, a response body with
``response.truncated: true``. So an entry's size is known without serialising it, and the
journal drops its oldest entries to stay under its byte limit (``--journal-max-bytes``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from mockserver.clock import format_ms
from mockserver.envelopes import DETAIL_HEADER
from mockserver.limits import DEFAULT_JOURNAL_MAX_BYTES
from mockserver.tally import Tally, error_of, error_string

__all__ = [
    "REDACTED",
    "REDACTED_HEADERS",
    "Exchange",
    "Journal",
    "clip",
    "entries_after",
    "entry_size",
    "error_string",
    "request_headers",
    "response_details",
]

#: Entries kept whatever their size.
MAX_ENTRIES = 100_000
#: What an entry costs beyond its path, query, headers and bodies: the keys, method, status,
#: ids and time as JSON.
ENTRY_OVERHEAD = 320
#: Request headers whose values the journal never keeps.
REDACTED_HEADERS = frozenset({"x-partner-key", "x-mock-admin-token", "authorization", "cookie"})
REDACTED = "[redacted]"
Entry = dict[str, Any]

#: Header names seen so far, so that every entry shares one string per name (bounded: names
#: come from clients).
_NAMES: dict[str, str] = {}
_MAX_NAMES = 512


def _name(key: str) -> str:
    name = _NAMES.get(key)
    if name is None:
        name = (key[5:] if key.startswith("HTTP_") else key).replace("_", "-").lower()
        if len(_NAMES) < _MAX_NAMES:
            _NAMES[key] = name
    return name


def request_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """The request's headers from a WSGI environ, lower-case, secrets redacted."""
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if not key.startswith("HTTP_") and not (
            key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value
        ):
            continue
        name = _name(key)
        headers[name] = REDACTED if name in REDACTED_HEADERS else str(value)
    return headers


def clip(body: Any, raw: bytes, limit: int) -> tuple[Any, int, bool]:
    """``(kept, size, cut)``: the body as journaled, its size in bytes, whether it was cut.

    ``body`` is the parsed body (None: none, or unparsable), ``raw`` its bytes as received or
    sent; a body over ``limit`` bytes is kept as the start of ``raw``, decoded.
    """
    if body is None:
        return None, 0, False
    if len(raw) <= limit:
        return body, len(raw) + parsed_overhead(raw), False
    return raw[:limit].decode("utf-8", "ignore"), limit, True


def parsed_overhead(raw: bytes) -> int:
    """What the parsed form of the JSON ``raw`` holds beyond its bytes, about (CPython 3.10+):
    an object 64 bytes, and each element after a comma 56 (its slot, and a string, number or
    array). ``[{},{}]`` is 24 times its bytes once parsed; counting this keeps a journal's
    memory near its limit. Two scans of at most the journal's body limit."""
    if len(raw) < 64:  # the common small body: a few objects at most
        return 256
    return 64 * raw.count(b"{") + 56 * raw.count(b",")


def response_details(
    status: int,
    headers: Iterable[tuple[str, str]],
    data: bytes,
    limit: int,
    size: int | None = None,
) -> dict[str, Any]:
    """What the journal keeps of an answer; ``detail`` is the mock's diagnostic header.

    ``size`` is the whole body's size when ``data`` is only its start.
    """
    kept = {_name(name): value for name, value in headers}
    text = data[:limit].decode("utf-8", "replace")
    whole = len(data) if size is None else size
    return {
        "status": status,
        "headers": kept,
        "body": text,
        "body_bytes": whole,
        "truncated": whole > limit,
        "detail": kept.get(DETAIL_HEADER),
    }


def entry_size(entry: Mapping[str, Any], body_bytes: int) -> int:
    """What ``entry`` is counted as: its bodies (``body_bytes``), query, headers and overhead."""
    answer = entry.get("response") or {}
    return (
        body_bytes
        + ENTRY_OVERHEAD
        + len(entry.get("path") or "")
        + len(entry.get("query") or "")
        + _headers_size(entry.get("headers"))
        + _headers_size(answer.get("headers"))
        + len(answer.get("body") or "")
    )


def _headers_size(headers: Mapping[str, str] | None) -> int:
    # name, value, and the JSON around them ("name":"value",)
    return sum(len(name) + len(value) + 6 for name, value in (headers or {}).items())


def entries_after(journal: Iterable[Mapping[str, Any]], after: int, limit: int) -> list[Any]:
    """Entries with ``seq`` above ``after``, newest first, at most ``limit`` of them.

    ``journal`` is read newest first (pass ``reversed(journal)``), so only what is returned is
    read.
    """
    found: list[Any] = []
    for entry in journal:
        if entry.get("seq", 0) <= after or len(found) >= limit:
            break
        found.append(entry)
    return found


_ENVIRON_REDACTED = frozenset("HTTP_" + name.upper().replace("-", "_") for name in REDACTED_HEADERS)
_UNPREFIXED = ("CONTENT_TYPE", "CONTENT_LENGTH")


def environ_headers(environ: Mapping[str, Any]) -> tuple[list[tuple[str, str]], int]:
    """The request's headers as environ keys and values (secrets already redacted), and their
    size as journaled: the cheap part of :func:`request_headers`, done while serving."""
    pairs = [
        (key, REDACTED if key in _ENVIRON_REDACTED else value)
        for key, value in environ.items()
        if key[:5] == "HTTP_" or (key in _UNPREFIXED and value)
    ]
    # a name is its key without HTTP_ (5 characters), and 6 characters of JSON around it
    return pairs, sum(len(key) + len(value) + 1 for key, value in pairs)


class Exchange:
    """One partner-API request and its answer as the app saw them; made into the journal
    entry (:meth:`entry`) only when someone reads the journal.

    The answer's body is kept as the bytes sent (no copy), or the start of them when it is over
    the body limit; header names are lower-cased when read.
    """

    __slots__ = (
        "answer_headers",
        "body",
        "body_truncated",
        "data",
        "data_size",
        "fault",
        "headers",
        "method",
        "now_ms",
        "operation_id",
        "path",
        "query",
        "seq",
        "status",
    )

    def __init__(
        self,
        method: str,
        path: str,
        query: str,
        headers: list[tuple[str, str]],
        status: int,
        operation_id: str | None,
        body: Any,
        body_truncated: bool,
        answer_headers: list[tuple[str, str]],
        data: bytes,
        limit: int,
        fault: str | None,
    ) -> None:
        self.method, self.path, self.query, self.headers = method, path, query, headers
        self.status, self.operation_id = status, operation_id
        self.body, self.body_truncated = body, body_truncated
        self.answer_headers = answer_headers
        self.data_size = len(data)
        self.data = data if len(data) <= limit else data[:limit]
        self.fault = fault
        self.seq = 0
        self.now_ms = 0

    def error(self) -> str | None:
        """The answer's error string (None for a success)."""
        return error_of(self.data) if self.status >= 400 else None

    def entry(self) -> Entry:
        """The journal entry (see the module docstring)."""
        answer = response_details(
            self.status, self.answer_headers, self.data, len(self.data), self.data_size
        )
        entry: Entry = {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": {_name(key): value for key, value in self.headers},
            "status": self.status,
            "operation_id": self.operation_id,
            "body": self.body,
            **({"body_truncated": True} if self.body_truncated else {}),
            "detail": answer["detail"] if self.status >= 400 else None,
            "response": answer,
            **({"connection_fault": self.fault} if self.fault else {}),
            "seq": self.seq,
            "timestamp": format_ms(self.now_ms),
        }
        return entry


class Journal:
    """Entries, oldest first: at most :data:`MAX_ENTRIES`, and at most ``max_bytes`` bytes.

    ``tally`` counts every answer journaled since the last :meth:`clear`, dropped ones too.
    """

    def __init__(self, max_bytes: int = DEFAULT_JOURNAL_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: deque[list[Any]] = deque()  # [Entry or Exchange, size]
        self._bytes = 0
        self.tally = Tally()

    def append(self, entry: Entry | Exchange, size: int) -> None:
        """Add ``entry`` (``size``: see :func:`entry_size`), dropping the oldest past a limit."""
        if isinstance(entry, Exchange):
            self.tally.count(entry.operation_id, entry.status, entry.error())
        else:
            operation_id, status = entry.get("operation_id"), entry.get("status")
            self.tally.count(
                operation_id if isinstance(operation_id, str) else None,
                status if isinstance(status, int) else 0,
                error_string(entry),
            )
        self._entries.append([entry, size])
        self._bytes += size
        while len(self._entries) > 1 and (
            self._bytes > self.max_bytes or len(self._entries) > MAX_ENTRIES
        ):
            self._bytes -= self._entries.popleft()[1]

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0
        self.tally.clear()

    @staticmethod
    def _read(item: list[Any]) -> Entry:
        entry = item[0]
        if isinstance(entry, Exchange):
            entry = item[0] = entry.entry()  # built once, on the first read
        return entry  # type: ignore[no-any-return]

    @property
    def size(self) -> int:
        """The bytes the entries are counted as."""
        return self._bytes

    def __iter__(self) -> Iterator[Entry]:
        return (self._read(item) for item in self._entries)

    def __reversed__(self) -> Iterator[Entry]:
        return (self._read(item) for item in reversed(self._entries))

    def __getitem__(self, index: int) -> Entry:
        return self._read(self._entries[index])

    def __len__(self) -> int:
        return len(self._entries)
