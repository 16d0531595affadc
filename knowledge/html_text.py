"""HTML bounce parts (Exchange, Outlook.com NDRs) reduced to plain text lines.

A hand-written scan rather than `html.parser`: the standard parser of the
Python versions we support is quadratic on some malformed input (unclosed
comments and tags; CVE-2025-6069), and a bounce is hostile input. Here every
step is a `str.find` forward from the last position, so time is linear in the
input. Only what a reader sees is kept: text, with a line break at block
elements; scripts, styles and comments are dropped; entities are decoded last,
so `&lt;bob@example.com&gt;` becomes an address and never markup.
"""

from __future__ import annotations

import html

MAX_HTML = 512 * 1024  # characters of one HTML part that are looked at
_BLOCK_TAGS = frozenset({
    "br", "p", "div", "tr", "li", "ul", "ol", "table", "tbody", "thead", "h1", "h2", "h3",
    "h4", "h5", "h6", "pre", "blockquote", "hr", "dd", "dt", "dl", "title", "td", "th",
})
_SKIPPED_TAGS = ("script", "style", "head")


def _tag_name(tag: str) -> str:
    """"/P class=x" -> "p"; "br/" -> "br"."""
    name = tag.lstrip("/").split(None, 1)[0] if tag.strip("/ ") else ""
    return name.rstrip("/").lower()


def html_to_text(markup: str) -> str:
    """The visible text of `markup`, one line per block, whitespace collapsed."""
    markup = markup[:MAX_HTML]
    lower = markup.lower()
    out: list[str] = []
    i, n = 0, len(markup)
    while i < n:
        lt = markup.find("<", i)
        if lt < 0:
            out.append(markup[i:])
            break
        out.append(markup[i:lt])
        if markup.startswith("<!--", lt):
            end = markup.find("-->", lt + 4)
            i = n if end < 0 else end + 3
            continue
        gt = markup.find(">", lt + 1)
        if gt < 0:
            break  # an unterminated tag: nothing visible follows
        name = _tag_name(markup[lt + 1 : gt])
        i = gt + 1
        if name in _SKIPPED_TAGS and markup[lt + 1 : lt + 2] != "/":
            close = lower.find(f"</{name}", i)
            i = n if close < 0 else close
        elif name in _BLOCK_TAGS:
            out.append("\n")
    text = html.unescape("".join(out)).replace("\xa0", " ")
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)
