"""``northca-mock proxy``: a reverse proxy in front of Northca that checks real traffic.

- :mod:`~mockserver.proxy.forward`: one request to the upstream (stdlib ``http.client``);
- :mod:`~mockserver.proxy.app`: the WSGI app (forwarding, checks, journal, control plane);
- :mod:`~mockserver.proxy.evidence`: the part of the spec a deviation contradicts;
- :mod:`~mockserver.proxy.report`: deviation counts, ``deviations.json`` and ``deviations.md``;
- :mod:`~mockserver.proxy.recorder`: ``--record``, a world file from what was seen;
- :mod:`~mockserver.proxy.cli`: the subcommand.

It imports the single-exchange checks of ``contracts`` (``contracts.checks``), which need
neither schemathesis nor hypothesis.
"""
