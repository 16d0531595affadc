"""The organisational domain of a name (RFC 7489 §3.2), from the Public Suffix List.

The list is the snapshot bundled with the `publicsuffixlist` package, read
from disk once: nothing is fetched at run time, so the answer depends only
on the installed version. Both the ICANN and the private sections count
(`user.github.io` is its own organisation), as deployed DMARC receivers do.
DMARCbis replaces this with a walk up the DNS tree; until receivers do it,
the list is what decides which record applies.
"""

from __future__ import annotations

from functools import cache

from publicsuffixlist import PublicSuffixList


@cache
def _list() -> PublicSuffixList:
    return PublicSuffixList()


def organizational_domain(domain: str) -> str | None:
    """The registered domain `domain` belongs to; None for a public suffix itself."""
    found = _list().privatesuffix(domain.lower().rstrip("."))
    return str(found) if found else None
