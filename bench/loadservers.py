"""The load fixture as a process of its own: FastDns + FastSmtp for a LoadZone.

Why a separate process: on a 2-core machine a benchmark that runs the servers
in the client's event loop (or in a thread of its process) measures the
servers as much as the client. `LoadServers` starts this module as a child
pinned to one CPU (the client is then pinned to the other), waits for it to
say it is listening, and can ask it for counters and its own CPU time, so
every figure comes with the proof that the servers had CPU to spare.

Protocol with the parent, one JSON object per line on stdout:
  ready:  {"dns": "127.0.0.1:PORT", "smtp_port": PORT, "addresses": [...], "pid": N}
  "stats\\n" on stdin -> {"dns": {...counts}, "smtp": {...counts}, "cpu_s": F}
  "reset\\n" on stdin -> counters back to zero, answered with the stats before the reset
  EOF on stdin -> the servers close and the process exits.

Run by hand:  uv run python -m bench.loadservers --domains 5000 --cpu 1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from bench.fastdns import FastDns
from bench.fastsmtp import FastSmtp
from bench.loadzone import LoadZone

ROOT = Path(__file__).resolve().parents[1]
START_DEADLINE = 30.0


def pin_to(cpu: int | None) -> None:
    """Run this process on one CPU only (ignored where affinity is unsupported)."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def serve(zone: LoadZone, dns_port: int, smtp_port: int, out: IO[str]) -> None:
    async with FastDns(zone, port=dns_port) as dns, FastSmtp(zone.addresses(),
                                                             port=smtp_port) as smtp:
        ready = {"dns": dns.nameserver_arg, "smtp_port": smtp.port,
                 "addresses": smtp.addresses, "pid": os.getpid()}
        out.write(json.dumps(ready) + "\n")
        out.flush()
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := await reader.readline():
            command = line.strip().decode("ascii", "replace")
            stats = {"dns": dict(dns.counts), "smtp": dict(smtp.counts), "cpu_s": cpu_seconds()}
            if command == "reset":
                dns.counts.clear()
                smtp.counts.clear()
            out.write(json.dumps(stats) + "\n")
            out.flush()


class LoadServers:
    """Parent-side handle: `with LoadServers(zone, cpu=1) as servers:` ... `servers.stats()`."""

    def __init__(self, zone: LoadZone, cpu: int | None = None,
                 python: str = sys.executable) -> None:
        self.zone = zone
        self.cpu = cpu
        self.python = python
        self.process: subprocess.Popen[str] | None = None
        self.ready: dict[str, Any] = {}

    @property
    def nameserver(self) -> str:
        return str(self.ready["dns"])

    @property
    def smtp_port(self) -> int:
        return int(self.ready["smtp_port"])

    @property
    def pid(self) -> int:
        return int(self.ready["pid"])

    def __enter__(self) -> LoadServers:
        argv = [self.python, "-m", "bench.loadservers", "--domains", str(self.zone.domains),
                "--mx-hosts", str(self.zone.mx_hosts)]
        if self.cpu is not None:
            argv += ["--cpu", str(self.cpu)]
        self.process = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        self.ready = self._read_line()
        return self

    def _read_line(self) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        line = _readline_within(self.process.stdout, START_DEADLINE)
        if not line:
            raise RuntimeError("the load servers did not start (see stderr above)")
        result: dict[str, Any] = json.loads(line)
        return result

    def _ask(self, command: str) -> dict[str, Any]:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._read_line()

    def stats(self) -> dict[str, Any]:
        """Counters since the last reset, and the servers' CPU seconds so far."""
        return self._ask("stats")

    def reset(self) -> dict[str, Any]:
        return self._ask("reset")

    def __exit__(self, *exc: object) -> None:
        if self.process is None:
            return
        with contextlib.suppress(OSError):
            assert self.process.stdin is not None
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None


def _readline_within(stream: IO[str], seconds: float) -> str:
    """One line from a child's pipe, or "" if none came in time (never blocks forever)."""
    import selectors

    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        if not selector.select(seconds):
            return ""
    return stream.readline()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=5000)
    parser.add_argument("--mx-hosts", type=int, default=8)
    parser.add_argument("--dns-port", type=int, default=0)
    parser.add_argument("--smtp-port", type=int, default=0)
    parser.add_argument("--cpu", type=int, help="pin the servers to this CPU")
    args = parser.parse_args()
    pin_to(args.cpu)
    zone = LoadZone(args.domains, args.mx_hosts)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(zone, args.dns_port, args.smtp_port, sys.stdout))


if __name__ == "__main__":
    main()
