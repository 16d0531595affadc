"""Grouping targets into shards that never share a destination address (no Dask here)."""

from __future__ import annotations

import random

import pytest

from probe.cluster.shard import components, shards


def _addresses_of(chunks, destinations):
    return {address for chunk in chunks for index in chunk for address in destinations[index]}


def test_targets_sharing_an_address_directly_or_through_a_chain_are_one_component():
    destinations = [
        {"192.0.2.1"},               # 0: with 2 (same address)
        {"192.0.2.9"},               # 1: alone
        {"192.0.2.1", "192.0.2.2"},  # 2: bridges 0 and 3
        {"192.0.2.2"},               # 3
        set(),                       # 4: DNS failed: a component of its own
        set(),                       # 5: another failure, not joined to 4
        {"2001:db8::1"},             # 6: alone
    ]
    assert components(destinations) == [[0, 2, 3], [1], [4], [5], [6]]


def test_duplicate_targets_are_kept_apart_as_indices_but_grouped():
    assert components([{"a"}, {"a"}, {"a"}]) == [[0, 1, 2]]
    assert components([]) == []


def test_small_components_are_packed_into_full_chunks_and_every_index_appears_once():
    groups = [[0], [1, 2, 3], [4, 5], [6], [7], [8, 9, 10, 11]]
    packed = shards(groups, chunk_size=4)
    assert all(len(shard) == 1 for shard in packed)  # no component is larger than a chunk
    chunks = [shard[0] for shard in packed]
    assert sorted(i for chunk in chunks for i in chunk) == list(range(12))
    assert all(len(chunk) <= 4 for chunk in chunks)
    assert len(chunks) == 3  # 12 targets, chunks of 4: packed without waste here
    for group in groups:  # a component is never split across chunks
        assert sum(set(group) <= set(chunk) for chunk in chunks) == 1


def test_a_giant_component_stays_one_shard_of_consecutive_chunks():
    destinations = [{"198.51.100.1"} for _ in range(10)] + [{"198.51.100.2"}, set()]
    packed = shards(components(destinations), chunk_size=4)
    giant = [shard for shard in packed if len(shard) > 1]
    assert giant == [[[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]]
    others = [shard for shard in packed if len(shard) == 1]
    assert sorted(i for shard in others for i in shard[0]) == [10, 11]


def test_chunk_size_must_be_positive():
    with pytest.raises(ValueError):
        shards([[0]], chunk_size=0)


@pytest.mark.parametrize("seed", range(5))
def test_no_address_is_in_two_shards_on_random_worlds(seed):
    rng = random.Random(seed)
    pool = [f"10.0.{i // 256}.{i % 256}" for i in range(300)]
    destinations = [set(rng.sample(pool, rng.randint(0, 3))) for _ in range(2_000)]
    packed = shards(components(destinations), chunk_size=50)
    seen = sorted(i for shard in packed for chunk in shard for i in chunk)
    assert seen == list(range(len(destinations)))
    owned = [_addresses_of(shard, destinations) for shard in packed]
    for a in range(len(owned)):
        for b in range(a + 1, len(owned)):
            assert not owned[a] & owned[b]
    assert all(len(chunk) <= 50 for shard in packed for chunk in shard)


def test_a_hundred_thousand_singletons_pack_in_linear_time():
    destinations = [{f"addr-{i}"} for i in range(100_000)]
    packed = shards(components(destinations), chunk_size=400)
    assert len(packed) == 250 and all(len(shard[0]) == 400 for shard in packed)
