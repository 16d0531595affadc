"""The floor: a bare asyncio client doing a batch's DNS and SMTP work, nothing more.

What `probe batch` could reach if all it did were the network exchanges:
no plan objects, no reply framing or annotation, no events, no JSON. It uses
the same DNS library as probe (dnspython's async resolver, no cache) and
plain asyncio streams, keeps `--concurrency` domains in flight, and reads
targets lazily so memory stays flat.

Per domain, `--exchange minimal` (the issue's definition of the floor):
  MX of the domain, A of the best MX host; banner, EHLO, MAIL FROM:<>,
  RCPT TO:<postmaster@DOMAIN>, QUIT.
`--exchange probe` adds what `probe` itself does on the same domain: AAAA of
the MX host, PTR of the address and A of the PTR name (alongside the
session, as probe checks reverse DNS), and HELP after EHLO.

A target line is `DOMAIN` or `DOMAIN ADDRESS`; with an address the DNS
lookups are skipped (the SMTP-only floor). Prints one JSON summary line:
{"ok": N, "failed": N, "errors": {...}}. Exit code 0 when every domain passed.

Run:  uv run python -m bench.floor_client TARGETS --nameserver 127.0.0.1:PORT --port N
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections import Counter
from collections.abc import Iterator
from typing import IO

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.reversename

DEADLINE = 10.0  # seconds per domain, DNS and SMTP together
MAX_REPLY_LINES = 100
ERROR_KINDS_KEPT = 20


class Failed(Exception):
    """A domain did not complete its exchange as expected."""


def make_resolver(nameserver: str) -> dns.asyncresolver.Resolver:
    host, _, port = nameserver.rpartition(":")
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [dns.nameserver.Do53Nameserver(host, int(port))]
    resolver.timeout, resolver.lifetime = 3.0, DEADLINE
    return resolver


async def read_reply(reader: asyncio.StreamReader) -> bytes:
    """The code of one (possibly multi-line) reply."""
    for _ in range(MAX_REPLY_LINES):
        line = await reader.readline()
        if len(line) < 4:
            raise Failed("short or missing reply")
        if line[3:4] != b"-":
            return line[:3]
    raise Failed("reply too long")


class Floor:
    def __init__(self, resolver: dns.asyncresolver.Resolver | None, port: int, full: bool,
                 helo: str) -> None:
        self.resolver = resolver
        self.port = port
        self.full = full
        self.helo = helo.encode("ascii")
        self.ok = 0
        self.errors: Counter[str] = Counter()

    async def mx_address(self, domain: str) -> str:
        assert self.resolver is not None
        answer = await self.resolver.resolve(domain, "MX", search=False)
        best = min(answer, key=lambda rdata: rdata.preference).exchange
        if self.full:
            a, _aaaa = await asyncio.gather(
                self.resolver.resolve(best, "A", search=False),
                self.resolver.resolve(best, "AAAA", search=False, raise_on_no_answer=False))
        else:
            a = await self.resolver.resolve(best, "A", search=False)
        return str(a[0].address)

    async def reverse(self, address: str) -> None:
        assert self.resolver is not None
        ptr = await self.resolver.resolve(dns.reversename.from_address(address), "PTR",
                                          search=False)
        await self.resolver.resolve(ptr[0].target, "A", search=False)

    async def session(self, domain: str, address: str) -> None:
        reader, writer = await asyncio.open_connection(address, self.port)
        try:
            commands = [b"EHLO " + self.helo, b"MAIL FROM:<>",
                        b"RCPT TO:<postmaster@" + domain.encode("ascii") + b">", b"QUIT"]
            if self.full:
                commands.insert(1, b"HELP")
            if await read_reply(reader) != b"220":
                raise Failed("banner not 220")
            for command in commands:
                writer.write(command + b"\r\n")
                code = await read_reply(reader)
                if command != b"HELP" and code[:1] != b"2":
                    raise Failed(f"{command.split()[0].decode()} answered {code.decode()}")
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def one(self, line: str) -> None:
        domain, _, address = line.partition(" ")
        try:
            async with asyncio.timeout(DEADLINE):
                if not address:
                    address = await self.mx_address(domain)
                if self.full and self.resolver is not None:
                    await asyncio.gather(self.session(domain, address), self.reverse(address))
                else:
                    await self.session(domain, address)
            self.ok += 1
        except (Failed, OSError, TimeoutError, dns.exception.DNSException) as exc:
            kind = f"{exc.__class__.__name__}: {exc}"[:120]
            if kind in self.errors or len(self.errors) < ERROR_KINDS_KEPT:
                self.errors[kind] += 1
            else:
                self.errors["other"] += 1

    async def run(self, lines: Iterator[str], concurrency: int) -> None:
        async def worker() -> None:
            for line in lines:  # one shared iterator: each line goes to one worker
                await self.one(line)

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def targets(handle: IO[str]) -> Iterator[str]:
    for raw in handle:
        line = raw.strip()
        if line and not line.startswith("#"):
            yield line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="targets, one per line (DOMAIN or DOMAIN ADDRESS)")
    parser.add_argument("--nameserver", help="IP:PORT of the DNS server")
    parser.add_argument("--port", type=int, required=True, help="SMTP port")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--exchange", choices=("minimal", "probe"), default="minimal")
    parser.add_argument("--helo", default="bench.example")
    parser.add_argument("--cpu", type=int, help="pin this process to one CPU")
    args = parser.parse_args()
    if args.cpu is not None:
        from bench.loadservers import pin_to
        pin_to(args.cpu)
    resolver = make_resolver(args.nameserver) if args.nameserver else None
    floor = Floor(resolver, args.port, args.exchange == "probe", args.helo)
    with open(args.file, encoding="utf-8") as handle:
        asyncio.run(floor.run(targets(handle), args.concurrency))
    failed = sum(floor.errors.values())
    json.dump({"ok": floor.ok, "failed": failed, "errors": dict(floor.errors)}, sys.stdout)
    sys.stdout.write("\n")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
