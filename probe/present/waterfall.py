"""Where the time went: one bar per step, every host on one scale.

A tarpitting greeting or a slow RCPT callout is a number among many in a
transcript; drawn to scale it is the long bar. Steps of a session run one
after the other, so each bar starts where the previous one ended (the gaps
between steps are microseconds). All hosts share the scale of the slowest,
so two MX hosts can be compared at a glance. Bars use the eighth blocks
(`▏` to `█`) for sub-cell precision, or `#` where the terminal is ASCII
only (TERM=dumb). The plain report and the TUI both draw these rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.events import HostKey, Outcome, Step
from ..core.transcript import Report
from ..sanitize import to_display
from .words import say, stage_name
from .wrap import cells, clip, pad

MAX_LABEL_CELLS = 34
MS_CELLS = 8
MIN_BAR_CELLS = 20
EIGHTHS = " ▏▎▍▌▋▊▉"
FULL = "█"
ASCII_FULL = "#"


def ms_text(ms: float) -> str:
    """`0.4 ms`, `12 ms`, `1.5 s`: a duration as the admin reads it."""
    if ms >= 1000:
        return f"{ms / 1000:.1f} s"
    return f"{ms:.0f} ms" if ms >= 1 else f"{ms:.1f} ms"


@dataclass(frozen=True)
class Bar:
    """One step: where it starts in its session and how long it took (ms)."""

    step: Step
    start_ms: float
    outcome: Outcome

    @property
    def ms(self) -> float:
        return self.step.elapsed_ms

    def label(self, lang: str) -> str:
        """The step as a short name; a RCPT carries its recipient (raw: views sanitise)."""
        name = stage_name(lang, self.step.stage)
        rcpt = self.step.rcpt
        return f"{name} {rcpt}" if rcpt else name


@dataclass(frozen=True)
class Lane:
    """The bars of one session, and its total time."""

    key: HostKey
    bars: tuple[Bar, ...]

    @property
    def total_ms(self) -> float:
        return sum(bar.ms for bar in self.bars)


def lanes(report: Report) -> list[Lane]:
    """One lane per session that took at least one step, in display order."""
    out: list[Lane] = []
    for host in report.ordered_hosts():
        start, bars = 0.0, []
        for step, outcome in zip(host.steps, host.verdicts, strict=True):
            bars.append(Bar(step, start, outcome))
            start += max(step.elapsed_ms, 0.0)
        if bars:
            out.append(Lane(host.key, tuple(bars)))
    return out


def scale_ms(all_lanes: list[Lane]) -> float:
    """The time the full bar width stands for: the slowest session's total."""
    return max((lane.total_ms for lane in all_lanes), default=0.0) or 1.0


def draw(bar: Bar, scale: float, width: int, ascii_only: bool = False) -> str:
    """The bar in at most `width` cells: blank up to its start, then the bar.

    The start is rounded to a cell; the length is drawn in eighths of a cell,
    and never less than one eighth (one `#`), so a 0.3 ms step is still seen.
    """
    if width <= 0:
        return ""
    unit = width / scale
    start = min(round(bar.start_ms * unit), width - 1)
    room = width - start
    if ascii_only:
        return " " * start + ASCII_FULL * min(room, max(1, round(bar.ms * unit)))
    eighths = min(room * 8, max(1, round(bar.ms * unit * 8)))
    full, part = divmod(eighths, 8)
    return " " * start + FULL * full + (EIGHTHS[part] if part else "")


@dataclass(frozen=True)
class Row:
    """One drawn line: a step of session `key`, or (`bar` None) that session's total.
    `text` is the padded label and the time, display-safe; `drawn` the bar."""

    key: HostKey
    bar: Bar | None
    text: str
    drawn: str = ""

    @property
    def outcome(self) -> Outcome:
        return self.bar.outcome if self.bar else "ok"


@dataclass(frozen=True)
class Waterfall:
    scale_ms: float
    bar_cells: int
    rows: tuple[Row, ...]


def layout(report: Report, width: int, lang: str, ascii_only: bool = False) -> Waterfall:
    """Every session's bars laid out in `width` cells: label, time, then the bar
    (labels as wide as the longest, within bounds, so bars keep most of the room)."""
    all_lanes = lanes(report)
    scale = scale_ms(all_lanes)
    labels = {id(bar): to_display(bar.label(lang)) for lane in all_lanes for bar in lane.bars}
    room = width - MS_CELLS - 2
    longest = max((cells(text) for text in labels.values()), default=8)
    label_cells = max(8, min(MAX_LABEL_CELLS, room - MIN_BAR_CELLS, longest))
    bar_cells = max(8, room - label_cells)
    rows: list[Row] = []
    for lane in all_lanes:
        for bar in lane.bars:
            label = pad(clip(labels[id(bar)], label_cells), label_cells)
            rows.append(Row(lane.key, bar, f"{label} {ms_text(bar.ms):>{MS_CELLS}} ",
                            draw(bar, scale, bar_cells, ascii_only)))
        total = pad(say(lang, "timing_total"), label_cells)
        rows.append(Row(lane.key, None, f"{total} {ms_text(lane.total_ms):>{MS_CELLS}}"))
    return Waterfall(scale, bar_cells, tuple(rows))
