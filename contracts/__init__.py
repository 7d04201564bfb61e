"""Contract checks for any implementation of the Northca Partner API, built on ``openapi.yaml``.

- :func:`run_check` runs schemathesis (all phases, all checks), the business-rule workflows and
  the model-based state machine against a :class:`Target`, emitting events to reporters;
- :mod:`contracts.strategies` holds the public hypothesis strategies;
- :mod:`contracts.workflows` the named workflows (``WORKFLOWS``);
- :mod:`contracts.pytest_plugin` runs the suite from your own pytest session;
- ``northca-contracts check`` is the command line.
"""

from contracts import rules
from contracts.events import Failure, RunFinished
from contracts.runner import CheckOptions, UsageError, run_check
from contracts.target import Auth, Exchange, HttpTarget, Target, TargetUnreachable, WsgiTarget
from contracts.workflows import WORKFLOWS, Workflow

__all__ = [
    "WORKFLOWS",
    "Auth",
    "CheckOptions",
    "Exchange",
    "Failure",
    "HttpTarget",
    "RunFinished",
    "Target",
    "TargetUnreachable",
    "UsageError",
    "Workflow",
    "WsgiTarget",
    "rules",
    "run_check",
]
