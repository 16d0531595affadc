"""Start-up and one-domain cost: what a user waits for before and during one probe.

Run:  uv run python bench/startup_bench.py [--runs 30] [--top 15]

1. Start-up: `python -c pass`, `probe explain 451`, `probe compare 214 451` and
   `probe --help`, each exec'd fresh (the venv's `probe` script, as a user runs
   it), timed by hyperfine (`-N`, warm-up 3) or, without hyperfine, a plain
   repeat loop; then `python -X importtime` for `probe explain 451`: the
   modules that cost the most, by their own time and by cumulative time.
2. One domain: `probe d000001.bench.test --json` against the load fixture
   (bench/loadservers.py: DNS and SMTP on loopback, pinned to CPU 1) next to
   one swaks transaction to the same MX (`--quit-after RCPT`, no DNS), and
   the same import breakdown for the probe. The clients run pinned to CPU 0.
Ratios are of means. Goals (issue 12): explain <= 3x `python -c pass`;
one-domain probe <= 2x one swaks transaction.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.loadservers import LoadServers, pin_to  # noqa: E402
from bench.loadzone import LoadZone  # noqa: E402
from bench.profile_summary import py_spy_record, summarize  # noqa: E402
from bench.runstats import add_cpu_options, cpus_from, machine_line  # noqa: E402

BIN = Path(sys.executable).parent  # this venv's scripts: `probe` as a user runs it
IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


@dataclass(frozen=True)
class Timing:
    label: str
    mean_s: float
    stddev_s: float
    min_s: float
    runs: int


def time_commands(commands: Sequence[tuple[str, list[str]]], runs: int,
                  cpu: int | None) -> list[Timing]:
    """Time each command `runs` times after 3 warm-ups; hyperfine when installed."""
    hyperfine = shutil.which("hyperfine")
    if hyperfine is None:
        return [_loop(label, argv, runs, cpu) for label, argv in commands]
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "hyperfine.json"
        argv = [hyperfine, "-N", "--warmup", "3", "--runs", str(runs), "--style", "none",
                "--export-json", str(export)]
        for label, command in commands:
            argv += ["--command-name", label, shlex.join(command)]
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL,
                       preexec_fn=(lambda: pin_to(cpu)) if cpu is not None else None)
        results = json.loads(export.read_text())["results"]
    return [Timing(r["command"], r["mean"], r["stddev"] or 0.0, r["min"], len(r["times"]))
            for r in results]


def _loop(label: str, argv: list[str], runs: int, cpu: int | None) -> Timing:
    samples = []
    for attempt in range(runs + 3):
        start = time.perf_counter()
        subprocess.run(argv, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       preexec_fn=(lambda: pin_to(cpu)) if cpu is not None else None)
        if attempt >= 3:
            samples.append(time.perf_counter() - start)
    return Timing(label, statistics.mean(samples), statistics.stdev(samples), min(samples), runs)


def table(timings: list[Timing], baseline: Timing) -> str:
    lines = ["| command | mean ms | stddev ms | min ms | runs | x first row |",
             "|---|---|---|---|---|---|"]
    for t in timings:
        lines.append(f"| `{t.label}` | {t.mean_s * 1000:.1f} | {t.stddev_s * 1000:.1f} | "
                     f"{t.min_s * 1000:.1f} | {t.runs} | {t.mean_s / baseline.mean_s:.2f} |")
    return "\n".join(lines)


def import_costs(python: str, argv: list[str], top: int) -> str:
    """The costliest imports of one run, from `python -X importtime` (median of 5 runs)."""
    runs: list[dict[str, tuple[int, int, int]]] = []
    for _ in range(5):
        result = subprocess.run([python, "-X", "importtime", *argv], check=False,
                                capture_output=True, text=True)
        modules = {}
        for line in result.stderr.splitlines():
            match = IMPORT_LINE.match(line)
            if match:
                self_us, cumulative_us, indent, name = match.groups()
                modules[name] = (int(self_us), int(cumulative_us), len(indent) // 2)
        runs.append(modules)
    names = set.intersection(*(set(run) for run in runs))
    median = {name: (statistics.median(run[name][0] for run in runs),
                     statistics.median(run[name][1] for run in runs), runs[0][name][2])
              for name in names}
    total = sum(cost[1] for cost in median.values() if cost[2] == 0)
    lines = [f"all imports (sum of top-level cumulative times, median of 5): "
             f"{total / 1000:.0f} ms", "",
             "| module, with what it imports | cumulative ms | | module alone | self ms |",
             "|---|---|---|---|---|"]
    tops = sorted(median, key=lambda n: -median[n][1])[:top]
    selfs = sorted(median, key=lambda n: -median[n][0])[:top]
    for i in range(max(len(tops), len(selfs))):
        left = f"{tops[i]} | {median[tops[i]][1] / 1000:.1f}" if i < len(tops) else " | "
        right = f"{selfs[i]} | {median[selfs[i]][0] / 1000:.1f}" if i < len(selfs) else " | "
        lines.append(f"| {left} | | {right} |")
    return "\n".join(lines)


def profile(label: str, argv: list[str], runs: int, directory: Path, cpu: int | None) -> str:
    """Where `runs` executions of one command spend their time (py-spy, 1,000 samples/s)."""
    lines: list[str] = []
    for attempt in range(runs):
        output = directory / f"{label.replace(' ', '-')}-{attempt}.txt"
        subprocess.run([*py_spy_record(output, rate=1000), *argv], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       preexec_fn=(lambda: pin_to(cpu)) if cpu is not None else None)
        lines += output.read_text().splitlines()
    return f"{label}, {runs} runs under py-spy:\n{summarize(lines, 12)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--top", type=int, default=15, help="rows of the import table")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="also profile `probe explain 451` and the one-domain probe with "
                             "py-spy (raw profiles kept in DIR) and print where the time goes")
    parser.add_argument("--probe", type=Path, default=BIN / "probe",
                        help="the probe script to time (another checkout: its .venv/bin/probe)")
    add_cpu_options(parser)
    args = parser.parse_args()
    client, server = cpus_from(args)
    probe = str(args.probe)
    python = str(args.probe.parent / "python")  # the interpreter of probe's own venv
    tool = "hyperfine" if shutil.which("hyperfine") else "a repeat loop"
    print(machine_line())
    print(f"timed with {tool}; clients on CPU {client}, servers on CPU {server}\n")

    startup = time_commands([
        ("python -c pass", [python, "-c", "pass"]),
        ("probe explain 451", [probe, "explain", "451"]),
        ("probe compare 214 451", [probe, "compare", "214", "451"]),
        ("probe --help", [probe, "--help"]),
    ], args.runs, client)
    print(table(startup, startup[0]))
    print()
    print(import_costs(python, ["-m", "probe", "explain", "451"], args.top))
    print()

    zone = LoadZone(10, mx_hosts=2)
    with LoadServers(zone, cpu=server) as servers:
        domain = zone.domain(1)
        mx = f"{zone.mx_address(zone.mx_of(1))}:{servers.smtp_port}"
        commands = [(f"probe {domain} --json", [probe, domain, "--json", "--nameserver",
                                                 servers.nameserver, "--port",
                                                 str(servers.smtp_port), "--helo",
                                                 "bench.example"])]
        if shutil.which("swaks"):
            commands.insert(0, ("swaks --quit-after RCPT", [
                "swaks", "--to", f"postmaster@{domain}", "--server", mx, "--quit-after", "RCPT",
                "--from", "<>", "--helo", "bench.example", "--silent", "2"]))
        else:
            print("swaks is not installed (apt-get install swaks): probe alone\n")
        one = time_commands(commands, args.runs, client)
        sessions = servers.stats()["smtp"].get("sessions", 0)
        print(table(one, one[0]))
        print(f"(the SMTP server counted {sessions} sessions: {len(one)} commands x "
              f"({args.runs} runs + 3 warm-ups))\n")
        print(import_costs(python, ["-m", "probe", *commands[-1][1][1:]], args.top))
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        if args.profile is not None:
            args.profile.mkdir(parents=True, exist_ok=True)
            print()
            print(profile("probe explain 451", [probe, "explain", "451"], 10, args.profile,
                          client))
            print()
            print(profile("one-domain probe", commands[-1][1], 10, args.profile, client))


if __name__ == "__main__":
    main()
