"""The plain-text report: what a pipe, `--plain` or a saved report gets.

Built from the folded transcript so it reads the same live or after the
fact. Every string that came from a server or from DNS passes through
`to_display` before it is placed in a line; colour, when enabled, wraps only
text this module wrote. Lines are wrapped to the terminal's width in cells
(80 for pipes and files), so Chinese labels do not overflow it.

Which steps get a full explanation is the verdict's decision (a step whose
outcome is not "ok"), not this module's. An explanation already printed in
this report is not printed again: the step says "same as above" and names
it, so two unknown recipients on two hosts cost one explanation, not four.
The report ends with the verdict block (`text_summary`): the results
matrix, the verdict and each problem with its fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge import Annotation

from ..core.events import CheckResult, Finding, Outcome, Step
from ..core.transcript import HostReport, Report
from ..sanitize import to_display
from .annotation import badge, sections, untranslated_note
from .text_style import INDENT, Style, host_title
from .text_summary import render_verdict
from .text_timing import render_timing
from .waterfall import ms_text
from .wrap import cells, wrap

__all__ = ["Printed", "Style", "render_report"]


@dataclass
class Printed:
    """What this report has already explained in full (so the next one refers to it)."""

    annotations: set[Annotation] = field(default_factory=set)


def _with_time(line: str, timing: str, width: int) -> str:
    gap = width - cells(line) - len(timing)
    return f"{line}{' ' * gap}{timing}" if gap >= 2 else f"{line}  {timing}"


def render_annotation(annotation: Annotation, style: Style, brief: bool,
                      printed: Printed | None = None) -> list[str]:
    """The badge and title; for a problem, every section under it, or a pointer
    to where the same explanation was already printed."""
    lines = style.wrap(f"{style.paint(badge(annotation), annotation.severity)} "
                       f"{annotation.title}", INDENT, INDENT + "  ")
    if brief:
        return lines
    if printed is not None:
        if annotation in printed.annotations:
            lines.append(INDENT + style.say("same_as_above", category=annotation.category))
            return lines
        printed.annotations.add(annotation)
    for section in sections(annotation, style.lang):
        lines += style.wrap(section.text, f"{INDENT}{section.label}: ", INDENT + "  ")
    note = untranslated_note(annotation, style.lang)
    if note:
        lines.append(INDENT + note)
    return lines


def _reply_lines(step: Step, style: Style, timing: str | None) -> list[str]:
    """`<- 250-...` lines; a line is wrapped only when it exceeds the width.

    `timing`, when given, is right-aligned on the first line if it fits there
    without breaking the server's text, else it gets a line of its own.
    """
    assert step.reply is not None
    code = str(step.reply.code)
    texts = step.reply.lines or ("",)
    lines: list[str] = []
    for index, text in enumerate(texts):
        sep = " " if index == len(texts) - 1 else "-"
        head = f"<- {code}{sep}"
        chunks = wrap(to_display(text), style.width, head)
        if timing and index == 0 and len(chunks) == 1:
            pad = style.width - cells(chunks[0]) - len(timing)
            if pad >= 2:
                chunks[0] += " " * pad + timing
                timing = None
        chunks[0] = f"<- {style.paint(code, code[0])}{sep}" + chunks[0][len(head):]
        lines += chunks
    if timing:
        lines.append(" " * (style.width - len(timing)) + timing)
    return lines


def render_step(step: Step, outcome: Outcome, style: Style,
                printed: Printed | None = None) -> list[str]:
    lines: list[str] = []
    timing = ms_text(step.elapsed_ms)
    if step.command is not None:
        lines.append(_with_time(f"-> {to_display(step.command)}", timing, style.width))
    if step.reply is not None:
        lines += _reply_lines(step, style, None if step.command is not None else timing)
    elif step.error is not None:
        label = f"!! {step.stage}: {step.error.kind}"
        lines.append(_with_time(label, timing, style.width).replace(
            label, style.paint(label, "error"), 1))
        lines += style.wrap(to_display(step.error.message), INDENT)
        partial = style.say("partial")
        for part in step.partial:
            lines += style.wrap(to_display(part), f"{INDENT}{partial}: ",
                                INDENT + " " * (cells(partial) + 2))
    else:
        lines.append(_with_time(f"   {step.stage}", timing, style.width))
    if step.annotation is not None and (step.reply is not None or step.error is not None):
        lines += render_annotation(step.annotation, style, outcome == "ok", printed)
    return lines


def render_finding(finding: Finding, style: Style, indent: str = "  ") -> list[str]:
    mark = {"error": "!!", "warning": "! ", "info": "i "}.get(finding.severity, "- ")
    text = finding.text(style.lang)
    lines = style.wrap(f"{style.paint(mark, finding.severity)} {to_display(text.message)}",
                       indent, indent + "   ")
    if text.fix and finding.severity != "info":
        lines += style.wrap(to_display(text.fix), indent + "   -> ", indent + "      ")
    return lines


def render_check(check: CheckResult, style: Style, indent: str = "  ") -> list[str]:
    """One health line: the check, its status and summary; the fix under warn and fail,
    then each other problem that needs action (`+`), with its fix."""
    text = check.headline.text(style.lang)
    where = f" [{check.host.address}]" if check.host is not None and check.host.address else ""
    head = f"{check.check}{where}"
    status = style.paint(f"{check.status:<4}", check.status)
    lines = style.wrap(to_display(text.message), f"{indent}{head:<10} {status} ",
                       indent + " " * 16)
    if text.fix and check.status in ("warn", "fail"):
        lines += style.wrap(to_display(text.fix), indent + " " * 16 + "-> ",
                            indent + " " * 19)
    for problem in check.also:
        more = problem.text(style.lang)
        lines += style.wrap(to_display(more.message), indent + " " * 16 + "+ ",
                            indent + " " * 18)
        if more.fix:
            lines += style.wrap(to_display(more.fix), indent + " " * 18 + "-> ",
                                indent + " " * 21)
    return lines


def sent_greetings(report: Report) -> list[str]:
    """The EHLO/HELO names really sent, in the order first seen (none if no session
    got that far): with no --helo each connection sends its own address literal."""
    names: dict[str, None] = {}
    for host in report.ordered_hosts():
        for step in host.steps:
            if step.stage in ("ehlo", "helo") and step.command:
                names[step.command.partition(" ")[2]] = None
    return list(names)


def render_header(report: Report, style: Style) -> list[str]:
    """The target, what was sent (MAIL FROM, RCPT TO, the EHLO names actually used)
    and the mail hosts found."""
    lines: list[str] = []
    started = report.started
    if started is not None:
        shown = to_display(started.domain)
        if started.domain_unicode and started.domain_unicode != started.domain:
            shown += f" ({to_display(started.domain_unicode)})"
        lines.append(style.paint(f"probe {shown or to_display(started.target)}", "bold"))
        rcpts = ", ".join(to_display(r) for r in started.rcpts)
        sent = f"MAIL FROM:<{to_display(started.mail_from)}>  RCPT TO: {rcpts}"
        greetings = sent_greetings(report)
        if greetings:
            sent += "  EHLO " + ", ".join(to_display(name) for name in greetings)
        lines += style.wrap(sent, "  ")
    mx = report.mx
    if mx is not None:
        lines.append(style.say("mx_heading", source=mx.source))
        for record in mx.records:
            pref = "-" if record.preference is None else str(record.preference)
            name = to_display(record.host)
            if record.host_unicode and record.host_unicode != record.host:
                name += f" ({to_display(record.host_unicode)})"
            addresses = ", ".join(to_display(a) for a in record.addresses) or \
                style.say("no_address")
            lines += style.wrap(f"{pref:>5} {name}  {addresses}", "  ", " " * 10)
    return lines


def _tls_text(host: HostReport, style: Style) -> str:
    tls = host.tls
    assert tls is not None
    text = f"TLS: {tls.version} {tls.cipher}"
    cert = tls.certificate
    if cert is not None:
        text += style.say(
            "tls_certificate", subject=cert.subject, issuer=cert.issuer, until=cert.not_after,
            name=style.say("tls_name_ok" if cert.hostname_match else "tls_name_mismatch"),
            verifies=style.say("tls_verifies" if cert.verify_error is None
                               else "tls_does_not_verify"))
    return text


def render_host(host: HostReport, style: Style, printed: Printed | None = None) -> list[str]:
    lines = ["", style.paint(f"== {host_title(host.key, style.lang)}", "bold")]
    attempt = 1
    for step, outcome in zip(host.steps, host.verdicts, strict=True):
        if step.attempt != attempt:
            attempt = step.attempt
            wait = f" after {host.retry.seconds:g} s" if host.retry else ""
            lines.append(style.paint(f"-- attempt {attempt}{wait} (greylisting retry) --",
                                     "bold"))
        lines += render_step(step, outcome, style, printed)
    if host.tls is not None:
        lines += style.wrap(to_display(_tls_text(host, style)), INDENT, INDENT + "  ")
    for finding in host.findings:
        lines += render_finding(finding, style, INDENT)
    if host.outcome is not None:
        said = style.say(f"outcome_{host.outcome}")
        lines.append(INDENT + style.paint(f"=> {said}", host.outcome))
    return lines


def render_health(report: Report, style: Style) -> list[str]:
    """The "Health" block: domain checks, then each host's, one line each."""
    results = report.all_checks()
    if not results:
        return []
    lines = ["", style.say("health_heading")]
    for check in results:
        lines += render_check(check, style)
    return lines


def render_footer(report: Report, style: Style, *, brief: bool = False,
                  timing: bool = False) -> list[str]:
    """After the hosts: timing (if asked), findings and health (unless brief), the verdict."""
    lines: list[str] = render_timing(report, style) if timing else []
    if not brief:
        if report.findings:
            lines += ["", style.say("findings_heading")]
            for finding in report.findings:
                lines += render_finding(finding, style)
        lines += render_health(report, style)
    return lines + render_verdict(report, style)


def render_report(report: Report, style: Style | None = None, *, brief: bool = False,
                  timing: bool = False) -> str:
    """The whole report as text (no colour unless a Style says so).

    `brief` keeps only the verdict block: the matrix, each problem with its
    fix, and the verdict; `timing` adds the waterfall of every session.
    """
    style = style or Style()
    lines: list[str] = []
    if not brief:
        lines += render_header(report, style)
        printed = Printed()
        for host in report.ordered_hosts():
            lines += render_host(host, style, printed)
    lines += render_footer(report, style, brief=brief, timing=timing)
    while lines and not lines[0]:
        lines.pop(0)
    return "\n".join(lines) + "\n"
