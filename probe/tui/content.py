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
from probe.present.annotation import sections, untranslated_note
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


def _head(stage: str, command: str | None) -> Content:
    if command:
        return Content.assemble(("-> ", "$text-muted"), (safe(command), "bold"))
    return Content.assemble(("·· ", "$text-muted"), (stage, "$text-muted italic"))


def reply_lines(reply: Reply) -> list[Content]:
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
            out.append(Content.styled("   ⚠ control characters, shown escaped",
                                      "$text-warning"))
    for oddity in reply.oddities:
        out.append(Content.styled(f"   ⚠ {safe(oddity)}", "$text-warning"))
    return out


def step_content(step: Step) -> Content:
    """One transcript entry: the command, every reply line, timing, errors."""
    head = _head(step.stage, step.command)
    head = head + Content.styled(f"  {_elapsed(step.elapsed_ms)}", "$text-muted")
    lines: list[Content] = [head]
    if step.reply is not None:
        lines.extend(reply_lines(step.reply))
    lines.extend(Content.assemble(("<~ ", "$text-muted"), (safe(p), "$text-muted italic"))
                 for p in step.partial)
    if step.error is not None:
        lines.append(Content.assemble(
            ("!! ", "bold $text-error"),
            (f"{step.error.kind}: ", "bold $text-error"),
            (safe(step.error.message), "$text-error"),
        ))
    return Content("\n").join(lines)


def pending_content(started: StepStarted, elapsed_s: float, frame: int) -> Content:
    """The step still waiting for its reply: spinner and elapsed time."""
    head = _head(started.stage, started.command)
    spin = SPINNER[frame % len(SPINNER)]
    return head + Content.styled(f"  {spin} {elapsed_s:.1f} s", "bold $text-primary")


def _section(label: str, text: str) -> Content:
    return Content.assemble((f"{label}: ", "bold"), text)


def annotation_parts(ann: Annotation, lang: str, code: str,
                     context: str = "") -> list[Content]:
    """Badge line, title and the labelled sections of one annotation."""
    badge_style = SEVERITY_STYLE.get(ann.severity, "bold reverse")
    badge = Content.styled(f" {safe(ann.category)} ", badge_style)
    severity = "" if ann.severity == ann.category else f" {ann.severity}"
    parts = [Content.assemble(badge, (severity, "italic"), "  ", (code, "bold"),
                              "  ", (context, "$text-muted"))]
    parts.append(Content.styled(safe(ann.title), "bold"))
    if ann.enhanced and ann.enhanced_title:
        parts.append(Content.assemble((safe(ann.enhanced), "bold"), " ", safe(ann.enhanced_title)))
    for section in sections(ann, lang):
        if section.key == "doc_url":
            parts.append(Content.assemble(
                (f"{section.label}: ", "bold"),
                (safe(section.text), Style(underline=True, link=safe(section.text))),
            ))
        else:
            parts.append(_section(section.label, safe(section.text)))
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
        return Content.styled("No reply code found in that text.", "$text-muted")
    return Content("\n\n").join(blocks)


def explanation_content(step: Step | None, labels: dict[str, str], lang: str) -> Content:
    """The explanation panel for one step: badge, meaning, when, fix, source."""
    if step is None:
        return Content.styled("Select a reply to see what it means.", "$text-muted")
    parts: list[Content] = []
    ann: Annotation | None = step.annotation
    reply = step.reply
    code = ""
    if reply is not None:
        code = f"{reply.code}" + (f" {reply.enhanced}" if reply.enhanced else "")
    if ann is not None:
        parts.extend(annotation_parts(ann, lang, code, step.stage))
    elif reply is not None:
        parts.append(Content.assemble((code, "bold"), "  ", (step.stage, "$text-muted")))
    if step.error is not None:
        parts.append(Content.assemble(
            (f" {step.error.kind} ", "bold $text on $error"), " ", safe(step.error.message)))
    if reply is not None and reply.oddities:
        parts.extend(Content.styled(f"⚠ {safe(o)}", "$text-warning") for o in reply.oddities)
    if not parts and step.stage == "connect":
        parts.append(Content(f"TCP connection established in {_elapsed(step.elapsed_ms)}."))
    if not parts:
        parts.append(Content.styled("No reply and no explanation for this step.", "$text-muted"))
    return Content("\n").join(parts)


def tls_content(tls: TlsInfo) -> Content:
    """A short line about the negotiated TLS session and certificate."""
    parts = [Content.assemble(("TLS ", "bold"), safe(tls.version), " ", safe(tls.cipher))]
    cert = tls.certificate
    if cert is not None:
        flags = []
        if cert.expired:
            flags.append("expired")
        if cert.self_signed:
            flags.append("self-signed")
        if not cert.hostname_match:
            flags.append("name mismatch")
        if cert.verify_error:
            flags.append(safe(cert.verify_error))
        style = "$text-warning" if flags else "$text-success"
        parts.append(Content.assemble(
            ("cert ", "bold"), safe(cert.subject), " → ", safe(cert.not_after), " ",
            (", ".join(flags) if flags else "valid", style),
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
                     lang: str = "en", checks: Iterable[CheckResult] = ()) -> Content:
    """Findings (DNS, certificates, injection, port 25), worst first, then health checks."""
    order = {"error": 0, "warning": 1, "info": 2}
    rows = sorted(findings, key=lambda pair: order.get(pair[0].severity, 3))
    lines: list[Content] = []
    if failure:
        lines.append(Content.assemble(("✖ internal error: ", "bold $text-error"), safe(failure)))
    for finding, host in rows:
        icon, style = FINDING_STYLE.get(finding.severity, ("•", ""))
        where = Content.styled(f"{safe(host.host)}: ", "$text-muted") if host else Content("")
        lines.append(Content.assemble((f"{icon} ", style), where,
                                      safe(finding.text(lang).message)))
    if tls is not None:
        lines.append(tls_content(tls))
    lines.extend(check_line(check, lang) for check in checks if check.status != "pass")
    if not lines:
        return Content.styled("No findings.", "$text-muted")
    return Content("\n").join(lines)

