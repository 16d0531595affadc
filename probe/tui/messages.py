"""Messages from the probe worker to the app.

Each carries the run number so events from a cancelled run (the user
pressed `r` while a slow server was still talking) are dropped, not mixed
into the new transcript.
"""

from __future__ import annotations

from textual.message import Message

from probe.core.events import Event


class ProbeEvent(Message):
    """One core event, as it happened."""

    def __init__(self, run: int, event: Event) -> None:
        super().__init__()
        self.run = run
        self.event = event


class ProbeFailed(Message):
    """The runner raised: a bug in the core (exit code 70 territory)."""

    def __init__(self, run: int, error: str) -> None:
        super().__init__()
        self.run = run
        self.error = error
