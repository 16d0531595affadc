"""`--plain`: the text report, printed while the probe runs.

A host's block is printed once it and every host before it are done, so the
output is ordered like the final report (diffable) yet appears live.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from ..core.events import Event, HostDone, HostKey, MxResolved, ProbeDone, RetryScheduled
from ..present.text_report import Style, render_footer, render_header, render_host
from ..sanitize import to_display
from .base import View

if TYPE_CHECKING:
    from ..core.plan import Plan


class PlainView(View):
    def __init__(self, out: TextIO, plan: Plan, *, compact: bool = False) -> None:
        super().__init__(out, plan, compact=compact)
        self.style = Style.for_stream(out, plan.lang)
        self.printed: set[HostKey] = set()
        self.header_done = False

    def feed(self, event: Event) -> None:
        super().feed(event)
        if isinstance(event, RetryScheduled):  # the report waits: say why, on stderr
            key = event.key
            sys.stderr.write(f"probe: {to_display(key.host)} [{key.address}] greylisted; "
                             f"retrying once in {event.seconds:g} s\n")
            sys.stderr.flush()
        if isinstance(event, MxResolved) and not self.header_done:
            self._write(render_header(self.report, self.style))
            self.header_done = True
        if isinstance(event, HostDone | ProbeDone):
            for host in self.report.ordered_hosts():
                if host.key in self.printed:
                    continue
                if host.outcome is None:
                    break
                self._write(render_host(host, self.style))
                self.printed.add(host.key)

    def finish(self) -> None:
        if self.report.done is None:
            return  # interrupted: the footer would claim a verdict nobody reached
        if not self.header_done:
            self._write(render_header(self.report, self.style))
        self._write(render_footer(self.report, self.style))

    def _write(self, lines: list[str]) -> None:
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()


VIEW = PlainView
