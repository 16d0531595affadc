"""The labelled corpus of real server replies against the classifier.

Every file in tests/corpus/ holds `[[reply]]` entries: a reply line (or a whole
multi-line reply) as a real server sends it, with the category an admin acts on
and where the text was found (`source`, required). A line that is not an exact
copy of its source carries `verbatim = false` and a `note` saying what differs.
The classifier must give every line its label, and every pattern must be
exercised by at least one line.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

import pytest

import knowledge
from knowledge.enhanced_code import without_repeats
from knowledge.model import CATEGORIES
from knowledge.model import STAGES as MODEL_STAGES

CORPUS_DIR = Path(__file__).parent / "corpus"
PATTERN_DIR = Path(knowledge.__file__).parent / "patterns"
SHARED_FILES = {"generic.toml", "postfix.toml"}  # owned and tested elsewhere
STAGES = {*MODEL_STAGES, "data"}  # the probe's stages, and the end of DATA
MIN_LINES = 700
# text, code, stage, category, vendor and source as before; `verbatim = false`
# marks a line that is not an exact copy of its source (pieced together, or a
# prefix from a rule list) and `note` says how; placeholders for addresses, IPs
# and ids do not make a line non-verbatim, but the note should say so.
# `alt`: the other category a careful second reader gave a held-back line
# (tests/corpus/LABELS.md); the line is scored on `category` alone.
KNOWN_FIELDS = {"text", "code", "stage", "category", "alt", "vendor", "source", "verbatim", "note",
                "file"}

_CODE_PREFIX = re.compile(r"^(\d{3})(?:[ -]|$)")


def reply_text(raw: str) -> str:
    """The reply as a classifier sees it: no `NNN-`/`NNN ` prefixes.

    Servers such as Gmail repeat the enhanced status code on every line of a
    multi-line reply; only the first copy is kept, as MTAs do when they log it
    and as the classifier reads it (`enhanced_code.without_repeats`).
    """
    return without_repeats("\n".join(_CODE_PREFIX.sub("", line, count=1)
                                      for line in raw.split("\n")))


def _load() -> list[dict]:
    entries = []
    for path in sorted(CORPUS_DIR.glob("*.toml")):
        with path.open("rb") as handle:
            for entry in tomllib.load(handle).get("reply", []):
                entries.append({**entry, "file": path.name})
    return entries


CORPUS = _load()


def _stage(entry: dict) -> str | None:
    """The stage a live probe would pass with this line.

    "data" (end of DATA) is a real place to see a reply but not a probe stage.
    Batches name the greeting "connect" or "banner"; the probe's stage for the
    greeting's reply is "banner" ("connect" is the TCP connect, which has none).
    """
    stage = entry.get("stage")
    if stage == "connect":
        return "banner"
    return stage if stage and stage != "data" else None


def _classify(entry: dict) -> knowledge.Annotation:
    return knowledge.explain_reply(entry["code"], reply_text(entry["text"]), _stage(entry))


def _id(entry: dict) -> str:
    return f"{entry['file']}:{entry['text'][:60]}"


# ---------------------------------------------------------------- corpus hygiene

def test_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= MIN_LINES, f"only {len(CORPUS)} labelled lines"


def test_corpus_entries_are_well_formed() -> None:
    problems = []
    for entry in CORPUS:
        where = _id(entry)
        if entry.get("category") not in CATEGORIES:
            problems.append(f"{where}: unknown category {entry.get('category')!r}")
        if not str(entry.get("source", "")).strip():
            problems.append(f"{where}: missing or empty source")
        verbatim = entry.get("verbatim", True)
        if not isinstance(verbatim, bool):
            problems.append(f"{where}: verbatim must be true or false")
        if "note" in entry and not str(entry["note"]).strip():
            problems.append(f"{where}: empty note")
        if verbatim is False and not str(entry.get("note", "")).strip():
            problems.append(f"{where}: verbatim = false needs a note saying what is not copied")
        unknown = set(entry) - KNOWN_FIELDS
        if unknown:
            problems.append(f"{where}: unknown field(s) {sorted(unknown)}")
        if not str(entry.get("vendor", "")).strip():
            problems.append(f"{where}: empty vendor")
        if entry.get("stage") is not None and entry["stage"] not in STAGES:
            problems.append(f"{where}: unknown stage {entry['stage']!r}")
        code = entry.get("code")
        match = _CODE_PREFIX.match(entry.get("text", ""))
        if not isinstance(code, int) or not match or int(match.group(1)) != code:
            problems.append(f"{where}: code {code!r} does not match the text's own code")
        for line in entry.get("text", "").split("\n"):
            if not _CODE_PREFIX.match(line):
                problems.append(f"{where}: line without a reply code: {line[:40]!r}")
    assert not problems, "\n".join(problems)


def test_corpus_has_no_duplicate_texts() -> None:
    counts = Counter(" ".join(e["text"].split()).lower() for e in CORPUS)
    dupes = [text for text, n in counts.items() if n > 1]
    assert not dupes, "duplicated corpus lines:\n" + "\n".join(dupes)


def test_reply_text_strips_prefixes() -> None:
    raw = "550-5.1.1 The email account\n550-5.1.1 does not exist.\n550 5.1.1  Learn more - gsmtp"
    assert reply_text(raw) == "5.1.1 The email account\ndoes not exist.\nLearn more - gsmtp"
    assert reply_text("421 4.7.0 Try later") == "4.7.0 Try later"
    assert reply_text("554-host.example\n554 rejected") == "host.example\nrejected"


# ---------------------------------------------------------------- classification

needs_classifier = pytest.mark.skipif(
    not hasattr(knowledge, "explain_reply"), reason="knowledge.explain_reply not available yet"
)


@needs_classifier
@pytest.mark.parametrize("entry", CORPUS, ids=_id)
def test_corpus_line_is_classified(entry: dict) -> None:
    annotation = _classify(entry)
    assert annotation.category == entry["category"], (
        f"{entry['text']!r}\n  expected {entry['category']}, got {annotation.category}"
        f" via {annotation.matched or 'nothing'}"
    )


@needs_classifier
def test_accuracy_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """Print accuracy per category and per vendor (run with -s to see it)."""
    per_cat: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_vendor: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for entry in CORPUS:
        ok = _classify(entry).category == entry["category"]
        for table, key in ((per_cat, entry["category"]), (per_vendor, entry["vendor"])):
            table[key][0] += ok
            table[key][1] += 1
    total = sum(n for _, n in per_vendor.values())
    good = sum(k for k, _ in per_vendor.values())
    with capsys.disabled():
        print(f"\ncorpus accuracy: {good}/{total} = {100 * good / total:.1f}%")
        for title, table in (("category", per_cat), ("vendor", per_vendor)):
            print(f"  by {title}:")
            for key in sorted(table):
                k, n = table[key]
                print(f"    {key:<22} {k:>4}/{n:<4} {100 * k / n:5.1f}%")
    assert total == len(CORPUS)


# ---------------------------------------------------------------- vendor patterns

def _vendor_pattern_files() -> list[Path]:
    return [p for p in sorted(PATTERN_DIR.glob("*.toml")) if p.name not in SHARED_FILES]


def test_vendor_patterns_compile_and_are_unique() -> None:
    seen: dict[str, str] = {}
    problems = []
    for path in _vendor_pattern_files():
        with path.open("rb") as handle:
            data = tomllib.load(handle)
        prefix = path.stem.split("_")[0]
        for raw in data.get("pattern", []):
            pid = raw.get("id", "")
            if pid in seen:
                problems.append(f"{path.name}: id {pid} also in {seen[pid]}")
            seen[pid] = path.name
            if not pid.startswith(prefix + "-"):
                problems.append(f"{path.name}: id {pid} lacks the {prefix}- prefix")
            try:
                re.compile(raw["regex"], re.IGNORECASE)
            except (re.error, KeyError) as exc:
                problems.append(f"{path.name}: {pid}: {exc}")
            if raw.get("category") not in CATEGORIES:
                problems.append(f"{path.name}: {pid}: bad category {raw.get('category')!r}")
            for field in ("title", "meaning", "fix"):
                if not str(raw.get(field, "")).strip():
                    problems.append(f"{path.name}: {pid}: empty {field}")
    assert not problems, "\n".join(problems)


def test_every_vendor_pattern_matches_some_corpus_line() -> None:
    """No dead patterns: each regex (with its code/class/stage filters), shared
    files included, must fire on at least one labelled line, and agree with
    that line's label."""
    from knowledge.patterns import load_patterns, normalise_text

    pset = load_patterns(sorted(PATTERN_DIR.glob("*.toml")))
    assert not pset.problems, pset.problems
    texts = [(e, normalise_text(reply_text(e["text"]))) for e in CORPUS]
    dead = []
    for pat in pset.patterns:
        hits = [
            e for e, norm in texts
            if e["code"] // 100 in pat.classes
            and (pat.codes is None or e["code"] in pat.codes)
            and (pat.stages is None or _stage(e) is None or _stage(e) in pat.stages)
            and pat.regex.search(norm)
        ]
        if not any(e["category"] == pat.category for e in hits):
            dead.append(f"{pat.source_file}: {pat.id} ({len(hits)} hits, none labelled "
                        f"{pat.category})")
    assert not dead, "patterns with no agreeing corpus line:\n" + "\n".join(dead)


def test_vendor_patterns_alone_label_their_lines() -> None:
    """Where a vendor pattern wins among vendor patterns, it gives the right label."""
    from knowledge.patterns import load_patterns, normalise_text

    pset = load_patterns(_vendor_pattern_files())
    wrong = []
    for entry in CORPUS:
        code = entry["code"]
        pat = pset.match(normalise_text(reply_text(entry["text"])), code, code // 100,
                         _stage(entry))
        if pat is not None and pat.category != entry["category"]:
            wrong.append(f"{pat.id} -> {pat.category}, want {entry['category']}: "
                         f"{entry['text'][:90]!r}")
    assert not wrong, "\n".join(wrong)
