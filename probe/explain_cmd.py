"""`probe explain` and `probe compare`: the offline commands.

Both only format what `knowledge` returns. Everything the user pasted is
untrusted (it may come from a hostile server's bounce) and goes through
`probe.sanitize.to_display` before it reaches the terminal; texts from our own
data files are printed as they are. Annotations are laid out with the same
sections and serialised with the same dict as the probe's own report, and
wrapped by terminal cells (so Chinese lines fit too).
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from knowledge import (
    Annotation,
    CodeFacts,
    Explained,
    compare,
    explain_text,
    labels,
    resolve_lang,
)
from knowledge.compare import parse_spec
from knowledge.i18n import table

from .core.exit_status import ExitStatus
from .present.annotation import annotation_dict, sections, untranslated_note
from .present.wrap import fill
from .sanitize import to_display

WIDTH = 80
INDENT = "  "


def _para(text: str, indent: str = INDENT) -> str:
    return fill(text, WIDTH, indent, indent)


def explained_json(item: Explained) -> dict[str, Any]:
    """One reply: code, enhanced, text, then the annotation's keys, then the stage and
    the recipient a log line named (null when the input did not say).

    The key is `log_recipient`, not `recipient`: a `recipient` key marks the
    per-recipient objects of a bounce, which carry action, status and evidence too.
    """
    return {"code": item.code, "enhanced": item.enhanced, "text": item.text,
            **annotation_dict(item.annotation), "stage": item.stage,
            "log_recipient": item.recipient}


def _body(lines: list[str], ann: Annotation, lang: str) -> None:
    """Every section but the references, then the category line and the references."""
    refs = []
    for section in sections(ann, lang):
        if section.key in ("source", "doc_url"):
            refs.append(section.text)
            continue
        lines.append(section.label)
        lines.append(_para(section.text))
    lab = labels(lang)
    cats, sevs = table(lang, "categories"), table(lang, "severities")
    cat_name = cats.get(ann.category, ann.category)
    cat = ann.category if cat_name == ann.category else f"{ann.category} ({cat_name})"
    lines.append(fill(
        f"{lab['category']}: {cat} · {lab['severity']}: {sevs.get(ann.severity, ann.severity)}",
        WIDTH, "", INDENT))
    if refs:
        lines.append(fill(f"{lab['learn_more']}: {' · '.join(refs)}", WIDTH, "", INDENT))
    note = untranslated_note(ann, lang)
    if note:
        lines.append(note)


def render_explained(item: Explained, lang: str) -> str:
    """Plain-text block for one reply, at most 80 columns wide (URLs aside)."""
    lab = labels(lang)
    ann = item.annotation
    lines: list[str] = []
    head_parts = [str(item.code)] if item.code is not None else []
    body_lines = item.text.split("\n") if item.text else []
    if item.enhanced and not (body_lines and body_lines[0].lstrip().startswith(item.enhanced)):
        head_parts.append(item.enhanced)
    first = " ".join([*head_parts, to_display(body_lines[0]) if body_lines else ""]).strip()
    lines.append(fill(first, WIDTH, "", INDENT * 2))
    for extra in body_lines[1:]:
        lines.append(_para(to_display(extra), INDENT * 2))
    title = ann.title
    if ann.enhanced and ann.enhanced_title and ann.enhanced_title != ann.title:
        title = f"{title} [{ann.enhanced}: {ann.enhanced_title}]"
    lines.append(fill(f"=> {title}", WIDTH, "", "   "))
    if item.recipient:
        lines.append(fill(f"{lab['recipient']}: {to_display(item.recipient, limit=200)}",
                          WIDTH, "", INDENT))
    if item.stage:
        lines.append(f"{lab['stage']}: {table(lang, 'stages').get(item.stage, item.stage)}")
    lines.append("")
    _body(lines, ann, lang)
    return "\n".join(lines)


def explain_main(
    replies: list[str], *, as_json: bool, lang: str | None, out: TextIO, stdin: TextIO
) -> int:
    """Explain the reply given as words, or what stdin (`-`) or a file holds.

    Positional words are joined with spaces and read as one reply. With `-` or
    a file path, a whole bounce message or an mbox is explained per failed
    recipient (`explain_bounce`); a log excerpt, reply by reply. `--json` prints
    one object for one reply, a JSON array for several replies, and always an
    array for a bounce. Text without any reply code is read from its wording
    when that names a known cause (a one-element array, like a bounce).
    Returns 64 with a message on stderr when the input holds no reply code and
    no known wording, or the file cannot be read.
    """
    language = resolve_lang(lang)
    from . import explain_bounce  # a message, an mbox or a file: one result per recipient
    try:
        source = explain_bounce.read_source(replies, stdin)
    except explain_bounce.UnreadableInput as exc:
        print(f"probe explain: {exc}", file=sys.stderr)
        return ExitStatus.USAGE
    if source is not None:
        from knowledge.bounce import explain_input  # the email package: only for messages
        from knowledge.outlook_msg import UnreadableMsg

        try:
            result = explain_input(source, language)
        except UnreadableMsg as exc:
            print(f"probe explain: {to_display(str(exc), limit=200)}", file=sys.stderr)
            return ExitStatus.USAGE
        if result.truncated:  # a bounce or a long log alike
            explain_bounce.say_truncated(language)
        # An Outlook file's bytes are no words to quote back in an error.
        text = "" if result.kind == "outlook" else source.decode("utf-8", "surrogateescape")
        if result.failures:
            explain_bounce.render_bounce(result, as_json=as_json, lang=language, out=out)
            return ExitStatus.OK
        found = list(result.replies)
    else:
        text = " ".join(replies)
        found = explain_text(text, language)
        if not found:  # no code: the words of a notice may still name a known cause
            from knowledge.bounce import explain_input

            result = explain_input(text, language)
            if result.failures:
                explain_bounce.render_bounce(result, as_json=as_json, lang=language, out=out)
                return ExitStatus.OK
    if not found:
        lab = labels(language)
        shown = to_display(text.strip(), limit=60)
        tail = f": {shown!s}" if shown else ""
        print(f"probe explain: {lab['no_code_found']}{tail}", file=sys.stderr)
        return ExitStatus.USAGE
    if as_json:
        docs = [explained_json(item) for item in found]
        json.dump(docs[0] if len(docs) == 1 else docs, out, indent=2)
        out.write("\n")
        return ExitStatus.OK
    blocks = [render_explained(item, language) for item in found]
    if len(blocks) > 1:
        out.write(f"{len(blocks)} {labels(language)['replies_found']}\n\n")
    out.write("\n\n".join(blocks) + "\n")
    return ExitStatus.OK


# ---------------------------------------------------------------- compare

def _facts_json(f: CodeFacts) -> dict[str, Any]:
    return {
        "code": f.code, "kind": f.kind, "class": f.class_digit, "class_name": f.class_name,
        "retry": f.retry, "actor": f.actor, "stages": list(f.stages), "use_when": f.use_when,
        **annotation_dict(f.annotation),
    }


def _render_side(lines: list[str], f: CodeFacts, lang: str, lab: dict[str, str]) -> None:
    ann = f.annotation
    lines.append(fill(f"{f.code} — {ann.title}", WIDTH, "", INDENT))
    lines.append(_para(f"{lab['class']}: {f.class_name}"))
    _body(lines, ann, lang)


def compare_main(a: str, b: str, *, as_json: bool, lang: str | None, out: TextIO) -> int:
    """Print two codes side by side, then their differences and when each fits.

    Returns 64 with a message on stderr when either argument is not a code.
    """
    language = resolve_lang(lang)
    lab = labels(language)
    try:
        result = compare(a, b, language)
    except ValueError:
        bad = next((x for x in (a, b) if _not_code(x)), a)
        print(f"probe compare: {lab['not_a_code']}: {to_display(bad, limit=40)}",
              file=sys.stderr)
        return ExitStatus.USAGE
    if as_json:
        doc = {"a": _facts_json(result.a), "b": _facts_json(result.b),
               "differences": list(result.differences), "which_when": list(result.which_when),
               "lang": result.lang}
        json.dump(doc, out, indent=2)
        out.write("\n")
        return ExitStatus.OK
    lines: list[str] = []
    for side in (result.a, result.b):
        _render_side(lines, side, language, lab)
        lines.append("")
    lines.append(lab["differences"])
    lines.extend(_bullet(d) for d in result.differences)
    lines.append("")
    lines.append(lab["which_when"])
    lines.extend(_bullet(w) for w in result.which_when)
    out.write("\n".join(lines) + "\n")
    return ExitStatus.OK


def _bullet(text: str) -> str:
    return fill(text, WIDTH, "- ", INDENT)


def _not_code(spec: str) -> bool:
    try:
        parse_spec(spec)
    except ValueError:
        return True
    return False
