"""The generated world the batch benchmarks probe: N domains on a few shared MX hosts.

Like real life, where a million domains point their MX at the same handful
of Google or Microsoft hosts, domain `d000001.bench.test` ... `dNNNNNN.bench.test`
each has one MX record, and the MX hosts are few: `mx0.bench.test` ...
`mx{M-1}.bench.test`, each on its own loopback address 127.0.0.(10+k), all
listening on one SMTP port. Every address has a PTR record back to its MX
name, so reverse-DNS checks find a forward-confirmed name (the quiet path).

One object describes the world for everyone who needs it: the DNS responder
answers from it, the SMTP server binds its addresses, and the clients
(probe, the bare-asyncio floor, swaks) take their targets from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

FIRST_HOST_OCTET = 10  # mx0 is 127.0.0.10: clear of 127.0.0.1, which everything else uses
MAX_MX_HOSTS = 240  # 127.0.0.10 .. 127.0.0.249


@dataclass(frozen=True)
class LoadZone:
    """N domains (numbered from 1) spread round-robin over M MX hosts."""

    domains: int
    mx_hosts: int = 8
    suffix: str = "bench.test"

    def __post_init__(self) -> None:
        if self.domains < 1:
            raise ValueError("a zone needs at least one domain")
        if not 1 <= self.mx_hosts <= MAX_MX_HOSTS:
            raise ValueError(f"mx_hosts must be between 1 and {MAX_MX_HOSTS}")

    def domain(self, index: int) -> str:
        """The name of domain `index` (1-based), e.g. d000001.bench.test."""
        return f"d{index:06d}.{self.suffix}"

    def index_of(self, domain: str) -> int | None:
        """The number of a generated domain, or None when the name is not one of them."""
        label, dot, rest = domain.lower().rstrip(".").partition(".")
        if not dot or rest != self.suffix or len(label) < 2 or label[0] != "d":
            return None
        digits = label[1:]
        if not digits.isascii() or not digits.isdigit():
            return None
        index = int(digits)
        return index if 1 <= index <= self.domains and label == f"d{index:06d}" else None

    def mx_of(self, index: int) -> int:
        """Which MX host serves domain `index`."""
        return (index - 1) % self.mx_hosts

    def mx_host(self, mx: int) -> str:
        return f"mx{mx}.{self.suffix}"

    def mx_address(self, mx: int) -> str:
        return f"127.0.0.{FIRST_HOST_OCTET + mx}"

    def reverse_name(self, mx: int) -> str:
        """The PTR owner name of MX host `mx`'s address (x.0.0.127.in-addr.arpa)."""
        return ".".join(reversed(self.mx_address(mx).split("."))) + ".in-addr.arpa"

    def addresses(self) -> list[str]:
        return [self.mx_address(mx) for mx in range(self.mx_hosts)]

    def records(self) -> list[tuple[str, str, str]]:
        """The whole zone as (owner, type, rdata) records, e.g. for tests/dnsserver.py."""
        records = [(f"{self.domain(i)}.", "MX", f"10 {self.mx_host(self.mx_of(i))}.")
                   for i in range(1, self.domains + 1)]
        for mx in range(self.mx_hosts):
            records.append((f"{self.mx_host(mx)}.", "A", self.mx_address(mx)))
            records.append((f"{self.reverse_name(mx)}.", "PTR", f"{self.mx_host(mx)}."))
        return records

    def targets(self, count: int | None = None) -> Iterator[str]:
        """The first `count` domain names (all of them by default), in order."""
        for index in range(1, (count or self.domains) + 1):
            yield self.domain(index)
