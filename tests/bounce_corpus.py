"""The bounce corpus in tests/bounces/: its files, sidecars and scoring rule.

Shared by tests/test_bounce_corpus.py (a floor, in-process) and
bench/bounce_score.py (the recorded numbers, through the CLI), so both
count a recipient as right in the same way.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent / "bounces"


def cases(split: str = "all", batch: str | None = None) -> list[tuple[Path, dict[str, Any]]]:
    """(message file, sidecar) pairs of a split ("dev", "holdout", "all"), by name.

    `batch` keeps only the files whose sidecar names that batch ("wave6");
    files added before batches were named have none.
    """
    out = []
    for side in sorted(CORPUS.glob("*.toml")):
        meta = tomllib.loads(side.read_text(encoding="utf-8"))
        held = bool(meta.get("holdout"))
        if batch is not None and meta.get("batch") != batch:
            continue
        if split == "all" or (split == "holdout") == held:
            out.append((side.with_suffix(".eml"), meta))
    return out


def _addresses(doc: dict[str, Any]) -> set[str]:
    return {str(doc.get(k) or "").lower() for k in ("recipient", "original_recipient")} - {""}


def right_categories(docs: list[dict[str, Any]], expected: list[dict[str, Any]]) -> list[bool]:
    """For each expected recipient: was it explained with the expected category?

    Results that carry a recipient are matched by address (final or original,
    case-insensitive); results without one (reply-by-reply output) by
    position: the k-th reply stands for the k-th recipient.
    """
    by_address = any(_addresses(d) for d in docs)
    marks = []
    for k, want in enumerate(expected):
        if by_address:
            doc = next((d for d in docs if want["address"].lower() in _addresses(d)), None)
        else:
            doc = docs[k] if k < len(docs) else None
        marks.append(doc is not None and doc.get("category") == want["category"])
    return marks


def mbox_of(*names: str) -> bytes:
    """Corpus notices saved one after another in an mbox, as a mail client keeps them."""
    separator = b"From MAILER-DAEMON Thu Jan  1 00:00:00 2009\n"
    return b"".join(separator + (CORPUS / f"{name}.eml").read_bytes().rstrip(b"\n") + b"\n\n"
                    for name in names)
