"""Score every tune file with the knowledge of the commit that split it off.

The tune files (`bench/wave*_tune.toml`) keep the lines of each batch that the
rules did not read when they were written, so scoring them with today's
knowledge only shows what is still wrong. Scored with the knowledge of their
own split commit, before any rule was written for them, they are a fair dev
sample of unseen wording: a change to the fallbacks (resemblance, code
defaults) can be judged on it without touching the held-back lines.

Each snapshot is a `git archive` of knowledge/, tests/ and bench/ at the
earliest commit where the tune file has a reply, and is scored in a child
process started inside it, so its own `knowledge` package is the one imported.

    uv run python bench/fair_sample.py            # totals, with and without the stage
    uv run python bench/fair_sample.py --waves    # one line per tune file
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Run inside a snapshot: its knowledge and its corpus helpers, its tune file.
SCORER = """
import json, sys, tomllib
import knowledge
from tests.test_corpus import reply_text, _stage
lines = tomllib.load(open(sys.argv[1], 'rb'))['reply']
right = [0, 0]
for e in lines:
    text = reply_text(e['text'])
    right[0] += knowledge.explain_reply(e['code'], text).category == e['category']
    right[1] += knowledge.explain_reply(e['code'], text, _stage(e)).category == e['category']
print(json.dumps([len(lines), *right]))
"""


def git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True).stdout


def split_commit(tune: Path) -> str | None:
    """The earliest commit at which the tune file holds a reply line."""
    rel = tune.relative_to(ROOT).as_posix()
    for commit in git("log", "--reverse", "--format=%H", "--", rel).decode().split():
        shown = subprocess.run(["git", "show", f"{commit}:{rel}"], cwd=ROOT, capture_output=True)
        if b"[[reply]]" in shown.stdout:
            return commit
    return None


def score(tune: Path, commit: str) -> tuple[int, int, int]:
    """(lines, right without stage, right with stage) at `commit`."""
    with tempfile.TemporaryDirectory() as snapshot:
        archive = git("archive", commit, "knowledge", "tests", "bench")
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(snapshot, filter="data")
        rel = tune.relative_to(ROOT).as_posix()
        out = subprocess.run([sys.executable, "-c", SCORER, rel], cwd=snapshot,
                             check=True, capture_output=True, text=True).stdout
    lines, plain, staged = json.loads(out)
    return lines, plain, staged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waves", action="store_true", help="one line per tune file")
    args = parser.parse_args()
    totals = [0, 0, 0]
    for tune in sorted((ROOT / "bench").glob("wave*_tune.toml")):
        commit = split_commit(tune)
        if commit is None:
            continue
        result = score(tune, commit)
        totals = [t + r for t, r in zip(totals, result, strict=True)]
        if args.waves:
            lines, plain, staged = result
            print(f"{tune.stem:<14} {commit[:7]}  {plain:>3}/{lines:<3} stage {staged:>3}")
    lines, plain, staged = totals
    print(f"fair dev sample: {lines} lines; right without stage {plain} "
          f"({plain / lines:.1%}), with stage {staged} ({staged / lines:.1%})")


if __name__ == "__main__":
    main()
