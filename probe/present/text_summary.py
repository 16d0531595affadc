"""The verdict block of the plain report: the results matrix, the verdict, the fixes.

It is the end of the report, so at 80x24 it is what stays on the screen:
which recipient got what on which host, the verdict, and for each problem
in words where it happened and how to fix it. `--brief` prints only this.
The decisions (cells, grouping, sentences) are `matrix`'s; this only lays
them out in terminal cells, splitting the columns into blocks when they do
not fit the width.
"""

from __future__ import annotations

from ..core.events import HostKey
from ..core.transcript import Report
from ..sanitize import to_display
from .matrix import (
    Cell,
    Issue,
    Matrix,
    all_accepted,
    build_matrix,
    find_issues,
    issue_text,
    verdict_findings,
)
from .text_style import Style
from .wrap import cells, clip, pad

MAX_RCPT_CELLS = 32
MAX_COLUMN_CELLS = 28
GAP = "  "
MARKS = {"permanent": "!!", "transient": "! ", "error": "!!", "warning": "! ", "info": "i "}


def _column_head(key: HostKey, style: Style) -> tuple[str, str]:
    """Two header lines of a column: the host name, then its address."""
    address = to_display(key.address) if key.address else style.say("no_address")
    if key.host == key.address:
        return address, ""
    return to_display(key.host), address


def _cell_text(cell: Cell, style: Style) -> str:
    return to_display(cell.label(style.lang))


def _blocks(widths: list[int], room: int) -> list[list[int]]:
    """Column indexes in blocks that each fit `room` cells (at least one per block)."""
    blocks: list[list[int]] = [[]]
    used = 0
    for index, width in enumerate(widths):
        if blocks[-1] and used + len(GAP) + width > room:
            blocks.append([])
            used = 0
        blocks[-1].append(index)
        used += len(GAP) + width
    return blocks


def render_matrix(matrix: Matrix, style: Style, heading: str) -> list[str]:
    """The table: one row per recipient, one column per session."""
    if not matrix.columns or not matrix.rows:
        return []
    rcpts = [clip(to_display(r), MAX_RCPT_CELLS) for r in matrix.rcpts]
    label_width = max(cells(r) for r in rcpts)
    heads = [_column_head(key, style) for key in matrix.columns]
    texts = [[_cell_text(cell, style) for cell in row] for row in matrix.rows]
    widths = [min(MAX_COLUMN_CELLS, max(cells(heads[j][0]), cells(heads[j][1]),
                                         *(cells(row[j]) for row in texts)))
              for j in range(len(heads))]
    two_lines = any(second for _, second in heads)
    lines = ["", heading]
    for block in _blocks(widths, style.width - 2 - label_width):
        top = "  " + " " * label_width
        bottom = top
        for j in block:
            top += GAP + pad(clip(heads[j][0], widths[j]), widths[j])
            bottom += GAP + pad(clip(heads[j][1], widths[j]), widths[j])
        lines.append(top.rstrip())
        if two_lines:
            lines.append(bottom.rstrip())
        for i, row in enumerate(matrix.rows):
            line = "  " + pad(rcpts[i], label_width)
            for j in block:
                text = pad(clip(texts[i][j], widths[j]), widths[j])
                outcome = row[j].outcome
                line += GAP + (style.paint(text, outcome) if outcome not in (None, "ok")
                               else text)
            lines.append(line.rstrip())
    return lines


def _fix_lines(issue: Issue, style: Style) -> list[str]:
    annotation = issue.step.annotation
    if annotation is None:
        return []
    lines: list[str] = []
    if annotation.fix:
        lines += style.wrap(annotation.fix, "   -> ", "      ")
    if annotation.fix_admin and annotation.fix_admin != annotation.fix:
        lines += style.wrap(annotation.fix_admin,
                            f"   -> {style.say('fix_admin_short')}: ", "      ")
    return lines


def render_problems(report: Report, matrix: Matrix, style: Style) -> list[str]:
    """Each problem in words (worst first) with its fix, then the run-level findings
    and failed checks that explain the outcome or the exit code."""
    lines: list[str] = []
    for issue in find_issues(report, matrix):
        mark = style.paint(MARKS[issue.outcome], issue.outcome)
        lines += style.wrap(to_display(issue_text(issue, matrix, style.lang)), f"{mark} ",
                            "   ")
        lines += _fix_lines(issue, style)
    for finding in verdict_findings(report):
        text = finding.text(style.lang)
        mark = style.paint(MARKS[finding.severity], finding.severity)
        lines += style.wrap(to_display(text.message), f"{mark} ", "   ")
        if text.fix:
            lines += style.wrap(to_display(text.fix), "   -> ", "      ")
    if report.done is not None and report.done.exit_code == 3:  # --strict: a check failed
        for check in report.all_checks():
            if check.status == "fail":
                text = check.headline.text(style.lang)
                lines += style.wrap(to_display(f"{check.check}: {text.message}"),
                                    f"{style.paint('!!', 'fail')} ", "   ")
                if text.fix:
                    lines += style.wrap(to_display(text.fix), "   -> ", "      ")
    return lines


def render_verdict(report: Report, style: Style) -> list[str]:
    """The results matrix, the verdict line, then each problem with its fix."""
    matrix = build_matrix(report)
    started = report.started
    target = started.domain or started.target if started else ""
    lines = render_matrix(matrix, style, style.say("results_heading",
                                                   target=to_display(target)))
    done = report.done
    lines.append("")
    if done is None:
        lines.append(style.say("verdict_incomplete"))
        return lines
    outcome = style.paint(style.say(f"outcome_{done.outcome}"), done.outcome)
    verdict = style.say("verdict", outcome=outcome, exit=done.exit_code)
    if done.exit_code == 0 and all_accepted(matrix):
        verdict += style.say("verdict_all_accepted")
    lines.append(verdict)
    return lines + render_problems(report, matrix, style)
