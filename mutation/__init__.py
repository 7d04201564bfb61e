"""Mutation testing of the mock, judged by the checker: how much of the contract it really sees.

- :mod:`mutation.kill` runs the checker in-process against ``create_app()`` (from whatever
  ``mockserver`` is first on ``sys.path``) and exits 1 when it finds a violation;
- :mod:`mutation.campaign` (``make mutation``) mutates a copy of ``mockserver/handlers/`` and
  ``mockserver/validation.py`` with cosmic-ray, runs :mod:`mutation.kill` on every mutant and
  writes the share killed and the survivors to ``reports/mutation/``.
"""
