"""What a cluster worker runs: phase 1 (where each target's mail goes) and
phase 2 (one chunk of a shard, probed by the ordinary batch engine).

Both are plain functions of picklable values, each running its own event
loop in the worker's task thread, so Dask ships them like any other task.
Results are small per target and go back as one list per chunk.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from ..batch import Batch, BatchOptions, Resolvers, shared_resolver
from ..core.limits import Limits

if TYPE_CHECKING:
    from ..core.plan import Plan

Result = tuple[int, int, str]  # (index of the target in its chunk, exit code, JSON line)


class _Watched(Limits):
    """Limits that note each address outside the shard's own (DNS changed since phase 1)."""

    def __init__(self, sessions: int, per_address: int, owned: frozenset[str]) -> None:
        super().__init__(sessions, per_address)
        self.owned = owned
        self.foreign: set[str] = set()

    @asynccontextmanager
    async def slot(self, address: str) -> AsyncIterator[None]:
        if address not in self.owned:
            self.foreign.add(address)
        async with super().slot(address):
            yield


def destinations(plans: list[Plan], concurrency: int) -> list[tuple[str, ...]]:
    """Per plan, the addresses its probe would connect to; () when its DNS failed."""
    return asyncio.run(_destinations(plans, concurrency))


async def _destinations(plans: list[Plan], concurrency: int) -> list[tuple[str, ...]]:
    from ..core.runner import discover

    resolvers: Resolvers = {}
    pool = asyncio.Semaphore(concurrency)

    async def one(plan: Plan) -> tuple[str, ...]:
        async with pool:
            try:
                found = await discover(plan, shared_resolver(resolvers, plan))
            except Exception:  # its probe will meet and report the same failure
                return ()
        return tuple(sorted({address for record in found.records
                             for address in record.addresses}))

    return await asyncio.gather(*(one(plan) for plan in plans))


def probe_chunk(plans: list[Plan], options: BatchOptions, own_helo: bool,
                owned: frozenset[str]) -> tuple[list[Result], set[str]]:
    """Probe one chunk with the local batch engine: its lines, in completion order, and
    the addresses it met outside `owned` (its shard's, from phase 1).

    With `own_helo` (no --helo given) each worker greets with its own name,
    as the plain batch does on the machine it runs on: the name a receiving
    server checks against the address the connection comes from.
    """
    if own_helo:
        from ..core.plan import default_helo

        helo = default_helo()
        plans = [dataclasses.replace(plan, helo=helo) for plan in plans]
    position = {id(plan): index for index, plan in enumerate(plans)}
    results: list[Result] = []
    batch = Batch(_no_lines, options, sys.stdout, sys.stderr)
    batch.deliver = lambda plan, code, line: results.append((position[id(plan)], code, line))
    limits = _Watched(options.concurrency, options.per_ip, owned)
    batch.limits = lambda: limits  # type: ignore[method-assign]
    asyncio.run(batch.run(iter(plans)))
    return results, limits.foreign


def _no_lines(target: str) -> Plan:
    raise AssertionError("a worker is handed plans, never target lines")
