"""Every rule the checker can report, declared once with what it means.

Workflows, state machines, checks, tests and reporters refer to these symbols; a
:class:`~contracts.events.Failure` carries the rule's ``name`` (``<area>.<rule>``). A *family*
(``records.create``) stands for its members (``records.create.calls``): :meth:`Rule.of`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """A named rule of the API that a check can find violated."""

    name: str
    description: str
    family: bool = False

    def of(self, member: str) -> Rule:
        """The member ``<name>.<member>`` of a family (e.g. a record kind)."""
        if not self.family:
            raise ValueError(f"{self.name} is not a family of rules")
        return Rule(f"{self.name}.{member}", self.description)

    def __str__(self) -> str:
        return self.name


#: Every declared rule (and family) by name.
RULES: dict[str, Rule] = {}


def declare(name: str, description: str, *, family: bool = False) -> Rule:
    if name in RULES:
        raise ValueError(f"rule {name} is declared twice")
    RULES[name] = Rule(name, description, family)
    return RULES[name]


def lookup(name: str) -> Rule:
    """The rule named ``name``, or the family it belongs to (KeyError if undeclared)."""
    if name in RULES:
        return RULES[name]
    family, _, member = name.rpartition(".")
    if family in RULES and RULES[family].family and member:
        return RULES[family].of(member)
    raise KeyError(name)


# -- every answer (the registered checks, contracts.checks) ------------------------------------
ENVELOPE_JSON = declare("envelope.json", "Answers are JSON objects with Content-Type JSON.")
ENVELOPE_SUCCESS = declare("envelope.success", 'A 2xx answer is {"ok": true, "data": <not null>}.')
ENVELOPE_ERROR = declare("envelope.error", 'A 4xx/5xx answer is {"ok": false, "error": "..."}.')
#: Found by ``northca-mock proxy`` in an upstream's answer (before the registered checks run).
ENVELOPE_HTTP = declare(
    "envelope.http",
    "Answers are valid HTTP/1.1: one final status, one Content-Length that the body matches,"
    " no bare CR in a header.",
)
ENVELOPE_SIZE = declare(
    "envelope.size", "An answer fits the proxy's --max-body-bytes (decompressed) to be checked."
)
ENVELOPE_STRICT_JSON = declare(
    "envelope.strict-json",
    "JSON bodies are strict RFC 8259: finite numbers, no lone surrogate, nested at most 64 deep.",
)
STATUS_DOCUMENTED = declare("status.documented", "Every status is one the operation documents.")
FORMAT_DATE_TIME = declare(
    "format.date-time", "Fields declared format: date-time hold RFC 3339 values."
)
ERROR_DOCUMENTED = declare(
    "error.documented",
    "An error string is one the operation documents for that status (unless inferred).",
)
RESPONSE_SCHEMA = declare(
    "response.schema", "An answer's body matches the schema documented for its status."
)
REQUEST_REFUSED = declare(
    "request.refused",
    "A request the spec's rules refuse (its body, its limit) is not answered 2xx.",
    family=True,
)
# -- the engine -----------------------------------------------------------------------------------
WORKFLOW_ERROR = declare("workflow.error", "A workflow or state machine runs to its end.")
SCHEMATHESIS = declare("schemathesis", "A check of schemathesis (its name follows).", family=True)
SCHEMATHESIS_ERROR = SCHEMATHESIS.of("error")
TRANSPORT_TIMEOUT = declare(
    "transport.timeout",
    "A whole answer arrives within the request deadline (--request-timeout), trickled or not.",
)
TRANSPORT_TOO_LARGE = declare(
    "transport.too-large", "An answer is at most --max-answer-bytes long."
)
# -- auth and guild link --------------------------------------------------------------------------
AUTH_MISSING_KEY = declare("auth.missing-key", "No x-partner-key: 401 Unauthorized.")
AUTH_UNKNOWN_KEY = declare("auth.unknown-key", "An unknown x-partner-key: 401 Unauthorized.")
AUTH_MISSING_GUILD = declare("auth.missing-guild", "No x-discord-guild: 401 Unauthorized.")
GUILD_OTHER = declare(
    "guild-link.other-guild", "An MDT-scoped call from another guild: 403 MDT not linked."
)
GUILD_UNKNOWN_MDT = declare(
    "guild-link.unknown-mdt", "An MDT-scoped call for an unknown MDT: 403 MDT not linked."
)
MDT_INFO_READ = declare("mdt-info.read", "The linked MDT's info is an object.")
MDT_LINKS_LIST = declare("mdt-links.list", "The guild's MDT list includes the linked MDT.")
MDT_LINKS_GUILD_MISMATCH = declare(
    "mdt-links.guild-mismatch", "A guildId other than x-discord-guild: 403."
)
MDT_LINKS_OWNER = declare("mdt-links.owner", "The MDT's owner is known (or given with --owner).")
MDT_LINKS_OWNER_ONLY = declare("mdt-links.owner-only", "Only the MDT's owner may unlink it.")
MDT_LINKS_UNLINK = declare("mdt-links.unlink", "Unlink answers unlinked: true; the MDT is gone.")
MDT_LINKS_UNLINKED_403 = declare(
    "mdt-links.unlinked-403", "An unlinked MDT answers 403 MDT not linked."
)
MDT_LINKS_RELINK = declare("mdt-links.relink", "A confirmed link request links the MDT again.")
# -- link requests --------------------------------------------------------------------------------
LINK_REQUEST_CREATE = declare(
    "link-requests.create", "Create answers 201 pending in the caller's guild."
)
LINK_REQUEST_MISSING_MDT = declare(
    "link-requests.missing-mdt-id", "A missing or empty mdt_id is a 400."
)
LINK_REQUEST_INVALID_MDT = declare("link-requests.invalid-mdt-id", "An unknown mdt_id is a 400.")
LINK_REQUEST_UNKNOWN_KEY = declare("link-requests.unknown-key", "An unknown body key is a 400.")
LINK_REQUEST_OWNER = declare(
    "link-requests.owner", "A link request names its owner (or --owner is given)."
)
LINK_OWNER_ONLY = declare("link.owner-only", "Only the MDT's owner may confirm or deny: 403.")
LINK_OTHER_GUILD = declare("link.other-guild", "A request of another guild is a 404.")
LINK_NOT_FOUND = declare("link.not-found", "An unknown or foreign request is a 404.")
LINK_CONFIRM = declare("link.confirm", "Confirm approves: status approved, decided_at set.")
LINK_DENY = declare("link.deny", "Deny denies: status denied, decided_at set.")
LINK_APPROVED = declare("link.approved", "A confirmed request is approved (state machine).")
LINK_DENIED = declare("link.denied", "A denied request is denied (state machine).")
LINK_ALREADY = declare("link.already", "Repeating the same decision answers already: true.")
LINK_CONFLICT = declare("link.conflict", "The opposite decision on a decided request is a 409.")
LINK_EXPIRY = declare("link.expiry", "Past its TTL a request answers 410 and is expired.")
LINK_STILL_LINKED = declare("link.still-linked", "Deciding requests leaves the MDT linked.")
LINK_CREATE = declare("link.create", "Create answers 201 pending (state machine).")
LINK_LINKED = declare("link.linked", "The MDT is linked exactly after an approval.")
LINK_RESTORE = declare("link.restore", "The state machine unlinks what it linked.")
# -- records --------------------------------------------------------------------------------------
RECORDS_CREATE = declare(
    "records.create", "Create answers 201 with an id and the sent fields.", family=True
)
RECORDS_DEFAULTS = declare(
    "records.defaults", "A create fills the documented defaults.", family=True
)
RECORDS_CLIENT_ID = declare("records.client-id", "A client-chosen id is kept.")
RECORDS_DUPLICATE_ID = declare("records.duplicate-id", "A taken id is a 409.")
RECORDS_UNKNOWN_KEY = declare("records.unknown-key", "An unknown body key is a 400.")
RECORDS_WRONG_TYPE = declare("records.wrong-type", "A value of the wrong type is a 400.")
BODY_INVALID_JSON = declare("body.invalid-json", "An unparseable body is a 400 Invalid JSON.")
BODY_NOT_JSON = declare(
    "body.not-json-content-type", "A body sent as text/plain is a 400 Invalid JSON."
)
LIST_READ = declare("list.read", "A list answers 200 with an array.")
LIST_ORDER = declare("list.order", "Lists are most recently updated first.")
LIST_LIMIT = declare("list.limit", "limit caps a list.")
LIST_DEFAULT_LIMIT = declare("list.default-limit", "Without limit a list holds at most 50.")
LIST_INVALID_LIMIT = declare("list.invalid-limit", "A limit outside 1..100 is a 400.")
SHIFTS_DEPARTMENT = declare("shifts.department-filter", "department filters shifts by exact match.")
CALLS_PATCH = declare("calls.patch", "PATCH applies status and priority.")
CALLS_PATCH_WHITELIST = declare(
    "calls.patch-whitelist", "PATCH changes only its fields and ignores others."
)
CALLS_PATCH_EMPTY = declare("calls.patch-empty", "An empty PATCH answers 200.")
CALLS_NOT_FOUND = declare("calls.not-found", "PATCH of an unknown call is a 404.")
CALLS_WRONG_TYPE = declare("calls.wrong-type", "A PATCH value of the wrong type is a 400.")
# -- active units ---------------------------------------------------------------------------------
UNITS_UPSERT = declare("units.upsert", "Upsert answers the units in request order.")
UNITS_UPSERT_REPLACES = declare("units.upsert-replaces", "A re-upserted unit is replaced.")
UNITS_UPSERT_EMPTY = declare("units.upsert-empty", "An empty batch answers 200 with [].")
UNITS_DUPLICATE_ID = declare("units.duplicate-id", "A batch repeating an id is a 400.")
UNITS_EMPTY_ID = declare("units.empty-id", "A unit without an id is a 400.")
UNITS_EXPECTED_UNITS = declare("units.expected-units", "A body without a units array is a 400.")
UNITS_PANIC = declare("units.panic", "Panic acknowledges with panicked, unit_id and ts.")
UNITS_PANIC_NO_CHANGE = declare("units.panic-no-change", "Panic leaves the unit unchanged.")
UNITS_PANIC_UNKNOWN_KEY = declare("units.panic-unknown-key", "An unknown panic key is a 400.")
UNITS_DELETE = declare("units.delete", "Delete answers deleted: true; the unit is gone.")
UNITS_NOT_FOUND = declare("units.not-found", "An unknown unit is a 404.")
# -- read back after every write (contracts.readback) --------------------------------------------
READBACK_REJECTED = declare(
    "readback.rejected-write",
    "A rejected write (4xx) leaves no trace: the lists, the guild's MDT list and the 403 rule"
    " read the same as before it.",
)
READBACK_WRITE = declare(
    "readback.write",
    "After a write the reads show exactly its change: the written records first in their list and"
    " equal (values, JSON types) to the answer, a deleted one gone, a link made or removed;"
    " nothing else changed.",
)
TIMESTAMPS_CREATED = declare("timestamps.created-at", "created_at never changes after creation.")
TIMESTAMPS_UPDATED = declare(
    "timestamps.updated-at",
    "updated_at never goes backwards, and a write stamps it with the time of the write.",
)
RECORDS_ROUND_TRIP = declare(
    "records.round-trip",
    "A created record reads back with every sent value in the schema's JSON type, the documented"
    " defaults (null otherwise) for what was not sent, and created_by_discord_id equal to"
    " x-discord-actor (null without one).",
    family=True,
)
# -- isolation ------------------------------------------------------------------------------------
ISOLATION_GUILD_LIST = declare(
    "isolation.guild-list", "Another guild's MDT list shows none of this guild's MDTs."
)
ISOLATION_MDT = declare(
    "isolation.second-mdt",
    "Records never cross between two MDTs of one guild: lists, PATCH, delete and panic through"
    " the other MDT's path see nothing of them (404) and change nothing.",
)
# -- routing --------------------------------------------------------------------------------------
ROUTING_NOT_FOUND = declare("routing.not-found", "An unknown path is a 404.")
ROUTING_METHOD_NOT_ALLOWED = declare("routing.method-not-allowed", "An undeclared method is a 405.")
ROUTING_ALLOW_HEADER = declare("routing.allow-header", "A 405 lists the declared methods in Allow.")
# -- the units/calls state machine ----------------------------------------------------------------
MODEL_UPSERT = declare("model.upsert", "Upsert answers the units (state machine).")
MODEL_DELETE = declare("model.delete", "Delete answers 200 for a known unit, else 404.")
MODEL_PANIC = declare("model.panic", "Panic answers 200 for a known unit, else 404.")
MODEL_CREATE = declare("model.create", "A create answers 201 with the record (state machine).")
MODEL_PATCH_CALL = declare("model.patch-call", "PATCH call answers 200.")
MODEL_LIST = declare("model.list", "The units list is an array.")
MODEL_RECORDS = declare(
    "model.records",
    "Answers and lists hold exactly the model's full records (state machine).",
    family=True,
)
MODEL_LIMIT = declare("model.limit", "limit=k answers the first k of the full list.")
