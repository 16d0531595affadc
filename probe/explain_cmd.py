"""`probe explain` and `probe compare`: the offline commands.

Both only format what `knowledge` returns. Everything the user pasted is
untrusted (it may come from a hostile server's bounce) and goes through
`probe.sanitize.to_display` before it reaches the terminal; texts from our own
data files are printed as they are. Paragraphs are wrapped for 80 columns.
"""

from __future__ import annotations

import json
import sys
import textwrap
import unicodedata
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
from knowledge.bounce import explain_input
from knowledge.compare import parse_spec
from knowledge.i18n import table

from .sanitize import to_display

WIDTH = 80
INDENT = "  "
EXIT_OK = 0
EXIT_USAGE = 64


def _cell_width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _fill(text: str, first: str = "", rest: str = "") -> str:
    """Wrap to WIDTH terminal cells.

    textwrap counts characters and breaks only at spaces, which leaves Chinese
    paragraphs (double-width, no spaces) unwrapped; such text is wrapped cell
    by cell instead, preferring a break after a space when one is near.
    """
    if not any(_cell_width(ch) == 2 for ch in text):
        return textwrap.fill(text, WIDTH, initial_indent=first, subsequent_indent=rest,
                             break_long_words=False, break_on_hyphens=False) or first
    lines: list[str] = []
    line, used = first, len(first)
    for ch in text:
        w = _cell_width(ch)
        if used + w > WIDTH:
            cut = line.rfind(" ")
            if cut > len(rest) + WIDTH // 2:  # keep a short Latin word whole
                lines.append(line[:cut])
                line = rest + line[cut + 1:]
            else:
                lines.append(line)
                line = rest
            used = sum(_cell_width(c) for c in line)
        line += ch
        used += w
    lines.append(line)
    return "\n".join(lines)


def _para(text: str, indent: str = INDENT) -> str:
    return _fill(text, indent, indent)


def _section(lines: list[str], label: str, text: str) -> None:
    if text:
        lines.append(label)
        lines.append(_para(text))


def _annotation_json(ann: Annotation) -> dict[str, Any]:
    return {
        "category": ann.category, "severity": ann.severity, "title": ann.title,
        "meaning": ann.meaning, "when": ann.when, "fix": ann.fix, "source": ann.source,
        "fix_admin": ann.fix_admin, "doc_url": ann.doc_url, "matched": ann.matched,
        "enhanced_title": ann.enhanced_title, "lang": ann.lang,
        "enhanced_registered": ann.enhanced_registered,
    }


def explained_json(item: Explained) -> dict[str, Any]:
    """The CONTRACT object for one reply: code, enhanced, text, then the annotation."""
    return {"code": item.code, "enhanced": item.enhanced, "text": item.text,
            **_annotation_json(item.annotation), "stage": item.stage}


def _fix_blocks(lines: list[str], ann: Annotation, lab: dict[str, str]) -> None:
    if ann.fix_admin:
        _section(lines, lab["fix_sender"], ann.fix)
        _section(lines, f"{lab['fix']} ({lab['fix_admin']})", ann.fix_admin)
    else:
        _section(lines, lab["fix"], ann.fix)


def _footer(lines: list[str], ann: Annotation, lang: str, lab: dict[str, str]) -> None:
    cats, sevs = table(lang, "categories"), table(lang, "severities")
    cat_name = cats.get(ann.category, ann.category)
    cat = ann.category if cat_name == ann.category else f"{ann.category} ({cat_name})"
    lines.append(_fill(
        f"{lab['category']}: {cat} · {lab['severity']}: {sevs.get(ann.severity, ann.severity)}",
        "", INDENT))
    refs = " · ".join(x for x in (ann.source, ann.doc_url) if x)
    if refs:
        lines.append(_fill(f"{lab['learn_more']}: {refs}", "", INDENT))
    if ann.lang != lang:
        lines.append(f"({lang}: {lab['untranslated']})")


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
    lines.append(_fill(first, "", INDENT * 2))
    for extra in body_lines[1:]:
        lines.append(_para(to_display(extra), INDENT * 2))
    title = ann.title
    if ann.enhanced and ann.enhanced_title and ann.enhanced_title != ann.title:
        title = f"{title} [{ann.enhanced}: {ann.enhanced_title}]"
    lines.append(_fill(f"=> {title}", "", "   "))
    if item.stage:
        lines.append(f"{lab['stage']}: {table(lang, 'stages').get(item.stage, item.stage)}")
    lines.append("")
    _section(lines, lab["description"], ann.meaning)
    _section(lines, lab["when"], ann.when)
    _fix_blocks(lines, ann, lab)
    _footer(lines, ann, lang, lab)
    return "\n".join(lines)


def explain_main(
    replies: list[str], *, as_json: bool, lang: str | None, out: TextIO, stdin: TextIO
) -> int:
    """Explain the reply given as words, or what stdin (`-`) or a file holds.

    Positional words are joined with spaces and read as one reply. With `-` or
    a file path, a whole bounce message or an mbox is explained per failed
    recipient (`explain_bounce`); a log excerpt, reply by reply. `--json` prints
    one object for one reply, a JSON array for several replies, and always an
    array for a bounce. Returns 64 with a message on stderr when the input
    holds no reply code or the file cannot be read.
    """
    language = resolve_lang(lang)
    from . import explain_bounce  # a message, an mbox or a file: one result per recipient
    try:
        source = explain_bounce.read_source(replies, stdin)
    except explain_bounce.UnreadableInput as exc:
        print(f"probe explain: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if source is not None:
        text = source.decode("utf-8", "surrogateescape")
        result = explain_input(source, language)
        if result.failures:
            explain_bounce.render_bounce(result, as_json=as_json, lang=language, out=out)
            return EXIT_OK
        found = list(result.replies)
    else:
        text = " ".join(replies)
        found = explain_text(text, language)
    if not found:
        lab = labels(language)
        shown = to_display(text.strip(), limit=60)
        print(f"probe explain: {lab['no_code_found']}: {shown!s}", file=sys.stderr)
        return EXIT_USAGE
    if as_json:
        docs = [explained_json(item) for item in found]
        json.dump(docs[0] if len(docs) == 1 else docs, out, indent=2)
        out.write("\n")
        return EXIT_OK
    blocks = [render_explained(item, language) for item in found]
    if len(blocks) > 1:
        out.write(f"{len(blocks)} {labels(language)['replies_found']}\n\n")
    out.write("\n\n".join(blocks) + "\n")
    return EXIT_OK


# ---------------------------------------------------------------- compare

def _facts_json(f: CodeFacts) -> dict[str, Any]:
    return {
        "code": f.code, "kind": f.kind, "class": f.class_digit, "class_name": f.class_name,
        "retry": f.retry, "actor": f.actor, "stages": list(f.stages), "use_when": f.use_when,
        **_annotation_json(f.annotation),
    }


def _render_side(lines: list[str], f: CodeFacts, lang: str, lab: dict[str, str]) -> None:
    ann = f.annotation
    lines.append(_fill(f"{f.code} — {ann.title}", "", INDENT))
    lines.append(_para(f"{lab['class']}: {f.class_name}"))
    _section(lines, lab["description"], ann.meaning)
    _section(lines, lab["when"], ann.when)
    _fix_blocks(lines, ann, lab)
    _footer(lines, ann, lang, lab)


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
        return EXIT_USAGE
    if as_json:
        doc = {"a": _facts_json(result.a), "b": _facts_json(result.b),
               "differences": list(result.differences), "which_when": list(result.which_when),
               "lang": result.lang}
        json.dump(doc, out, indent=2)
        out.write("\n")
        return EXIT_OK
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
    return EXIT_OK


def _bullet(text: str) -> str:
    return _fill(text, "- ", INDENT)


def _not_code(spec: str) -> bool:
    try:
        parse_spec(spec)
    except ValueError:
        return True
    return False
