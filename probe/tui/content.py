"""Builders that turn events into styled `Content` for the widgets.

Every string that came from a server or from DNS goes through `to_display`
here and is placed into a `Content` as *text*; styles come only from this
module. Nothing here builds a markup string, so a banner such as
`[@click=app.quit]` or `\\x1b]0;title\\x07` can only ever be shown literally
(`textual.markup.escape` is not enough, and ESC survives Content).
What an annotation says, and in which order, comes from `probe.present`.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.content import Content
from textual.style import Style

from knowledge import Annotation
from knowledge.model import Explained
from probe.core.events import CheckResult, Finding, HostKey, Step, StepStarted, TlsInfo
from probe.core.reply import Reply
from probe.core.transcript import Report
from probe.present.annotation import sections, untranslated_note
from probe.present.waterfall import layout, ms_text
from probe.present.words import say, stage_name
from probe.sanitize import to_display

MAX_LINE = 2000  # a 100 kB "line" would make every redraw slow; say it was cut
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

CLASS_STYLE: dict[int, str] = {
    2: "$text-success",
    3: "$text-primary",
    4: "$text-warning",
    5: "$text-error",
}
SEVERITY_STYLE: dict[str, str] = {
    "ok": "bold $text on $success",
    "info": "bold $text on $primary",
    "warning": "bold $text on $warning",
    "transient": "bold $text on $warning",
    "permanent": "bold $text on $error",
}
FINDING_STYLE: dict[str, tuple[str, str]] = {
    "error": ("✖", "$text-error"),
    "warning": ("⚠", "$text-warning"),
    "info": ("•", "$text-primary"),
}


def safe(value: str | bytes) -> str:
    """Untrusted text as it may be shown: escaped and bounded."""
    return to_display(value, limit=MAX_LINE)


def host_name(key: HostKey) -> str:
    """`mx1.example.com (192.0.2.10)` in display-safe form."""
    address = key.address if key.address is not None else "no address"
    port = "" if key.port == 25 else f":{key.port}"
    return f"{safe(key.host)} ({safe(address)}{port})"


def _elapsed(ms: float) -> str:
    return f"{ms:.0f} ms" if ms >= 10 else f"{ms:.1f} ms"


def _head(stage: str, command: str | None, lang: str) -> Content:
    if command:
        return Content.assemble(("-> ", "$text-muted"), (safe(command), "bold"))
    return Content.assemble(("·· ", "$text-muted"), (stage_name(lang, stage), "$text-muted italic"))


def reply_lines(reply: Reply, lang: str = "en") -> list[Content]:
    """`<- 250-text` lines, coloured by class, enhanced code highlighted."""
    colour = CLASS_STYLE.get(reply.code_class, "")
    out: list[Content] = []
    last = len(reply.lines) - 1
    for index, raw in enumerate(reply.lines or ("",)):
        text = safe(raw)
        sep = " " if index >= last else "-"
        line = Content.assemble(("<- ", "$text-muted"), (f"{reply.code}{sep}", f"bold {colour}"))
        if reply.enhanced and index == 0 and text.lstrip().startswith(reply.enhanced):
            lead = len(text) - len(text.lstrip())
            end = lead + len(reply.enhanced)
            line = line + Content.assemble(
                text[:lead], (text[lead:end], f"bold reverse {colour}"), (text[end:], colour),
            )
        else:
            line = line + Content.styled(text, colour)
        out.append(line)
        if text != raw:
            out.append(Content.styled("   " + say(lang, "escaped_controls"), "$text-warning"))
    for oddity in reply.oddities:
        out.append(Content.styled(f"   ⚠ {safe(oddity)}", "$text-warning"))
    return out


def step_content(step: Step, lang: str = "en") -> Content:
    """One transcript entry: the command, every reply line, timing, errors."""
    head = _head(step.stage, step.command, lang)
    head = head + Content.styled(f"  {_elapsed(step.elapsed_ms)}", "$text-muted")
    lines: list[Content] = [head]
    if step.reply is not None:
        lines.extend(reply_lines(step.reply, lang))
    lines.extend(Content.assemble(("<~ ", "$text-muted"), (safe(p), "$text-muted italic"))
                 for p in step.partial)
    if step.error is not None:
        lines.append(Content.assemble(
            ("!! ", "bold $text-error"),
            (f"{step.error.kind}: ", "bold $text-error"),
            (safe(step.error.message), "$text-error"),
        ))
    return Content("\n").join(lines)


def pending_content(started: StepStarted, elapsed_s: float, frame: int,
                    lang: str = "en") -> Content:
    """The step still waiting for its reply: spinner and elapsed time."""
    head = _head(started.stage, started.command, lang)
    spin = SPINNER[frame % len(SPINNER)]
    return head + Content.styled(f"  {spin} {elapsed_s:.1f} s", "bold $text-primary")


def _section(label: str, text: str) -> Content:
    return Content.assemble((f"{label}: ", "bold"), text)


def annotation_parts(ann: Annotation, lang: str, code: str,
                     context: str = "") -> list[Content]:
    """Category badge, title, then the fixes, then the rest of the sections.

    In this order so that a small pane (80x24) shows what it is and what to
    do before anything needs scrolling.
    """
    badge_style = SEVERITY_STYLE.get(ann.severity, "bold reverse")
    badge = Content.styled(f" {safe(ann.category)} ", badge_style)
    severity = "" if ann.severity == ann.category else f" {ann.severity}"
    parts = [Content.assemble(badge, (severity, "italic"), "  ", (code, "bold"),
                              "  ", (context, "$text-muted"))]
    parts.append(Content.styled(safe(ann.title), "bold"))
    enhanced = None
    if ann.enhanced and ann.enhanced_title:
        enhanced = Content.assemble((safe(ann.enhanced), "bold"), " ", safe(ann.enhanced_title))
    for section in sections(ann, lang):
        if enhanced is not None and section.key not in ("fix", "fix_admin"):
            parts.append(enhanced)  # the enhanced code's name: detail, after the fixes
            enhanced = None
        if section.key == "doc_url":
            parts.append(Content.assemble(
                (f"{section.label}: ", "bold"),
                (safe(section.text), Style(underline=True, link=safe(section.text))),
            ))
        else:
            parts.append(_section(section.label, safe(section.text)))
    if enhanced is not None:
        parts.append(enhanced)
    note = untranslated_note(ann, lang)
    if note:
        parts.append(Content.styled(note, "$text-muted"))
    return parts


def explained_content(found: Iterable[Explained], lang: str) -> Content:
    """What `probe explain` says about pasted text, for the knowledge browser."""
    blocks: list[Content] = []
    for item in found:
        code = " ".join(x for x in (str(item.code or ""), item.enhanced or "") if x)
        parts = annotation_parts(item.annotation, lang, code, item.stage or "")
        if item.text:
            parts.insert(1, Content.assemble(("“", "$text-muted"), safe(item.text),
                                             ("”", "$text-muted")))
        blocks.append(Content("\n").join(parts))
    if not blocks:
        return Content.styled(say(lang, "kb_nothing"), "$text-muted")
    return Content("\n\n").join(blocks)


def explanation_content(step: Step | None, labels: dict[str, str], lang: str) -> Content:
    """The explanation panel for one step: badge, title, fixes, then the rest."""
    if step is None:
        return Content.styled(say(lang, "select_a_reply"), "$text-muted")
    parts: list[Content] = []
    ann: Annotation | None = step.annotation
    reply = step.reply
    code = ""
    if reply is not None:
        code = f"{reply.code}" + (f" {reply.enhanced}" if reply.enhanced else "")
    if ann is not None:
        parts.extend(annotation_parts(ann, lang, code, stage_name(lang, step.stage)))
    elif reply is not None:
        parts.append(Content.assemble((code, "bold"), "  ",
                                      (stage_name(lang, step.stage), "$text-muted")))
    if step.error is not None:
        parts.insert(min(2, len(parts)), Content.assemble(
            (f" {step.error.kind} ", "bold $text on $error"), " ", safe(step.error.message)))
    if reply is not None and reply.oddities:
        parts.extend(Content.styled(f"⚠ {safe(o)}", "$text-warning") for o in reply.oddities)
    if not parts and step.stage == "connect":
        parts.append(Content(say(lang, "connected_in", ms=_elapsed(step.elapsed_ms))))
    if not parts:
        parts.append(Content.styled(say(lang, "no_reply_no_explanation"), "$text-muted"))
    return Content("\n").join(parts)


def tls_content(tls: TlsInfo, lang: str = "en") -> Content:
    """A short line about the negotiated TLS session and certificate."""
    parts = [Content.assemble(("TLS ", "bold"), safe(tls.version), " ", safe(tls.cipher))]
    cert = tls.certificate
    if cert is not None:
        flags = []
        if cert.expired:
            flags.append(say(lang, "tls_expired"))
        if cert.self_signed:
            flags.append(say(lang, "tls_self_signed"))
        if not cert.hostname_match:
            flags.append(say(lang, "tls_mismatch"))
        if cert.verify_error:
            flags.append(safe(cert.verify_error))
        style = "$text-warning" if flags else "$text-success"
        parts.append(Content.assemble(
            (say(lang, "tls_cert") + " ", "bold"), safe(cert.subject), " → ",
            safe(cert.not_after), " ",
            (", ".join(flags) if flags else say(lang, "tls_valid"), style),
        ))
    return Content("\n").join(parts)


CHECK_STYLE: dict[str, tuple[str, str]] = {
    "pass": ("✔", "$text-success"),
    "warn": ("⚠", "$text-warning"),
    "fail": ("✖", "$text-error"),
    "none": ("·", "$text-muted"),
    "error": ("?", "$text-warning"),
}


def check_line(check: CheckResult, lang: str) -> Content:
    """`✖ spf  summary` for one health check (the Health panel's rows), then a `+` row for
    each other problem that needs action."""
    icon, style = CHECK_STYLE.get(check.status, ("•", ""))
    where = f" {safe(check.host.address)}" if check.host and check.host.address else ""
    line = Content.assemble((f"{icon} ", style), (f"{check.check}{where}: ", "bold"),
                            safe(check.headline.text(lang).message))
    more = [Content.assemble(("  + ", style), safe(p.text(lang).message)) for p in check.also]
    return Content("\n").join([line, *more])


def findings_content(findings: Iterable[tuple[Finding, HostKey | None]],
                     tls: TlsInfo | None = None, failure: str | None = None,
                     lang: str = "en") -> Content:
    """Findings (DNS, certificates, injection, port 25), worst first, then the TLS line."""
    order = {"error": 0, "warning": 1, "info": 2}
    rows = sorted(findings, key=lambda pair: order.get(pair[0].severity, 3))
    lines: list[Content] = []
    if failure:
        lines.append(Content.assemble(("✖ " + say(lang, "internal_error"), "bold $text-error"),
                                      safe(failure)))
    for finding, host in rows:
        icon, style = FINDING_STYLE.get(finding.severity, ("•", ""))
        where = Content.styled(f"{safe(host.host)}: ", "$text-muted") if host else Content("")
        lines.append(Content.assemble((f"{icon} ", style), where,
                                      safe(finding.text(lang).message)))
    if tls is not None:
        lines.append(tls_content(tls, lang))
    if not lines:
        return Content.styled(say(lang, "no_findings"), "$text-muted")
    return Content("\n").join(lines)


def health_content(checks: Iterable[CheckResult], lang: str = "en") -> Content:
    """The Health panel: every check, worst first, with the fix under warn and fail."""
    rank = {"fail": 0, "warn": 1, "error": 2, "none": 3, "pass": 4}
    lines: list[Content] = []
    for check in sorted(checks, key=lambda c: rank.get(c.status, 2)):
        lines.append(check_line(check, lang))
        fix = check.headline.text(lang).fix
        if fix and check.status in ("warn", "fail"):
            lines.append(Content.assemble(("  → ", "$text-muted"), safe(fix)))
    return Content("\n").join(lines)


TIMING_STYLE: dict[str, str] = {"ok": "$text-success", "transient": "$text-warning",
                                "permanent": "$text-error"}


def timing_content(report: Report, width: int, lang: str,
                   selected: HostKey | None = None) -> tuple[Content, int]:
    """The waterfall of every session on one scale, and the line where the
    selected session's lane starts (its title stands out)."""
    drawn = layout(report, width, lang)
    if not drawn.rows:
        return Content.styled(say(lang, "select_a_reply"), "$text-muted"), 0
    lines = [Content.styled(say(lang, "timing_scale", scale=ms_text(drawn.scale_ms)),
                            "$text-muted")]
    key, start = None, 0
    for row in drawn.rows:
        if row.key != key:
            key = row.key
            if key == selected:
                start = len(lines)
            lines.append(Content.styled(host_name(key),
                                        "bold reverse" if key == selected else "bold"))
        if row.bar is None:
            lines.append(Content.styled(row.text, "italic $text-muted"))
        else:
            lines.append(Content.assemble(row.text, (row.drawn, TIMING_STYLE[row.outcome])))
    return Content("\n").join(lines), start
