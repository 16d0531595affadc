"""`--plain`: the text report, printed while the probe runs.

A host's block is printed once it and every host before it are done, so the
output is ordered like the final report (diffable) yet appears live. The
header goes out with the first host block: only then is it known what was
really sent (with no --helo, each connection's EHLO names its own address).
With `--brief` nothing is printed until the verdict block at the end.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from ..core.events import Event, HostDone, HostKey, ProbeDone, RetryScheduled
from ..present.text_report import Printed, Style, render_footer, render_header, render_host
from ..sanitize import to_display
from .base import PLAIN_DISPLAY, Display, View

if TYPE_CHECKING:
    from ..core.plan import Plan


class PlainView(View):
    def __init__(self, out: TextIO, plan: Plan, *, compact: bool = False,
                 display: Display = PLAIN_DISPLAY) -> None:
        super().__init__(out, plan, compact=compact, display=display)
        self.style = Style.for_stream(out, plan.lang)
        self.printed: set[HostKey] = set()
        self.explained = Printed()
        self.header_done = False

    def feed(self, event: Event) -> None:
        super().feed(event)
        if isinstance(event, RetryScheduled):  # the report waits: say why, on stderr
            key = event.key
            sys.stderr.write(f"probe: {to_display(key.host)} [{key.address}] greylisted; "
                             f"retrying once in {event.seconds:g} s\n")
            sys.stderr.flush()
        if self.display.brief or not isinstance(event, HostDone | ProbeDone):
            return
        for host in self.report.ordered_hosts():
            if host.key in self.printed:
                continue
            if host.outcome is None:
                break
            self._header()
            self._write(render_host(host, self.style, self.explained))
            self.printed.add(host.key)

    def finish(self) -> None:
        if self.report.done is None:
            return  # interrupted: the footer would claim a verdict nobody reached
        if not self.display.brief:
            self._header()
        lines = render_footer(self.report, self.style, brief=self.display.brief,
                              timing=self.display.timing)
        if self.display.brief:
            while lines and not lines[0]:
                lines.pop(0)
        self._write(lines)

    def _header(self) -> None:
        if not self.header_done:
            self.header_done = True
            self._write(render_header(self.report, self.style))

    def _write(self, lines: list[str]) -> None:
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()


VIEW = PlainView
