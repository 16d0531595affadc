"""Score `probe explain` on the bounce corpus in tests/bounces/.

Run:  uv run python bench/bounce_score.py [--timeout S] [--split dev|holdout|all]
                                          [--batch NAME] [-v]

Each corpus file is fed to `python -m probe explain --json -` in a fresh
process (stdin, as an admin pastes it), with a wall-clock limit. A recipient
counts as right when the output explains it with the category its sidecar
names. Output objects that carry a `recipient` are matched by address
(Final-Recipient or Original-Recipient, case-insensitive); output without
recipients (the reply-by-reply format of older versions) is matched by
position: the k-th reply found stands for the k-th recipient (the rule lives
in tests/bounce_corpus.py). Files that exit 64 ("no reply found") or exceed
the limit get no recipient right.

`--batch wave6` scores only the files whose sidecar says `batch = "wave6"`
(a batch added later, all held out), so its first score can be taken alone.

This is a measurement, not a test: it prints numbers and asserts nothing.
tests/test_bounce_corpus.py pins a floor in-process.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.bounce_corpus import cases, right_categories  # noqa: E402


def run_one(path: Path, timeout: float) -> tuple[int | None, list[dict], float]:
    """(exit code or None on timeout, JSON objects printed, seconds)."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "probe", "explain", "--json", "-"],
            input=path.read_bytes(), capture_output=True, timeout=timeout, cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        return None, [], time.perf_counter() - start
    elapsed = time.perf_counter() - start
    docs: list[dict] = []
    if proc.returncode == 0:
        parsed = json.loads(proc.stdout)
        docs = parsed if isinstance(parsed, list) else [parsed]
    return proc.returncode, docs, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--split", choices=("dev", "holdout", "all"), default="all")
    parser.add_argument("--batch", default=None,
                        help="only the files of this batch (sidecar field `batch`)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="list every miss outside the held-out split")
    args = parser.parse_args()
    tally: dict[str, list[int]] = {}  # split -> [files, recipients, right, exit 64, timeouts]
    slowest = (0.0, "")
    for path, meta in cases(args.split, args.batch):
        expected = meta.get("recipient", [])
        rc, docs, secs = run_one(path, args.timeout)
        marks = right_categories(docs, expected)
        # A held-out file is never named, not even for its time.
        slowest = max(slowest, (secs, "(held out)" if meta.get("holdout") else path.name))
        for key in ("all", "holdout" if meta.get("holdout") else "dev"):
            row = tally.setdefault(key, [0, 0, 0, 0, 0])
            row[0] += 1
            row[1] += len(expected)
            row[2] += sum(marks)
            row[3] += rc == 64
            row[4] += rc is None
        if args.verbose and not all(marks) and not meta.get("holdout"):
            got = [(d.get("recipient"), d.get("category")) for d in docs]
            want = [(w["address"], w["category"]) for w in expected]
            print(f"MISS {path.name}: rc={rc} want={want} got={got}")
    for key, (files, recipients, right, no_reply, timeouts) in sorted(tally.items()):
        pct = 100.0 * right / recipients if recipients else 0.0
        print(f"{key:8} files={files} right category {right}/{recipients} = {pct:.1f}%; "
              f"no reply found (exit 64) {no_reply}; over {args.timeout:g} s {timeouts}")
    print(f"slowest: {slowest[1]} {slowest[0]:.2f} s (includes interpreter start-up)")

if __name__ == "__main__":
    main()
