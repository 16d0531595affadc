"""Text patterns of real servers: loading, validation and fast matching.

Replies are classified in bulk (a probe of a big domain, a pasted mail log), so
matching must stay cheap with hundreds of patterns, and linear in the text
whatever a pattern author writes (`linear_re`). Each regex is compiled once
and guarded by literal substrings that any match must contain, computed from
the regex's own parse tree; the regex only runs when a guard is present in the
text. Patterns are further indexed by reply class so a 2xx line never touches
the 5xx rules.

A broken pattern (bad regex, unknown category, duplicate id) is skipped and
recorded in `PatternSet.problems` rather than raised: classification must never
fail at run time, and the test suite asserts that `problems` is empty.
"""

from __future__ import annotations

import re
import re._constants as _sre_c  # type: ignore[import-not-found]  # the parser, 3.11+
import re._parser as _sre_p  # type: ignore[import-not-found]
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from . import loader
from .linear_re import LinearPattern, compile_pattern
from .model import CATEGORIES, SEVERITIES, STAGES

DEFAULT_CLASSES = frozenset({4, 5})  # a pattern without codes/classes describes a failure
MIN_GUARD = 3  # shorter literals filter too little to be worth a substring test


@dataclass(frozen=True, slots=True)
class Pattern:
    """One validated pattern, ready to match normalised (lowercased) text."""

    id: str
    vendor: str
    source_file: str
    regex: LinearPattern  # RE2 when it can: see linear_re for why and the fallback
    guards: tuple[str, ...] | None  # any one must occur in the text; None = always try
    codes: frozenset[int] | None
    classes: frozenset[int]
    stages: frozenset[str] | None
    category: str
    severity: str | None
    title: str
    meaning: str
    when: str
    fix: str
    fix_admin: str
    doc_url: str
    source: str
    priority: int
    order: int
    # A vendor's frame that names no cause: loses to specific enhanced codes.
    fallback: bool = False
    # Vendor-neutral wording: never overrides an enhanced code of another subject.
    generic: bool = False
    # RFC 3463 subjects whose enhanced codes it may refine; None = its category's.
    subjects: frozenset[int] | None = None

    def rank(self) -> tuple[int, int, int]:
        """Sort key of the winner rule: priority, then regex length, then load order."""
        return (self.priority, len(self.regex.pattern), -self.order)


def normalise_text(text: str) -> str:
    """Lowercase and collapse whitespace runs, the form every regex sees."""
    return " ".join(text.split()).lower()


# ---------------------------------------------------------------- guard literals

def _alternatives(items: Any) -> list[str] | None:
    """Literal strings of which at least one occurs in every match of `items`.

    Works on a parsed regex sequence: the longest run of plain literal
    characters is one candidate; a group or alternation whose every branch has
    its own required literal is another (any one branch's literal will do).
    The candidate whose shortest alternative is longest wins.
    """
    best: list[str] | None = None

    def consider(cand: list[str] | None) -> None:
        nonlocal best
        if cand and min(map(len, cand)) >= MIN_GUARD and (
            best is None or min(map(len, cand)) > min(map(len, best))
        ):
            best = cand

    run: list[str] = []
    for op, arg in items:
        if op is _sre_c.LITERAL:
            run.append(chr(arg))
            continue
        consider(["".join(run)] if run else None)
        run = []
        if op is _sre_c.SUBPATTERN:
            consider(_alternatives(arg[-1]))
        elif op is _sre_c.BRANCH:
            branches = [_alternatives(branch) for branch in arg[1]]
            if all(branches):
                consider([lit for branch in branches for lit in branch])  # type: ignore[union-attr]
        elif op in (_sre_c.MAX_REPEAT, _sre_c.MIN_REPEAT) and arg[0] >= 1:
            consider(_alternatives(arg[2]))
    consider(["".join(run)] if run else None)
    return best


def guard_literals(source: str) -> tuple[str, ...] | None:
    """Lowercased literals guarding `source`, or None when none can be proven."""
    try:
        parsed = _sre_p.parse(source, re.IGNORECASE)
    except re.error:
        return None
    found = _alternatives(list(parsed))
    if not found:
        return None
    return tuple(sorted({lit.lower() for lit in found}))


# ---------------------------------------------------------------- loading

def _int_set(value: Any) -> frozenset[int] | None:
    if value is None:
        return None
    return frozenset(int(v) for v in value)


def _build(raw: dict[str, Any], defaults: dict[str, Any], path: Path, order: int) -> Pattern:
    """Validate one `[[pattern]]` table; raises ValueError naming what is wrong."""
    pid = str(raw.get("id", "")).strip()
    if not pid:
        raise ValueError("pattern without id")
    source = raw.get("regex")
    if not isinstance(source, str) or not source:
        raise ValueError(f"{pid}: missing regex")
    if any(ord(ch) < 0x20 for ch in source):
        # A TOML escape in a double-quoted string ("\b" is a backspace there)
        # silently turns part of the regex into a character no reply holds.
        raise ValueError(f"{pid}: control character in regex (use a '...' literal string)")
    try:
        regex = compile_pattern(source)
    except re.error as exc:
        raise ValueError(f"{pid}: bad regex: {exc}") from exc
    category = raw.get("category")
    if category not in CATEGORIES:
        raise ValueError(f"{pid}: unknown category {category!r}")
    severity = raw.get("severity")
    if severity is not None and severity not in SEVERITIES:
        raise ValueError(f"{pid}: unknown severity {severity!r}")
    stages = raw.get("stages")
    if stages is not None and not set(stages) <= set(STAGES):
        raise ValueError(f"{pid}: unknown stage in {stages!r}")
    for field in ("title", "meaning", "fix"):
        if not str(raw.get(field, "")).strip():
            raise ValueError(f"{pid}: empty {field}")
    subjects = raw.get("subjects")
    if subjects is not None and not set(subjects) <= set(range(8)):
        raise ValueError(f"{pid}: subjects must be RFC 3463 subjects 0-7, not {subjects!r}")
    codes = _int_set(raw.get("codes"))
    classes = _int_set(raw.get("classes"))
    if classes is None:
        classes = frozenset(c // 100 for c in codes) if codes else DEFAULT_CLASSES
    vendor = str(defaults.get("vendor", path.stem))
    return Pattern(
        id=pid,
        vendor=vendor,
        source_file=path.name,
        regex=regex,
        guards=guard_literals(source),
        codes=codes,
        classes=classes,
        stages=frozenset(stages) if stages is not None else None,
        category=category,
        severity=severity,
        title=str(raw["title"]).strip(),
        meaning=str(raw["meaning"]).strip(),
        when=str(raw.get("when", "")).strip(),
        fix=str(raw["fix"]).strip(),
        fix_admin=str(raw.get("fix_admin", "")).strip(),
        doc_url=str(raw.get("doc_url", defaults.get("doc_url", ""))),
        source=str(raw.get("source", defaults.get("source", vendor))),
        priority=int(raw.get("priority", defaults.get("priority", 50))),
        order=order,
        fallback=bool(raw.get("fallback", False)),
        generic=bool(raw.get("generic", defaults.get("generic", False))),
        subjects=_int_set(raw.get("subjects")),
    )


def _trigram_weights(patterns: list[Pattern]) -> dict[str, int]:
    """How common each trigram is in ordinary reply-ish English.

    The pattern texts themselves (titles, meanings) stand in for a corpus:
    a guard keyed on a common trigram ("ion", "the") would make its pattern a
    candidate for almost every line, so the rarest trigram of a guard is used.
    """
    weights: dict[str, int] = {}
    for pat in patterns:
        text = f"{pat.title} {pat.meaning}".lower()
        for i in range(len(text) - 2):
            gram = text[i : i + 3]
            weights[gram] = weights.get(gram, 0) + 1
    return weights


class PatternSet:
    """All loaded patterns, indexed for speed, with the winner rule built in.

    Patterns are kept best-first (priority, regex length, load order), so the
    first candidate whose regex matches is the winner. For each reply class an
    index maps one trigram of every guard literal to the patterns it guards;
    a line only tries the patterns whose trigrams it contains (a C-level set
    intersection), then the full guard, the filters and finally the regex.
    """

    def __init__(self, patterns: list[Pattern], problems: list[str]) -> None:
        self.patterns = tuple(patterns)
        self.problems = tuple(problems)
        self._ordered = tuple(sorted(patterns, key=Pattern.rank, reverse=True))
        weights = _trigram_weights(patterns)
        self._index: dict[int | None, dict[str, tuple[int, ...]]] = {}
        self._always: dict[int | None, tuple[int, ...]] = {}
        for klass in range(10):
            index: dict[str, list[int]] = {}
            always: list[int] = []
            for pos, pat in enumerate(self._ordered):
                if klass not in pat.classes:
                    continue
                keys = _index_keys(pat.guards, weights)
                if keys is None:
                    always.append(pos)
                for key in keys or ():
                    index.setdefault(key, []).append(pos)
            self._index[klass] = {k: tuple(v) for k, v in index.items()}
            self._always[klass] = tuple(always)

    def match(
        self, norm: str, code: int | None, klass: int | None, stage: str | None
    ) -> Pattern | None:
        """The winning pattern for normalised text `norm`, or None.

        `codes` filters are ignored when the code is unknown (a pasted enhanced
        code alone) and `stages` filters when the stage is unknown.
        """
        index = self._index.get(klass)
        if not norm or index is None:
            return None
        grams = {norm[i : i + 3] for i in range(len(norm) - 2)}
        candidates = set(self._always[klass])
        for gram in grams & index.keys():
            candidates.update(index[gram])
        ordered = self._ordered
        for pos in sorted(candidates):
            pat = ordered[pos]
            guards = pat.guards
            if guards is not None and not any(g in norm for g in guards):
                continue
            if code is not None and pat.codes is not None and code not in pat.codes:
                continue
            if stage is not None and pat.stages is not None and stage not in pat.stages:
                continue
            if pat.regex.search(norm) is not None:
                return pat
        return None


def _index_keys(guards: tuple[str, ...] | None, weights: dict[str, int]) -> set[str] | None:
    """One trigram per guard literal (the rarest), or None if a guard is too short."""
    if not guards:
        return None
    keys: set[str] = set()
    for lit in guards:
        grams = [lit[i : i + 3] for i in range(len(lit) - 2)]
        if not grams:
            return None
        keys.add(min(grams, key=lambda g: (weights.get(g, 0), " " in g)))
    return keys


def load_patterns(files: list[Path] | None = None) -> PatternSet:
    """Read pattern files (default: every `patterns/*.toml`) into a PatternSet."""
    patterns: list[Pattern] = []
    problems: list[str] = []
    seen: set[str] = set()
    order = 0
    for path in files if files is not None else loader.pattern_files():
        try:
            data = loader._read(path)
        except (OSError, ValueError) as exc:
            problems.append(f"{path.name}: {exc}")
            continue
        defaults = {k: v for k, v in data.items() if k != "pattern"}
        for raw in data.get("pattern", []):
            try:
                pat = _build(raw, defaults, path, order)
            except (ValueError, TypeError, KeyError) as exc:
                problems.append(f"{path.name}: {exc}")
                continue
            if pat.id in seen:
                problems.append(f"{path.name}: duplicate id {pat.id}")
                continue
            seen.add(pat.id)
            patterns.append(pat)
            order += 1
    return PatternSet(patterns, problems)


@cache
def pattern_set() -> PatternSet:
    """The process-wide pattern set, loaded on first use."""
    return load_patterns()
