"""The shared limits: a global cap, a per-address cap, and nothing kept for idle addresses."""

from __future__ import annotations

import asyncio

import pytest

from probe.core.limits import Limits


async def _hold(limits: Limits, address: str, log: list[tuple[str, str]],
                seconds: float = 0.05) -> None:
    async with limits.slot(address):
        log.append(("in", address))
        await asyncio.sleep(seconds)
        log.append(("out", address))


def _peak(log: list[tuple[str, str]], address: str | None = None) -> int:
    now = peak = 0
    for event, where in log:
        if address is not None and where != address:
            continue
        now += 1 if event == "in" else -1
        peak = max(peak, now)
    return peak


async def test_one_connection_per_address_across_many_users():
    limits = Limits(sessions=10, per_address=1)
    log: list[tuple[str, str]] = []
    await asyncio.gather(*(_hold(limits, "192.0.2.1", log) for _ in range(5)),
                         *(_hold(limits, "192.0.2.2", log) for _ in range(5)))
    assert _peak(log, "192.0.2.1") == 1 and _peak(log, "192.0.2.2") == 1
    assert _peak(log) == 2
    assert limits.tracked_addresses == 0  # nothing kept once nobody waits


async def test_global_cap_and_a_wider_per_address_cap():
    limits = Limits(sessions=3, per_address=2)
    log: list[tuple[str, str]] = []
    await asyncio.gather(*(_hold(limits, f"192.0.2.{i % 2}", log) for i in range(10)))
    assert _peak(log) == 3
    assert sorted(_peak(log, f"192.0.2.{i}") for i in range(2)) == [2, 2]


async def test_a_queued_address_does_not_hold_a_global_slot():
    """Waiting for a busy address must not starve other addresses of global slots."""
    limits = Limits(sessions=2, per_address=1)
    log: list[tuple[str, str]] = []
    busy = [asyncio.create_task(_hold(limits, "192.0.2.1", log, 0.2)) for _ in range(3)]
    await asyncio.sleep(0.01)
    await asyncio.wait_for(_hold(limits, "192.0.2.9", log, 0.0), timeout=0.15)
    await asyncio.gather(*busy)


def test_limits_must_be_positive():
    with pytest.raises(ValueError):
        Limits(sessions=0)
