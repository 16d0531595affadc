"""The error for bad user input: one sentence, exit 64, nothing sent.

Its own module so the command line can catch it without importing the
planner (and, through it, the DNS library) on paths that never plan a probe.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input from the user: one sentence, exit 64, nothing sent."""
