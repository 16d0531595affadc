"""The plain-text report: what a pipe, `--plain` or a saved report gets.

Built from the folded transcript so it reads the same live or after the
fact. Every string that came from a server or from DNS passes through
`to_display` before it is placed in a line; colour, when enabled, wraps only
text this module wrote. Lines are wrapped to the terminal's width in cells
(80 for pipes and files), so Chinese labels do not overflow it.

Which steps get a full explanation is the verdict's decision (a step whose
outcome is not "ok"), not this module's.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from knowledge import Annotation, labels

from ..core.events import CheckResult, Finding, Outcome, Step
from ..core.transcript import HostReport, Report
from ..sanitize import to_display
from .annotation import badge, sections, untranslated_note
from .wrap import cells, wrap

WIDTH = 80
INDENT = "   "

_COLORS = {"2": "32", "3": "36", "4": "33", "5": "31", "dim": "2", "bold": "1",
           "ok": "32", "transient": "33", "permanent": "31", "error": "31", "warning": "33",
           "info": "36", "pass": "32", "warn": "33", "fail": "31", "none": "2"}


@dataclass(frozen=True)
class Style:
    """How to draw: ANSI colour around our own text only (off for pipes and with
    NO_COLOR), the language of the labels, and the width in terminal cells."""

    color: bool = False
    lang: str = "en"
    width: int = WIDTH

    @property
    def labels(self) -> dict[str, str]:
        return labels(self.lang)

    def paint(self, text: str, kind: str) -> str:
        code = _COLORS.get(kind)
        if not self.color or not code:
            return text
        return f"\x1b[{code}m{text}\x1b[0m"

    def wrap(self, text: str, first: str, rest: str | None = None) -> list[str]:
        return wrap(text, self.width, first, rest)

    @classmethod
    def for_stream(cls, stream: object, lang: str = "en") -> Style:
        """Colour and the terminal's width for a terminal; 80 columns, no colour otherwise."""
        isatty = bool(getattr(stream, "isatty", lambda: False)())
        width = WIDTH
        if isatty:
            width = max(40, shutil.get_terminal_size((WIDTH, 24)).columns)
        return cls(isatty and "NO_COLOR" not in os.environ, lang, width)


def _ms(ms: float) -> str:
    return f"{ms:.0f} ms" if ms >= 1 else f"{ms:.1f} ms"


def _with_time(line: str, timing: str, width: int) -> str:
    gap = width - cells(line) - len(timing)
    return f"{line}{' ' * gap}{timing}" if gap >= 2 else f"{line}  {timing}"


def host_title(host: HostReport) -> str:
    key = host.key
    address = f"[{key.address}]" if key.address else "(no address)"
    pref = f", preference {key.preference}" if key.preference is not None else ""
    name = "" if key.host == key.address else f"{to_display(key.host)} "
    return f"{name}{address}:{key.port}{pref}"


def render_annotation(annotation: Annotation, style: Style, brief: bool) -> list[str]:
    """The badge and title; for a problem, every section under it."""
    lines = style.wrap(f"{style.paint(badge(annotation), annotation.severity)} "
                       f"{annotation.title}", INDENT, INDENT + "  ")
    if brief:
        return lines
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


def render_step(step: Step, outcome: Outcome, style: Style) -> list[str]:
    lines: list[str] = []
    timing = _ms(step.elapsed_ms)
    if step.command is not None:
        lines.append(_with_time(f"-> {to_display(step.command)}", timing, style.width))
    if step.reply is not None:
        lines += _reply_lines(step, style, None if step.command is not None else timing)
    elif step.error is not None:
        label = f"!! {step.stage}: {step.error.kind}"
        lines.append(_with_time(label, timing, style.width).replace(
            label, style.paint(label, "error"), 1))
        lines += style.wrap(to_display(step.error.message), INDENT)
        for part in step.partial:
            lines += style.wrap(to_display(part), INDENT + "partial: ", INDENT + "         ")
    else:
        lines.append(_with_time(f"   {step.stage}", timing, style.width))
    if step.annotation is not None and (step.reply is not None or step.error is not None):
        lines += render_annotation(step.annotation, style, brief=outcome == "ok")
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


def render_header(report: Report, style: Style) -> list[str]:
    lines: list[str] = []
    started = report.started
    if started is not None:
        shown = to_display(started.domain)
        if started.domain_unicode and started.domain_unicode != started.domain:
            shown += f" ({to_display(started.domain_unicode)})"
        lines.append(style.paint(f"probe {shown or to_display(started.target)}", "bold"))
        rcpts = ", ".join(to_display(r) for r in started.rcpts)
        lines += style.wrap(f"MAIL FROM:<{to_display(started.mail_from)}>  RCPT TO: {rcpts}  "
                            f"EHLO {to_display(started.helo) or '[local address]'}", "  ")
    mx = report.mx
    if mx is not None:
        lines.append(f"MX ({mx.source}):")
        for record in mx.records:
            pref = "-" if record.preference is None else str(record.preference)
            name = to_display(record.host)
            if record.host_unicode and record.host_unicode != record.host:
                name += f" ({to_display(record.host_unicode)})"
            addresses = ", ".join(to_display(a) for a in record.addresses) or "no address"
            lines += style.wrap(f"{pref:>5} {name}  {addresses}", "  ", " " * 10)
    return lines


def render_host(host: HostReport, style: Style) -> list[str]:
    lines = ["", style.paint(f"== {host_title(host)}", "bold")]
    attempt = 1
    for step, outcome in zip(host.steps, host.verdicts, strict=True):
        if step.attempt != attempt:
            attempt = step.attempt
            wait = f" after {host.retry.seconds:g} s" if host.retry else ""
            lines.append(style.paint(f"-- attempt {attempt}{wait} (greylisting retry) --",
                                     "bold"))
        lines += render_step(step, outcome, style)
    if host.tls is not None:
        tls = host.tls
        text = f"TLS: {tls.version} {tls.cipher}"
        cert = tls.certificate
        if cert is not None:
            text += (f"; certificate {cert.subject}, issued by {cert.issuer}, valid until "
                     f"{cert.not_after}; name {'matches' if cert.hostname_match else 'MISMATCH'}"
                     f"; {'verifies' if cert.verify_error is None else 'does not verify'}")
        lines += style.wrap(to_display(text), INDENT, INDENT + "  ")
    for finding in host.findings:
        lines += render_finding(finding, style, INDENT)
    if host.outcome is not None:
        lines.append(INDENT + style.paint(f"=> {host.outcome}", host.outcome))
    return lines


def verdict_line(report: Report, style: Style) -> str:
    done = report.done
    if done is None:
        return "Verdict: incomplete"
    hosts = report.ordered_hosts()
    counts = {o: sum(1 for h in hosts if h.outcome == o) for o in ("ok", "transient", "permanent")}
    summary = ", ".join(f"{n} {o}" for o, n in counts.items() if n) or "no host probed"
    return (f"Verdict: {style.paint(done.outcome, done.outcome)} "
            f"({summary}; exit {done.exit_code})")


def render_health(report: Report, style: Style) -> list[str]:
    """The "Health" block: domain checks, then each host's, one line each."""
    results = report.all_checks()
    if not results:
        return []
    lines = ["", "Health:"]
    for check in results:
        lines += render_check(check, style)
    return lines


def render_footer(report: Report, style: Style) -> list[str]:
    lines: list[str] = []
    if report.findings:
        lines += ["", "Findings:"]
        for finding in report.findings:
            lines += render_finding(finding, style)
    lines += render_health(report, style)
    lines += ["", verdict_line(report, style)]
    return lines


def render_report(report: Report, style: Style | None = None) -> str:
    """The whole report as text (no colour unless a Style says so)."""
    style = style or Style()
    lines = render_header(report, style)
    for host in report.ordered_hosts():
        lines += render_host(host, style)
    lines += render_footer(report, style)
    return "\n".join(lines) + "\n"
