"""How much load the loopback servers can take: the test suite's versus the load fixture's.

Run:  uv run python bench/fixture_bench.py [--queries 20000] [--sessions 3000]

A batch benchmark is only honest if its servers are not the bottleneck. This
measures each server in a child process pinned to CPU 1, driven from CPU 0:

* DNS: `tests/dnsserver.py` (dnspython messages, a thread) and `bench/fastdns.py`
  (wire bytes prepared once), both serving the same LoadZone, asked the mix
  of questions probe asks per domain (MX, A, AAAA, PTR) over UDP, 32 in
  flight, by a plain blocking-socket client.
* SMTP: `tests/smtpserver.py`'s `Scripted(dialog())` (asyncio streams, one
  coroutine per session) and `bench/fastsmtp.py` (a bare Protocol), each
  driven by the SMTP-only floor client (banner/EHLO/MAIL/RCPT/QUIT).

Printed: answers per second and the server's CPU time per answer (from
/proc/PID/stat), whose inverse is what one core could serve at most.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dns.message  # noqa: E402

from bench.fastdns import FastDns  # noqa: E402
from bench.fastsmtp import FastSmtp  # noqa: E402
from bench.loadservers import pin_to  # noqa: E402
from bench.loadzone import LoadZone  # noqa: E402
from bench.runstats import cpu_split, machine_line, run_measured  # noqa: E402

WINDOW = 32  # DNS queries in flight


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- servers in child processes ---------------------------------------------------------

def _serve_old_dns(zone: LoadZone, cpu: int | None, conn: Connection) -> None:
    pin_to(cpu)
    from tests.dnsserver import DnsServer

    with DnsServer(zone.records()) as server:
        conn.send(server.port)
        conn.recv()


async def _hold(server: FastDns | FastSmtp, conn: Connection) -> None:
    """Serve until the parent says stop (any message on the pipe)."""
    async with server:
        conn.send(server.port)
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)


def _serve_fast_dns(zone: LoadZone, cpu: int | None, conn: Connection) -> None:
    pin_to(cpu)
    asyncio.run(_hold(FastDns(zone), conn))


def _serve_old_smtp(zone: LoadZone, cpu: int | None, conn: Connection) -> None:
    pin_to(cpu)
    from tests.smtpserver import Scripted, dialog

    async def serve() -> None:
        servers = [Scripted(dialog(), host=address) for address in zone.addresses()]
        async with contextlib.AsyncExitStack() as stack:
            first = await stack.enter_async_context(servers[0])
            for server in servers[1:]:
                server.port = first.port
                await stack.enter_async_context(server)
            conn.send(first.port)
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)

    asyncio.run(serve())


def _serve_fast_smtp(zone: LoadZone, cpu: int | None, conn: Connection) -> None:
    pin_to(cpu)
    asyncio.run(_hold(FastSmtp(zone.addresses()), conn))


Server = Callable[[LoadZone, int | None, Connection], None]


@contextlib.contextmanager
def child_server(target: Server, zone: LoadZone, cpu: int | None) -> Iterator[tuple[int, int]]:
    """Run a server in a child process; yields (pid, port); stops it on exit."""
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("fork").Process(target=target, args=(zone, cpu, child))
    process.start()
    try:
        if not parent.poll(30):
            raise RuntimeError("server did not start")
        assert process.pid is not None
        yield process.pid, int(parent.recv())
    finally:
        with contextlib.suppress(OSError):
            parent.send("stop")
        process.join(10)
        if process.is_alive():
            process.kill()
            process.join()


# -- clients ---------------------------------------------------------------------------

def dns_questions(zone: LoadZone, count: int) -> list[bytes]:
    """Per domain probe asks MX, then A and AAAA of the MX host, then PTR of its address."""
    wires = []
    for i in range(count):
        index = i // 4 % zone.domains + 1
        mx = zone.mx_of(index)
        name, rdtype = [(zone.domain(index), "MX"), (zone.mx_host(mx), "A"),
                        (zone.mx_host(mx), "AAAA"),
                        (zone.reverse_name(mx), "PTR")
                        ][i % 4]
        query = dns.message.make_query(name, rdtype)
        query.id = i % 65536
        wires.append(query.to_wire())
    return wires


def blast_dns(port: int, wires: list[bytes]) -> tuple[float, int]:
    """Send every query (WINDOW in flight); (seconds, answers received)."""
    answered = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(("127.0.0.1", port))
        sock.settimeout(2.0)
        start = time.perf_counter()
        for offset in range(0, len(wires), WINDOW):
            window = wires[offset:offset + WINDOW]
            for wire in window:
                sock.send(wire)
            for _ in window:
                try:
                    sock.recv(4096)
                except TimeoutError:
                    break
                answered += 1
        return time.perf_counter() - start, answered


def measure_dns(name: str, target: Server, zone: LoadZone, wires: list[bytes],
                cpus: tuple[int | None, int | None]) -> str:
    pin_to(cpus[0])
    with child_server(target, zone, cpus[1]) as (pid, port):
        blast_dns(port, wires[:200])  # warm-up
        before = process_cpu_seconds(pid)
        seconds, answered = blast_dns(port, wires)
        used = process_cpu_seconds(pid) - before
    return (f"| {name} | {len(wires):,} | {answered:,} | {answered / seconds:,.0f} | "
            f"{used / max(answered, 1) * 1e6:.0f} | {answered / max(used, 1e-9):,.0f} |")


def measure_smtp(name: str, target: Server, zone: LoadZone, sessions: int,
                 cpus: tuple[int | None, int | None], workdir: Path) -> str:
    targets = workdir / "smtp-targets.txt"
    with targets.open("w") as handle:
        for index in range(1, sessions + 1):
            handle.write(f"{zone.domain(index)} {zone.mx_address(zone.mx_of(index))}\n")
    with child_server(target, zone, cpus[1]) as (pid, port):
        argv = [sys.executable, "-m", "bench.floor_client", str(targets), "--port", str(port)]
        before = process_cpu_seconds(pid)
        run = run_measured(argv, cpu=cpus[0], cwd=ROOT)
        used = process_cpu_seconds(pid) - before
    ok = "all ok" if run.returncode == 0 else f"client exit {run.returncode}"
    return (f"| {name} | {sessions:,} | {ok} | {sessions / run.wall_s:,.0f} | "
            f"{used / sessions * 1e6:.0f} | {sessions / max(used, 1e-9):,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=20000)
    parser.add_argument("--sessions", type=int, default=3000)
    parser.add_argument("--domains", type=int, default=5000)
    args = parser.parse_args()
    cpus = cpu_split(0, 1)
    zone = LoadZone(max(args.domains, args.sessions), 8)
    print(machine_line())
    print(f"client on CPU {cpus[0]}, server on CPU {cpus[1]}")
    print("| DNS server | queries | answered | answers/s | server CPU us/query | "
          "max queries/s per core |")
    print("|---|---|---|---|---|---|")
    wires = dns_questions(zone, args.queries)
    print(measure_dns("tests/dnsserver.py (thread, dnspython messages)", _serve_old_dns, zone,
                      wires, cpus), flush=True)
    print(measure_dns("bench/fastdns.py (asyncio, prepared bytes)", _serve_fast_dns, zone,
                      wires, cpus), flush=True)
    print()
    print("| SMTP server | sessions | result | sessions/s | server CPU us/session | "
          "max sessions/s per core |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        print(measure_smtp("tests/smtpserver.py Scripted(dialog())", _serve_old_smtp, zone,
                           args.sessions, cpus, Path(tmp)), flush=True)
        print(measure_smtp("bench/fastsmtp.py FastSmtp", _serve_fast_smtp, zone,
                           args.sessions, cpus, Path(tmp)), flush=True)


if __name__ == "__main__":
    main()
