"""`--timing`: the waterfall of every session in the plain report.

One line per step: its name, its time, and its bar on the scale shared by
all sessions (`waterfall`). Block characters, or `#` under TERM=dumb.
"""

from __future__ import annotations

from ..core.transcript import Report
from .text_style import INDENT, Style, host_title
from .waterfall import layout, ms_text


def render_timing(report: Report, style: Style) -> list[str]:
    drawn = layout(report, style.width - len(INDENT), style.lang, style.ascii_only)
    if not drawn.rows:
        return []
    lines = ["", style.say("timing_heading", scale=ms_text(drawn.scale_ms),
                           cells=drawn.bar_cells)]
    key = None
    for row in drawn.rows:
        if row.key != key:
            key = row.key
            lines.append(style.paint(f"== {host_title(key, style.lang)}", "bold"))
        bar = style.paint(row.drawn, row.outcome) if row.outcome != "ok" else row.drawn
        lines.append(f"{INDENT}{row.text}{bar}".rstrip())
    return lines
