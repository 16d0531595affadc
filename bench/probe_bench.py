"""End-to-end probe timing against loopback servers (not a test; prints numbers).

Run:  uv run python bench/probe_bench.py [--hosts 10] [--delay 0.05] [--repeat 3]

A DNS zone on the suite's loopback DNS server lists HOSTS MX records, each on
its own 127.0.0.x address running a scripted SMTP server that waits DELAY
seconds before every reply (a slow-ish real MTA). The run probes all of them
through `run_probe` exactly as the CLI does and reports the wall time from
start to ProbeDone, and what it would be if the hosts were probed one after
another (the sum of the session times), which shows what bounded concurrency
buys. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from probe.core.events import HostDone, HostStarted, ProbeDone  # noqa: E402
from probe.core.plan import build_plan  # noqa: E402
from probe.core.runner import run_probe  # noqa: E402
from tests.dnsserver import DnsServer  # noqa: E402
from tests.smtpserver import Scripted, dialog  # noqa: E402


def slow(delay: float):
    inner = dialog()

    async def script(reader, writer, server):
        class SlowWriter:
            def __getattr__(self, name):
                return getattr(writer, name)

            def write(self, data):
                writer.write(data)

            async def drain(self):
                await asyncio.sleep(delay)
                await writer.drain()

        await inner(reader, SlowWriter(), server)

    return script


async def one_run(hosts: int, delay: float, port: int, nameserver: str) -> tuple[float, float]:
    plan = build_plan("bench.test", nameservers=[nameserver], port=port, helo="probe.test",
                      timeout=10)
    started_at: dict = {}
    session_total = 0.0
    begin = time.perf_counter()
    async for event in run_probe(plan):
        if isinstance(event, HostStarted):
            started_at[event.key] = time.perf_counter()
        elif isinstance(event, HostDone):
            session_total += time.perf_counter() - started_at[event.key]
        elif isinstance(event, ProbeDone):
            assert event.exit_code == 0, event
    return time.perf_counter() - begin, session_total


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    servers = [Scripted(slow(args.delay), host=f"127.0.0.{10 + i}", port=0)
               for i in range(args.hosts)]
    first = await servers[0].__aenter__()
    for server in servers[1:]:
        server.port = first.port
        await server.__aenter__()
    zone = "\n".join([f"bench.test. MX {10 * (i + 1)} mx{i}.bench.test." for i in
                      range(args.hosts)] + [f"mx{i}.bench.test. A 127.0.0.{10 + i}" for i in
                                            range(args.hosts)]) + "\n"
    try:
        with DnsServer(zone) as dns:
            walls, sums = [], []
            for _ in range(args.repeat):
                wall, total = await one_run(args.hosts, args.delay, first.port,
                                            dns.nameserver_arg)
                walls.append(wall)
                sums.append(total)
    finally:
        for server in servers:
            await server.__aexit__(None, None, None)
    print(f"python {sys.version.split()[0]}, {args.hosts} MX hosts, {args.delay * 1000:.0f} ms "
          f"per reply, median of {args.repeat}")
    print(f"probe wall time (DNS + all sessions)   {statistics.median(walls) * 1000:8.0f} ms")
    print(f"sum of session times (sequential)      {statistics.median(sums) * 1000:8.0f} ms")


if __name__ == "__main__":
    asyncio.run(main())
