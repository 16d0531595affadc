"""The client side of `probe batch --cluster`: connect, discover, shard, merge.

Phase 1 sends the targets to the workers in chunks to learn, per target, the
addresses its probe will connect to (the probe's own discovery code). Phase 2
groups the targets into shards that share no address (`shard`), and runs each
shard's chunks one after the other on the workers with the ordinary batch
engine, so `--per-ip` holds across the cluster with no cross-worker lock.
Chunks come back whole as they finish and are written here at once, in
completion order; a target is written once even when a chunk is run again
after a worker died (Dask reschedules its tasks: at-least-once).

Bad input (a malformed address, an unreachable scheduler, Dask missing) is an
InputError before any target is read; a cluster lost mid-run is EngineFailed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

from ..batch import Batch, BatchOptions, EngineFailed
from ..core.input_error import InputError
from ..sanitize import to_display
from .shard import components, shards

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

    from ..core.plan import Plan

# A scheduler that does not answer (or has no worker) within this is refused.
CONNECT_SECONDS = 10.0
# Targets per phase-1 task: enough that a task is worth shipping.
DISCOVERY_CHUNK = 500
# A chunk holds this many times --concurrency, so its pool stays full for most
# of its run; small enough that a retried chunk redoes little.
CHUNK_PER_CONCURRENCY = 4
# Reruns of a task that raised (a worker that died is rescheduled by the
# scheduler on its own, up to its `allowed-failures`).
RETRIES = 2
# Chunks queued per worker thread: one running, one ready to start.
QUEUED_PER_THREAD = 2
MAX_LOCAL_WORKERS = 256

_REMOTE = re.compile(r"(tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})\Z")


@dataclass(frozen=True)
class ClusterAddress:
    """`local` / `local:N` (workers started here) or a scheduler's address."""

    text: str
    local_workers: int | None = None

    @property
    def encrypted(self) -> bool:
        return self.local_workers is not None or self.text.startswith("tls://")


def parse_address(text: str) -> ClusterAddress:
    """Validate --cluster: local, local:N, tcp://HOST:PORT or tls://HOST:PORT."""
    if text == "local":
        return ClusterAddress(text, os.cpu_count() or 1)
    if text.startswith("local:"):
        count = text[6:]
        if not count.isdigit() or not 1 <= int(count) <= MAX_LOCAL_WORKERS:
            raise InputError(f"--cluster {to_display(text)!r}: the number of local workers "
                             f"must be 1-{MAX_LOCAL_WORKERS}")
        return ClusterAddress(text, int(count))
    match = _REMOTE.match(text)
    if match is None or not 1 <= int(match.group(3)) <= 65535:
        raise InputError(f"--cluster {to_display(text)!r} must be local, local:N, or a Dask "
                         "scheduler address such as tcp://10.0.0.5:8786")
    return ClusterAddress(text)


def refuse_secrets_in_clear(address: ClusterAddress, carries_secret: bool) -> None:
    """A password (--auth, a proxy login) travels to the workers inside each plan:
    never over an unencrypted link to another machine."""
    if carries_secret and not address.encrypted:
        raise InputError(f"--cluster {to_display(address.text)}: a password would cross to "
                         "the workers unencrypted; use a tls:// scheduler or --cluster local")


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise InputError("--cluster needs Dask distributed: pip install 'probe[cluster]'"
                         ) from None
    return distributed


class Cluster:
    """A connection to a Dask cluster (started here for local:N), used as the batch engine."""

    def __init__(self, address: ClusterAddress, options: BatchOptions, own_helo: bool) -> None:
        self.address = address
        self.options = dataclasses.replace(options, output=None, resume=False, progress=False)
        self.own_helo = own_helo
        self.client: Client | None = None
        self.local: LocalCluster | None = None

    def __enter__(self) -> Cluster:
        distributed = _distributed()
        logging.getLogger("distributed").setLevel(logging.CRITICAL)  # our errors are one line
        try:
            if self.address.local_workers is not None:
                self.local = distributed.LocalCluster(
                    n_workers=self.address.local_workers, threads_per_worker=1, processes=True,
                    dashboard_address=None, silence_logs=logging.CRITICAL)
                self.client = distributed.Client(self.local, timeout=CONNECT_SECONDS)
            else:
                self.client = distributed.Client(self.address.text, timeout=CONNECT_SECONDS)
            self.client.wait_for_workers(1, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError) as exc:
            self.__exit__()
            raise InputError(f"--cluster {to_display(self.address.text)}: no scheduler with "
                             f"a worker answered within {CONNECT_SECONDS:g} s "
                             f"({to_display(str(exc), 200)})") from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.local is not None:
            self.local.close()
            self.local = None

    def run(self, batch: Batch, plans: Iterator[Plan]) -> None:
        """The engine: phase 1, shard, phase 2; each target's line written once."""
        todo = list(plans)  # resume-filtered and validated on this side
        if not todo:
            return
        found: list[tuple[str, ...]] = [()] * len(todo)

        def learned(job: _Job, result: list[tuple[str, ...]]) -> None:
            for index, addresses in zip(job.indices, result, strict=True):
                found[index] = addresses

        from .worker import destinations, probe_chunk

        self._stream((_Job(destinations, (self._plans(todo, chunk), self.options.concurrency),
                           chunk)
                      for chunk in _ranges(len(todo), DISCOVERY_CHUNK)), learned)
        lanes = shards(components(found), CHUNK_PER_CONCURRENCY * self.options.concurrency)
        # The biggest shard bounds the run, so it starts first.
        lanes.sort(key=lambda lane: sum(len(chunk) for chunk in lane), reverse=True)
        written: set[int] = set()
        drifted: set[str] = set()

        def job_for(lane: list[list[int]], step: int, owned: frozenset[str]) -> _Job:
            chunk = lane[step]
            return _Job(probe_chunk, (self._plans(todo, chunk), self.options, self.own_helo,
                                      owned), chunk, lane, step, owned)

        def merged(job: _Job, result: tuple[list[tuple[int, int, str]], set[str]]) -> _Job | None:
            lines, foreign = result
            drifted.update(foreign)
            for position, code, line in lines:
                index = job.indices[position]
                if index not in written:  # a rerun chunk may bring a target again
                    written.add(index)
                    batch.write(todo[index], code, line)
            lane = job.lane
            if lane is not None and job.step + 1 < len(lane):
                # The shard's next chunk, never beside it.
                return job_for(lane, job.step + 1, job.owned)
            return None

        self._stream((job_for(lane, 0, frozenset(address for chunk in lane for index in chunk
                                                 for address in found[index]))
                      for lane in lanes), merged)
        if drifted:
            batch.err.write(f"probe batch: DNS changed between the two phases: "
                            f"{len(drifted)} address(es) were probed from a shard that did not "
                            f"own them, where --per-ip may not have held (e.g. "
                            f"{to_display(min(drifted))})\n")

    @staticmethod
    def _plans(todo: list[Plan], indices: list[int]) -> list[Plan]:
        return [todo[index] for index in indices]

    def _stream(self, jobs: Iterator[_Job], done: Callable[[_Job, Any], _Job | None]) -> None:
        """Keep a few jobs per worker thread queued; hand each result to `done` as it
        arrives, which may name the job to run next in its place."""
        distributed = _distributed()
        client = self.client
        assert client is not None
        threads = sum(client.nthreads().values()) or 1
        waiting = distributed.as_completed()
        running: dict[Any, _Job] = {}

        def submit(job: _Job) -> None:
            future = client.submit(job.function, *job.args, pure=False, retries=RETRIES)
            running[future.key] = job
            waiting.add(future)

        for job in islice(jobs, QUEUED_PER_THREAD * threads):
            submit(job)
        for future in waiting:
            job = running.pop(future.key)
            try:
                result = future.result()
            except (Exception, asyncio.CancelledError) as exc:
                raise EngineFailed(f"the cluster failed mid-run ({exc.__class__.__name__}: "
                                   f"{to_display(str(exc), 200)})") from None
            future.release()
            following = done(job, result) or next(jobs, None)
            if following is not None:
                submit(following)


@dataclass(frozen=True)
class _Job:
    """One task: what to run, and which targets (and which shard step) it covers."""

    function: Callable[..., Any]
    args: tuple[Any, ...]
    indices: list[int]
    lane: list[list[int]] | None = None
    step: int = 0
    owned: frozenset[str] = frozenset()


def _ranges(total: int, size: int) -> Iterator[list[int]]:
    for start in range(0, total, size):
        yield list(range(start, min(start + size, total)))
