"""Counts the security and reliability suites report at the end of a run.

Tests add to ``TALLY``; ``pytest_terminal_summary`` in ``tests/conftest.py`` prints it. The
counts say how much was tried, so a run that swept nothing cannot look like a clean one.
"""

from __future__ import annotations

from collections import Counter

TALLY: Counter[str] = Counter()

# The order and wording of the summary lines.
LINES = (
    ("routes_swept", "routes swept for object-level authorisation"),
    ("bola_requests", "requests as unrelated organisations, parents and officers"),
    ("token_attacks", "token attacks tried"),
    ("fuzz_cases", "fuzz cases run (schemathesis)"),
    ("abuse_requests", "abusive inputs sent"),
    ("crashes_injected", "crashes injected (SIGKILL)"),
    ("entries_acknowledged", "writes acknowledged before a crash (each with its audit entries)"),
    ("entries_lost", "acknowledged writes lost"),
    ("tampers_detected", "tamperings detected"),
    ("log_lines_scanned", "log lines scanned for secrets, tokens, BSNs and payload values"),
)
