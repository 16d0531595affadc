"""Score labelled reply lines against the classifier: a batch before tuning.

Run:  uv run python bench/corpus_score.py FILE_OR_DIR... [--misses]

Reads `[[reply]]` entries in the tests/corpus/ format and prints how many get
their label, without and with the stage, per file. New batches are scored
with this before any knowledge change, and the number goes to bench/README.md;
an older knowledge tree can be scored by putting it first on PYTHONPATH
(`git archive <commit> knowledge tests | tar -x -C /tmp/old`, then
`PYTHONPATH=/tmp/old uv run python bench/corpus_score.py ...`).
--misses lists what went wrong; leave it off for a held-back batch, whose
misses must not steer the tuning.
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import knowledge
from tests.test_corpus import _stage, reply_text


def _entries(paths: list[Path]) -> list[dict]:
    files = [f for p in paths for f in (sorted(p.glob("*.toml")) if p.is_dir() else [p])]
    entries = []
    for path in files:
        with path.open("rb") as handle:
            entries += [{**e, "file": path.name} for e in tomllib.load(handle).get("reply", [])]
    return entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--misses", action="store_true", help="list the lines it got wrong")
    args = parser.parse_args()

    entries = _entries(args.paths)
    per_file: dict[str, list[int]] = {}  # file -> [right, right with stage, total]
    misses = []
    good = good_stage = 0
    for entry in entries:
        text = reply_text(entry["text"])
        plain = knowledge.explain_reply(entry["code"], text)
        staged = knowledge.explain_reply(entry["code"], text, _stage(entry))
        ok = plain.category == entry["category"]
        ok_stage = staged.category == entry["category"]
        good += ok
        good_stage += ok_stage
        row = per_file.setdefault(entry["file"], [0, 0, 0])
        row[0] += ok
        row[1] += ok_stage
        row[2] += 1
        if not ok:
            misses.append(f"  want {entry['category']:<20} got {plain.category:<20} "
                          f"via {plain.matched[:70]:<70} {entry['text'][:90]!r}")
    total = len(entries)
    if not total:
        raise SystemExit("no [[reply]] entries found")
    print(f"knowledge from: {Path(knowledge.__file__).parent}")
    print(f"lines: {total}")
    print(f"no stage:   {good}/{total} = {100 * good / total:.1f}%")
    print(f"with stage: {good_stage}/{total} = {100 * good_stage / total:.1f}%")
    for name, (k, ks, n) in sorted(per_file.items()):
        print(f"  {name:<28} {k:>4}/{n:<4} with stage {ks:>4}/{n:<4}")
    if args.misses:
        print("\n".join(misses))


if __name__ == "__main__":
    main()
