"""Running a command as a measured child: wall time, peak RSS, CPU seconds, machine facts.

Shared by the batch and start-up benchmarks so every figure is taken the
same way: the child is started pinned to a CPU (when asked), and `os.wait4`
returns its own resource usage, so peak memory and CPU time are the
child's (and its waited-for descendants'), never the harness's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bench.loadservers import pin_to


@dataclass(frozen=True)
class Measured:
    """What one child run cost."""

    wall_s: float
    cpu_s: float  # user + system
    peak_rss_mb: float  # the largest single process's peak (ru_maxrss)
    returncode: int


def run_measured(argv: Sequence[str], *, cpu: int | None = None, stdout: IO[str] | None = None,
                 cwd: Path | None = None, timeout: float = 3600.0) -> Measured:
    """Run `argv` to completion; stdout goes to `stdout` (default: discarded)."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=stdout or subprocess.DEVNULL, cwd=cwd,
                               preexec_fn=(lambda: pin_to(cpu)) if cpu is not None else None)
    deadline = start + timeout
    while True:  # wait4 without WNOHANG cannot time out; poll so a hang cannot hold the bench
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            process.kill()
            _, status, usage = os.wait4(process.pid, 0)
            break
        time.sleep(0.005)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return Measured(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
                    process.returncode)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def machine_line() -> str:
    """Date, CPU, core count, Python, load: the context every figure needs."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f"{now}; {cpu_model()}, nproc {os.cpu_count()}; python "
            f"{sys.version.split()[0]}; load average {load_average()}")


def cpu_split(client: int | None, server: int | None) -> tuple[int | None, int | None]:
    """The CPUs to pin client and servers to, or no pinning on a one-CPU machine."""
    if not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2:
        return None, None
    return client, server


def add_cpu_options(parser: argparse.ArgumentParser) -> None:
    """--client-cpu and --server-cpu (defaults 0 and 1), read back with `cpus_from`."""
    parser.add_argument("--client-cpu", type=int, default=0, help="pin clients to this CPU")
    parser.add_argument("--server-cpu", type=int, default=1, help="pin servers to this CPU")


def cpus_from(args: argparse.Namespace) -> tuple[int | None, int | None]:
    return cpu_split(args.client_cpu, args.server_cpu)
