"""How many connections a probe may hold open, overall and per destination address.

One object owns both limits so it can outlive a single probe: a batch shares
one `Limits` across every target, and many domains share one provider's MX
addresses, so politeness per address must hold across the whole batch, not
per domain. Per-address semaphores are dropped when nobody holds or waits for
them, so memory stays flat however many addresses a batch meets.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

DEFAULT_SESSIONS = 4
DEFAULT_PER_ADDRESS = 1


class Limits:
    """A global connection cap and a per-destination-address cap."""

    def __init__(self, sessions: int = DEFAULT_SESSIONS,
                 per_address: int = DEFAULT_PER_ADDRESS) -> None:
        if sessions < 1 or per_address < 1:
            raise ValueError("limits must be at least 1")
        self.sessions = sessions
        self.per_address = per_address
        self._global = asyncio.Semaphore(sessions)
        self._addresses: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @asynccontextmanager
    async def slot(self, address: str) -> AsyncIterator[None]:
        """Hold one connection to `address`.

        The address is taken first and the global slot second, so a session
        queued behind a busy address does not sit on a slot another address
        could use.
        """
        semaphore, users = self._addresses.get(address, (None, 0))
        if semaphore is None:
            semaphore = asyncio.Semaphore(self.per_address)
        self._addresses[address] = (semaphore, users + 1)
        try:
            async with semaphore, self._global:
                yield
        finally:
            semaphore, users = self._addresses[address]
            if users <= 1:
                del self._addresses[address]
            else:
                self._addresses[address] = (semaphore, users - 1)

    @property
    def tracked_addresses(self) -> int:
        """Addresses with a holder or a waiter right now (flat over a long batch)."""
        return len(self._addresses)
