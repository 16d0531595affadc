"""Group targets so that no destination address is probed from two places at once.

A cluster batch keeps `--per-ip` without any cross-worker locking by giving
each shard the sole use of its destination addresses: targets that share an
address (directly, or through a chain of other targets) form one connected
component and always land in the same shard. Union-find over the addresses
finds the components in near-linear time.

A shard is a list of chunks run one after the other, never two at once, so
two chunks of a shard may share addresses; different shards never do and run
in parallel. Small components are packed together into chunks of about
`chunk_size` targets; a component larger than that (everyone on one provider)
cannot be split across shards, so it becomes one shard of several chunks, and
its speed is bounded by `--per-ip` times its addresses, whatever the cluster
size. Chunks bound what a worker hands back at once, and what one retry redoes.

Pure functions over target indices: no DNS, no Dask, tested on their own.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Sequence

Chunk = list[int]
Shard = list[Chunk]


def components(destinations: Sequence[Collection[str]]) -> list[list[int]]:
    """Indices of `destinations` grouped by shared addresses (connected components).

    A target without any address (its DNS failed) is a component of its own.
    Components come in the order of their first index, each in index order.
    """
    parent = list(range(len(destinations)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]  # path halving keeps chains short
            index = parent[index]
        return index

    owner: dict[str, int] = {}
    for index, addresses in enumerate(destinations):
        for address in addresses:
            first = owner.setdefault(address, index)
            a, b = root(first), root(index)
            if a != b:
                parent[max(a, b)] = min(a, b)  # the smaller index stays the root
    groups: dict[int, list[int]] = {}
    for index in range(len(destinations)):
        groups.setdefault(root(index), []).append(index)
    return list(groups.values())


def shards(groups: Sequence[Sequence[int]], chunk_size: int) -> list[Shard]:
    """Pack components into shards of chunks of at most `chunk_size` targets.

    A component larger than `chunk_size` becomes a shard of its own, cut into
    consecutive chunks (run in order, so its addresses are never shared with a
    parallel chunk). The others are packed best-fit-decreasing: largest first,
    each into the fullest chunk that still has room for it (found by bisection,
    so a hundred thousand components pack in a moment).
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    result: list[Shard] = []
    small: list[Sequence[int]] = []
    for group in groups:
        if len(group) > chunk_size:
            result.append([list(group[start:start + chunk_size])
                           for start in range(0, len(group), chunk_size)])
        else:
            small.append(group)
    chunks: list[Chunk] = []
    rooms: list[tuple[int, int]] = []  # (room left, chunk number), sorted
    for group in sorted(small, key=len, reverse=True):
        at = bisect.bisect_left(rooms, (len(group), -1))
        if at == len(rooms):
            chunks.append([])
            number, room = len(chunks) - 1, chunk_size
        else:
            room, number = rooms.pop(at)
        chunks[number].extend(group)
        if room > len(group):
            bisect.insort(rooms, (room - len(group), number))
    result.extend([sorted(chunk)] for chunk in chunks)
    return result
