"""Score every tune file with the knowledge of the commit that split it off.

The tune files (`bench/wave*_tune.toml`) keep the lines of each batch that the
rules did not read when they were written, so scoring them with today's
knowledge only shows what is still wrong. Scored with the knowledge of their
own split commit, before any rule was written for them, they are a fair dev
sample of unseen wording: a change to the fallbacks (resemblance, code
defaults) can be judged on it without touching the held-back lines.

Each snapshot is a `git archive` of knowledge/, tests/ and bench/ at the
earliest commit where the tune file has a reply, scored by that snapshot's own
bench/corpus_score.py with the snapshot first on PYTHONPATH, so its own
`knowledge` package is the one imported (checked against the path the script
prints).

    uv run python bench/fair_sample.py            # totals, with and without the stage
    uv run python bench/fair_sample.py --waves    # one line per tune file
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# "no stage:   12/20 = 60.0%" and "with stage: ..." as bench/corpus_score.py prints them.
_TOTAL = re.compile(r"^(no stage|with stage): +(\d+)/(\d+)", re.M)


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
    """(lines, right without stage, right with stage) at `commit`, as that
    commit's own bench/corpus_score.py counts them."""
    with tempfile.TemporaryDirectory() as snapshot:
        archive = git("archive", commit, "knowledge", "tests", "bench")
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(snapshot, filter="data")
        rel = tune.relative_to(ROOT).as_posix()
        # The snapshot first on the path, before the project's own install.
        env = {**os.environ, "PYTHONPATH": snapshot}
        out = subprocess.run([sys.executable, "bench/corpus_score.py", rel], cwd=snapshot,
                             env=env, check=True, capture_output=True, text=True).stdout
    if "knowledge from:" in out and snapshot not in out:
        raise SystemExit(f"{tune.name}: scored with the wrong knowledge:\n{out}")
    totals = {label: (int(right), int(lines)) for label, right, lines in _TOTAL.findall(out)}
    (plain, lines), (staged, _) = totals["no stage"], totals["with stage"]
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
