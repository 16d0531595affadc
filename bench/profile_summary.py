"""Where the time goes: a short text summary of a py-spy profile (collapsed stacks).

Run:  uvx py-spy record --format raw --nolineno --idle -r 250 -o prof.txt -- COMMAND...
      uv run python bench/profile_summary.py prof.txt [--top 15]

`--format raw` writes one line per distinct stack, `frame;frame;...;leaf COUNT`,
each frame `function (path)`. Printed:
* the share of samples spent idle (the event loop waiting in select/epoll,
  which py-spy only records with --idle): time the process was not using CPU;
* of the busy samples, the share per package (the leaf frame's file: probe,
  knowledge, dns, aiosmtplib, asyncio, json, ...), i.e. whose code burns CPU;
* the top functions by own time (leaf) and by inclusive time (anywhere on the
  stack, counted once per sample), as a share of the busy samples; the trunk
  every stack shares (runpy, main, asyncio.run and the loop's dispatch) and
  the import system's frames (see the package list for imports) are left out
  of the inclusive list.
Only the summary is meant to be kept (bench/README.md), never the raw profile.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

TRUNK = 0.8
LOOP_PATHS = ("(asyncio/base_events.py)", "(asyncio/events.py)", "(asyncio/runners.py)")
FRAME = re.compile(r"^(?P<function>.*?) \((?P<path>[^()]*)\)$")


def package_of(path: str) -> str:
    """The package of a frame's file as py-spy prints it: `dns/message.py` -> dns.

    py-spy shows paths relative to their sys.path entry, so the first
    component is the top-level package (or the module of a single file).
    """
    if path.startswith("<frozen importlib"):
        return "import machinery"
    if path == "<string>":
        return "<string> (dataclass-generated __init__/__repr__/__eq__)"
    return path.split("/", 1)[0].removesuffix(".py")


def is_idle(frame: str) -> bool:
    """The event loop waiting for I/O (py-spy records it only with --idle)."""
    match = FRAME.match(frame)
    if match is None:
        return False
    return match.group("path") == "selectors.py" and match.group("function").endswith(
        (".select", ".poll"))


def py_spy_record(output: Path, rate: int = 250) -> list[str]:
    """The argv prefix that profiles a command into `output` (py-spy from PATH, else uvx)."""
    tool = [shutil.which("py-spy") or ""] if shutil.which("py-spy") else ["uvx", "py-spy"]
    return [*tool, "record", "--format", "raw", "--nolineno", "--idle", "-r", str(rate),
            "-o", str(output), "--"]


def summarize(lines: list[str], top: int) -> str:
    total = idle = 0
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    for line in lines:
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame for frame in stack.split(";") if frame]
        # py-spy puts "process NNN:..." and "thread (0x...)" frames first: not code.
        frames = [f for f in frames if not f.startswith(("process ", "thread ("))]
        if not frames:
            continue
        total += count
        leaf = frames[-1]
        if is_idle(leaf):
            idle += count
            continue
        own[leaf] += count
        for frame in set(frames):
            inclusive[frame] += count
        match = FRAME.match(leaf)
        packages[package_of(match.group("path")) if match else leaf] += count
    busy = total - idle
    if total == 0:
        return "no samples"
    out = [f"{total:,} samples; idle (waiting in select/epoll) {idle / total:.0%}, "
           f"busy {busy / total:.0%}", "", "busy samples by package (leaf frame's file):"]
    out += [f"  {share(count, busy)}  {name}" for name, count in packages.most_common(top)]
    out += ["", "top functions by own time (% of busy):"]
    out += [f"  {share(count, busy)}  {name}" for name, count in own.most_common(top)]
    # The trunk (runpy, main, asyncio.run, the loop's dispatch) is on nearly every
    # stack and says nothing; what hangs off it does.
    branches = Counter({name: count for name, count in inclusive.items()
                        if count <= TRUNK * busy and not name.endswith(LOOP_PATHS)
                        and "(<frozen " not in name})
    out += ["", f"top functions by inclusive time (% of busy; frames on over {TRUNK:.0%} "
            "of stacks, asyncio's loop and import frames left out):"]
    out += [f"  {share(count, busy)}  {name}" for name, count in branches.most_common(top)]
    return "\n".join(out)


def share(count: int, whole: int) -> str:
    return f"{count / whole * 100:5.1f}%" if whole else "   n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path, help="py-spy --format raw output")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    try:
        lines = args.profile.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        sys.exit(f"profile_summary: cannot read {args.profile}: {exc.strerror}")
    print(summarize(lines, args.top))


if __name__ == "__main__":
    main()
