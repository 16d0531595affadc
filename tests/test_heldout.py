"""The held-back batches: real replies the knowledge base is never tuned on.

tests/heldout/ holds labelled lines in the tests/corpus/ format that were
scored before any knowledge change and are kept out of tuning, so their score
stays an honest estimate for replies nobody wrote a rule for (the corpus
score is 100% by construction). Nothing here may be "fixed" by editing
knowledge/ to suit these lines: a change made for them spends the estimate.
Add new lines to a new batch instead, and record its before-tuning score in
bench/README.md.

Run with -s to see the numbers:  uv run pytest tests/test_heldout.py -q -s
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

import knowledge
from knowledge.model import CATEGORIES

from .bounce_corpus import cases
from .test_corpus import KNOWN_FIELDS, _stage, reply_text

HELDOUT_DIR = Path(__file__).parent / "heldout"
# The scores measured when each batch was frozen, less a small margin: a change
# that makes the classifier worse on unseen replies fails here.
FLOOR_NO_STAGE = 0.70
FLOOR_WITH_STAGE = 0.70


def _load() -> list[dict]:
    entries = []
    for path in sorted(HELDOUT_DIR.glob("*.toml")):
        with path.open("rb") as handle:
            entries += [{**e, "file": path.name} for e in tomllib.load(handle).get("reply", [])]
    return entries


HELDOUT = _load()


def test_heldout_lines_are_well_formed_and_not_in_the_corpus() -> None:
    from .test_corpus import CORPUS

    corpus = {" ".join(e["text"].split()).lower() for e in CORPUS}
    assert HELDOUT
    for entry in HELDOUT:
        assert set(entry) <= KNOWN_FIELDS, entry
        assert entry["category"] in CATEGORIES, entry
        assert entry.get("alt", "other") in CATEGORIES, entry
        assert entry.get("alt") != entry["category"], entry
        assert str(entry["source"]).strip(), entry
        assert int(entry["text"][:3]) == entry["code"], entry
        assert " ".join(entry["text"].split()).lower() not in corpus, entry["text"]
    # Each held-back line counts once, in the batch that held it back first.
    seen: dict[str, str] = {}
    for entry in HELDOUT:
        key = " ".join(entry["text"].split()).lower()
        assert key not in seen, f"{entry['text']!r}: {seen[key]} and {entry['file']}"
        seen[key] = entry["file"]


# "owner/repo@commit:path" in a reply line's `source`.
_SOURCE_FILE = re.compile(r"([\w.-]+/[\w.-]+)@[0-9a-f]{7,40}:([^\s,;)]+)")


def test_no_tuned_line_is_taken_from_a_held_out_bounce() -> None:
    """A reply quoted by a held-out bounce file must not be tuned on.

    Reply batches read the same public bounce collections as tests/bounces/
    (crisp fixtures, the BounceParser corpus): a corpus or tune line taken
    from a held-out bounce would let a rule be written for that bounce.
    """
    held_out = set()
    for _, meta in cases("holdout"):
        repo = str(meta.get("source", "")).removeprefix("https://github.com/").strip("/")
        held_out.add((repo, meta.get("path")))
    from .test_corpus import CORPUS

    tuned = list(CORPUS)
    for path in (Path(__file__).parents[1] / "bench").glob("*_tune.toml"):
        tuned += tomllib.loads(path.read_text(encoding="utf-8")).get("reply", [])
    taken = [entry["text"][:60] for entry in tuned
             if any(pair in held_out
                    for pair in _SOURCE_FILE.findall(str(entry.get("source", ""))))]
    assert held_out
    assert taken == []


@pytest.mark.parametrize(("with_stage", "floor"), [(False, FLOOR_NO_STAGE),
                                                   (True, FLOOR_WITH_STAGE)])
def test_heldout_accuracy(with_stage: bool, floor: float) -> None:
    """The aggregate is printed only under -s: whoever adds a batch runs the
    plain tests before committing its split and must not see the figure."""
    good = agreed = agreed_good = 0
    for entry in HELDOUT:
        stage = _stage(entry) if with_stage else None
        ann = knowledge.explain_reply(entry["code"], reply_text(entry["text"]), stage)
        right = ann.category == entry["category"]
        good += right
        if "alt" not in entry:  # lines two labellers did not part on
            agreed += 1
            agreed_good += right
    total = len(HELDOUT)
    figure = f"{good}/{total} = {100 * good / total:.1f}%"
    print(f"\nheld-back accuracy ({'with' if with_stage else 'no'} stage): {figure}; "
          f"on lines without an `alt` reading: {agreed_good}/{agreed}")
    assert good / total >= floor, figure
