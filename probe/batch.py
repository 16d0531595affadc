"""`probe batch`: many targets in one event loop, results streamed as JSON lines.

A bounded pool of targets is in flight at once (`--concurrency`); every
target shares one `Limits` (at most `--per-ip` connections to any destination
address across the whole batch, because many domains share a provider's MX)
and one caching resolver (the MX hosts' addresses are looked up once). Each
result is written whole by the `jsonl` view the moment its target finishes,
and nothing else about it is kept, so memory stays flat however many targets
there are.

A bad line is reported on stderr with its line number and skipped; the exit
code is 64 only when no line was valid. `--resume` skips the targets already
in the output file (dropping a torn last line) and appends the rest. Ctrl-C
stops cleanly: what finished is written, nothing half-written.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from .core.exit_status import ExitStatus
from .core.plan import InputError, Plan
from .sanitize import to_display
from .views.jsonl import JsonLinesView

if TYPE_CHECKING:
    import dns.asyncresolver

    from .core.limits import Limits

PlanFor = Callable[[str], Plan]

# Worst first: a bug, then permanent, transient, misconfigured (--strict), ok.
_SEVERITY = {ExitStatus.OK: 0, ExitStatus.MISCONFIGURED: 1, ExitStatus.TRANSIENT: 2,
             ExitStatus.PERMANENT: 3, ExitStatus.INTERNAL: 4}
OUTCOMES = {ExitStatus.OK: "accepted", ExitStatus.MISCONFIGURED: "accepted",
            ExitStatus.TRANSIENT: "transient", ExitStatus.PERMANENT: "permanent",
            ExitStatus.INTERNAL: "errors"}


@dataclass(frozen=True)
class BatchOptions:
    concurrency: int = 100
    per_ip: int = 1
    output: str | None = None
    resume: bool = False
    compact: bool = False
    progress: bool = True


@dataclass
class Tally:
    """What the summary table shows: outcomes, skipped and bad lines, time."""

    outcomes: Counter[str] = field(default_factory=Counter)
    bad_lines: int = 0
    resumed: int = 0
    worst: int = ExitStatus.OK
    started: float = field(default_factory=time.monotonic)

    def add(self, code: int) -> None:
        status = ExitStatus(code) if code in _SEVERITY else ExitStatus.INTERNAL
        self.outcomes[OUTCOMES[status]] += 1
        if _SEVERITY[status] > _SEVERITY[ExitStatus(self.worst)]:
            self.worst = status

    @property
    def done(self) -> int:
        return sum(self.outcomes.values())


def target_lines(source: str, stdin: TextIO) -> Iterator[tuple[int, str]]:
    """(line number, target) of every line that is not blank or a # comment."""
    if source == "-":
        handle = stdin
    else:
        try:
            handle = open(source, encoding="utf-8", errors="replace")  # noqa: SIM115
        except OSError as exc:
            raise InputError(f"cannot read {to_display(source)}: {exc.strerror}") from None
    try:
        for number, line in enumerate(handle, 1):
            text = line.strip()
            if text and not text.startswith("#"):
                yield number, text
    finally:
        if handle is not stdin:
            handle.close()


def finished_targets(path: str) -> set[str]:
    """Targets already written to `path`; a torn last line is cut off so it is redone."""
    try:
        with open(path, "rb+") as handle:
            data = handle.read()
            keep = data.rfind(b"\n") + 1
            if keep != len(data):
                handle.truncate(keep)
    except FileNotFoundError:
        return set()
    except OSError as exc:
        raise InputError(f"cannot resume from {to_display(path)}: {exc.strerror}") from None
    done = set()
    for line in data[:keep].splitlines():
        try:
            target = json.loads(line).get("target")
        except (ValueError, AttributeError):
            continue
        if isinstance(target, str):
            done.add(target)
    return done


class Batch:
    """One batch run: feeds plans into a bounded pool and tallies the results."""

    def __init__(self, plan_for: PlanFor, options: BatchOptions, out: TextIO,
                 err: TextIO) -> None:
        self.plan_for = plan_for
        self.options = options
        self.out = out
        self.err = err
        self.tally = Tally()
        self.valid = 0
        self.on_done: Callable[[], None] = lambda: None
        self.deliver: Callable[[Plan, int, str], None] = self.write

    def plans(self, lines: Iterator[tuple[int, str]], skip: set[str]) -> Iterator[Plan]:
        """Valid plans; a bad line is reported with its number and skipped."""
        for number, target in lines:
            try:
                plan = self.plan_for(target)
            except InputError as exc:
                self.tally.bad_lines += 1
                self.err.write(f"probe batch: line {number}: {to_display(str(exc))} "
                               "(skipped)\n")
                continue
            self.valid += 1
            if plan.target in skip:
                self.tally.resumed += 1
                continue
            yield plan

    def limits(self) -> Limits:
        """The batch's one connection limits (a cluster worker's also watch addresses)."""
        from .core.limits import Limits

        return Limits(sessions=self.options.concurrency, per_address=self.options.per_ip)

    async def run(self, plans: Iterator[Plan]) -> None:
        limits = self.limits()
        resolvers: Resolvers = {}
        pool = asyncio.Semaphore(self.options.concurrency)
        running: set[asyncio.Task[None]] = set()
        try:
            for plan in plans:
                await pool.acquire()
                task = asyncio.create_task(self.one(plan, shared_resolver(resolvers, plan),
                                                    limits))
                running.add(task)
                task.add_done_callback(running.discard)
                task.add_done_callback(lambda _: pool.release())
            if running:
                await asyncio.gather(*running)
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)

    async def one(self, plan: Plan, resolver: dns.asyncresolver.Resolver,
                  limits: Limits) -> None:
        from .core.runner import probe_into

        line = io.StringIO()
        view = JsonLinesView(line, plan, compact=self.options.compact)
        try:
            try:
                await probe_into(plan, view.feed, resolver=resolver, limits=limits)
            finally:
                view.finish()
            code = view.exit_code
        except Exception as exc:  # a bug for this target: say so in its line, go on
            if os.environ.get("PROBE_DEBUG"):
                raise
            code = ExitStatus.INTERNAL
            line = io.StringIO(json.dumps({
                "target": plan.target, "exit_code": code,
                "error": f"internal error ({exc.__class__.__name__}: {exc})"}) + "\n")
        self.deliver(plan, code, line.getvalue())

    def write(self, plan: Plan, code: int, line: str) -> None:
        """Where a finished target goes by default: its line to `out`, its code to the
        tally. A cluster worker replaces `deliver` to send results back instead."""
        self.out.write(line)
        self.out.flush()
        self.tally.add(code)
        self.on_done()


Resolvers = dict[tuple[tuple[str, int], ...], "dns.asyncresolver.Resolver"]


def shared_resolver(resolvers: Resolvers, plan: Plan) -> dns.asyncresolver.Resolver:
    """The one caching resolver of `resolvers` for the plan's name servers."""
    from .core.mx import build_resolver

    resolver = resolvers.get(plan.nameservers)
    if resolver is None:
        resolver = resolvers[plan.nameservers] = _caching(build_resolver(
            plan.nameservers, plan.timeouts.dns, plan.timeouts.dns_lifetime))
    return resolver


# Answers worth keeping are the ones many targets share: the MX hosts' A, AAAA
# and PTR records (a provider's few hosts serve thousands of domains). Each
# domain's own MX answer is asked once per batch and never again, so a cache as
# large as the batch only holds memory (~3.4 KB per entry: 393 MB peak at
# 100,000 targets with 100,000 entries; 63 MB with this size; bench/README.md).
RESOLVER_CACHE_ENTRIES = 4_096


def _caching(resolver: dns.asyncresolver.Resolver) -> dns.asyncresolver.Resolver:
    """The batch's one resolver keeps answers (within their TTL) for every target;
    least recently used first out, so shared MX hosts stay while one-off MX
    answers leave."""
    import dns.resolver

    resolver.cache = dns.resolver.LRUCache(RESOLVER_CACHE_ENTRIES)
    return resolver


def _count(source: str) -> int | None:
    """How many target lines a file has (for the progress bar); None for stdin."""
    if source == "-":
        return None
    try:
        with open(source, encoding="utf-8", errors="replace") as handle:
            return sum(1 for line in handle if line.strip() and not line.lstrip().startswith("#"))
    except OSError:
        return None


Engine = Callable[[Batch, Iterator[Plan]], None]


class EngineFailed(Exception):
    """The engine running the batch broke down mid-run (a cluster lost for good)."""


def run_locally(batch: Batch, plans: Iterator[Plan]) -> None:
    """The default engine: every target in this process's one event loop."""
    asyncio.run(batch.run(plans))


def run_batch(source: str, plan_for: PlanFor, options: BatchOptions, stdin: TextIO,
              out: TextIO, err: TextIO | None = None, engine: Engine = run_locally) -> int:
    """Probe every target of `source`; the exit code is the worst one seen.

    Exit 64 when no line is valid (nothing is sent then), and when --resume
    is asked for without --output; 70 when the engine fails mid-run (what
    finished is written, and --resume carries on).
    """
    err = err or sys.stderr
    if options.resume and not options.output:
        raise InputError("--resume needs --output FILE (the results to resume from)")
    skip = finished_targets(options.output) if options.resume and options.output else set()
    lines = target_lines(source, stdin)
    sink = out
    if options.output:
        try:
            sink = open(options.output, "a" if options.resume else "w",  # noqa: SIM115
                        encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write {to_display(options.output)}: "
                             f"{exc.strerror}") from None
    batch = Batch(plan_for, options, sink, err)
    progress = _Progress(err, _count(source), batch) if options.progress else None
    interrupted = False
    failure: str | None = None
    try:
        if progress is not None:
            progress.start()
        engine(batch, batch.plans(lines, skip))
    except KeyboardInterrupt:
        interrupted = True
    except EngineFailed as exc:
        failure = str(exc)
    finally:
        if progress is not None:
            progress.stop()
        if sink is not out:
            sink.close()
    if batch.valid == 0:
        if not interrupted:
            err.write("probe batch: no valid target line\n")
        return ExitStatus.INTERRUPTED if interrupted else ExitStatus.USAGE
    _summary(err, batch.tally, interrupted)
    if failure is not None:
        err.write(f"probe batch: {to_display(failure)}; finished targets are written, "
                  "rerun with --resume\n")
        return ExitStatus.INTERNAL
    return ExitStatus.INTERRUPTED if interrupted else batch.tally.worst


class _Progress:
    """A progress bar on stderr (rich), only when stderr is a terminal."""

    def __init__(self, err: TextIO, total: int | None, batch: Batch) -> None:
        self.live = None
        if not getattr(err, "isatty", lambda: False)():
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.live = Progress(TextColumn("probe batch"), BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn(), console=Console(file=err), transient=True)
        self.task = self.live.add_task("targets", total=total)
        batch.on_done = lambda: self.live.advance(self.task) if self.live else None

    def start(self) -> None:
        if self.live is not None:
            self.live.start()

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()


def _summary(err: TextIO, tally: Tally, interrupted: bool) -> None:
    """The summary table on stderr: outcomes, skipped lines, time and rate."""
    seconds = time.monotonic() - tally.started
    rate = tally.done / seconds if seconds > 0 else 0.0
    rows = [(name, str(tally.outcomes.get(name, 0)))
            for name in ("accepted", "transient", "permanent", "errors")]
    if tally.resumed:
        rows.append(("already done (--resume)", str(tally.resumed)))
    if tally.bad_lines:
        rows.append(("bad lines (skipped)", str(tally.bad_lines)))
    rows.append(("time", f"{seconds:.1f} s ({rate:.0f} targets/s)"))
    if interrupted:
        rows.append(("interrupted", "finished targets are written; rerun with --resume"))
    if getattr(err, "isatty", lambda: False)():
        from rich.console import Console
        from rich.table import Table

        table = Table(title="probe batch", show_header=False)
        for name, value in rows:
            table.add_row(name, value)
        Console(file=err).print(table)
        return
    width = max(len(name) for name, _ in rows)
    err.write("probe batch:\n" + "".join(f"  {name:<{width}}  {value}\n"
                                         for name, value in rows))
