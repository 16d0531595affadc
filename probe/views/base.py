"""The protocol between a probe run and an output format.

A view is fed every event of a run, in order, and finished once the run
ended; it decides nothing about outcomes (the verdict and the annotations
arrive on the events and on the folded `Report`). `run` drives a whole probe
through the view and returns the exit code; a view that owns its event loop
(the TUI) overrides `run` instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from ..core.events import Event
from ..core.exit_status import ExitStatus
from ..core.transcript import Report

if TYPE_CHECKING:
    from ..core.plan import Plan

Runner = Callable[["Plan"], AsyncIterator[Event]]


def default_runner(plan: Plan) -> AsyncIterator[Event]:
    from ..core.runner import run_probe  # lazy: the TUI paints before the core loads

    return run_probe(plan)


@dataclass(frozen=True)
class Display:
    """How a view presents a run, as opposed to what is probed (the Plan).

    `brief`: only the results matrix, the problems with their fixes and the
    verdict; `timing`: add the waterfall of every session. Formats that have
    no use for one ignore it.
    """

    brief: bool = False
    timing: bool = False


PLAIN_DISPLAY = Display()

class View:
    """Base class: folds events into `self.report`; subclasses add output."""

    def __init__(self, out: TextIO, plan: Plan, *, compact: bool = False,
                 display: Display = PLAIN_DISPLAY) -> None:
        self.out = out
        self.plan = plan
        self.compact = compact
        self.display = display
        self.report = Report()

    def feed(self, event: Event) -> None:
        self.report.feed(event)

    def finish(self) -> None:
        """The run ended (normally or not): write whatever is still owed."""

    @property
    def exit_code(self) -> int:
        done = self.report.done
        return done.exit_code if done is not None else ExitStatus.INTERNAL

    async def consume(self, events: AsyncIterator[Event]) -> int:
        """Feed every event of one run, then finish; the run's exit code."""
        try:
            async for event in events:
                self.feed(event)
        finally:
            self.finish()
        return self.exit_code

    def run(self, runner: Runner = default_runner) -> int:
        return asyncio.run(self.consume(runner(self.plan)))
