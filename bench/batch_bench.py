"""Batch at scale: `probe batch` over thousands of loopback domains, next to its floor and swaks.

Run:  uv run python bench/batch_bench.py [--domains 3000] [--repeat 3] [--swaks-domains 1000]

The world is a `LoadZone`: N domains, each with one MX record pointing at one
of 8 shared MX hosts (127.0.0.10-17, one SMTP port), served by FastDns and
FastSmtp in a process of their own pinned to CPU 1. Each client runs pinned
to CPU 0, so client and servers never share a core, and the servers' CPU
use during the run is printed to show they had room to spare.

Rows (the same targets for all):
  probe batch   `probe batch FILE --json --nameserver ... --port ...` (STARTTLS is
                not offered by the servers, so it is never tried)
  probe batch --cluster   the same with `--cluster ADDRESS` (--cluster, default
                local:2: a Dask LocalCluster of 2 worker processes, started and
                stopped inside the timed run; pinned like every client, so the
                client and its workers share the client CPU)
  floor         bench/floor_client.py, `--exchange minimal`: MX + A, then
                banner/EHLO/MAIL/RCPT/QUIT, --concurrency domains at once
  floor (probe's exchange)   the same client doing what probe does per domain
                (adds AAAA, PTR + its A, and HELP)
  floor, SMTP only           the minimal exchange with the address given (no DNS)
  swaks         `xargs -P 32 swaks --to postmaster@D --server ADDR:PORT --quit-after RCPT`
                over the first --swaks-domains targets (swaks does no DNS here)

Figures (all from exec to exit, so interpreter start-up is included: use a
few thousand domains): wall time, domains/s = domains / wall, peak RSS of the
client process (for swaks, of one swaks process: 32 run at once), DNS queries
per domain (counted by the server), the client's CPU time per domain and its
inverse (what one core would do if the client had it to itself: the figure
least disturbed by other load on the machine), and the servers' CPU as a share
of the wall time. Probe and floor rows are the best of --repeat runs (the
machine is shared; the best run is the least disturbed).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.loadservers import LoadServers  # noqa: E402
from bench.loadzone import LoadZone  # noqa: E402
from bench.profile_summary import py_spy_record, summarize  # noqa: E402
from bench.runstats import (  # noqa: E402
    Measured,
    add_cpu_options,
    cpus_from,
    machine_line,
    run_measured,
)

HELO = "bench.example"
METHODS = ("probe", "probe-cluster", "floor", "floor-probe", "floor-smtp", "swaks")


@dataclass(frozen=True)
class Row:
    name: str
    domains: int
    ok: int
    sessions: int  # counted by the SMTP server
    dns_queries: int  # counted by the DNS server
    run: Measured
    server_cpu_s: float

    def cells(self) -> list[str]:
        run, n = self.run, self.domains
        return [self.name, f"{n:,}", f"{self.ok:,}", f"{self.sessions:,}",
                f"{self.dns_queries / n:.1f}", f"{run.wall_s:.2f}", f"{n / run.wall_s:,.0f}",
                f"{run.peak_rss_mb:.0f}", f"{run.cpu_s / n * 1000:.2f}", f"{n / run.cpu_s:,.0f}",
                f"{self.server_cpu_s / run.wall_s * 100:.0f}%"]


OkCounter = Callable[[Measured, Path, dict[str, Any]], int]
"""How many targets a client run got through, from its exit, output and the server's counts."""

HEADER = ["client", "domains", "ok", "SMTP sessions", "DNS queries/domain", "wall s",
          "domains/s", "peak RSS MB", "client CPU ms/domain", "domains per client CPU-s",
          "server CPU"]


class Bench:
    def __init__(self, args: argparse.Namespace, servers: LoadServers, workdir: Path) -> None:
        self.args = args
        self.servers = servers
        self.zone = servers.zone
        self.workdir = workdir
        self.client_cpu = args.client_cpu

    def _targets(self, count: int, with_address: bool = False) -> Path:
        path = self.workdir / f"targets-{count}-{int(with_address)}.txt"
        if not path.exists():
            with path.open("w", encoding="ascii") as handle:
                for index in range(1, count + 1):
                    line = self.zone.domain(index)
                    if with_address:
                        line += " " + self.zone.mx_address(self.zone.mx_of(index))
                    handle.write(line + "\n")
        return path

    def _measure(self, name: str, domains: int, argv: list[str], count_ok: OkCounter) -> Row:
        self.servers.reset()
        before = self.servers.stats()["cpu_s"]
        output = self.workdir / "output"
        with output.open("w") as handle:
            run = run_measured(argv, cpu=self.client_cpu, stdout=handle)
        stats = self.servers.stats()
        return Row(name, domains, count_ok(run, output, stats),
                   stats["smtp"].get("sessions", 0), sum(stats["dns"].values()), run,
                   stats["cpu_s"] - before)

    def probe(self, profile: Path | None = None, cluster: str | None = None) -> Row:
        """One `probe batch` run; with `profile`, under py-spy (its figures are not kept);
        with `cluster`, on that Dask cluster (`--cluster`)."""
        n = self.args.domains
        argv = [*shlex.split(self.args.probe_cmd), "batch", str(self._targets(n)), "--json",
                "--nameserver", self.servers.nameserver, "--port", str(self.servers.smtp_port),
                "--helo", HELO, "--timeout", "10", *shlex.split(self.args.probe_args)]
        name = "probe batch"
        if cluster is not None:
            argv += ["--cluster", cluster]
            name += f" --cluster {cluster}"
        if profile is not None:
            argv = [*py_spy_record(profile), *argv]
        return self._measure(name, n, argv, _probe_ok)

    def floor(self, exchange: str = "minimal", dns: bool = True) -> Row:
        n = self.args.domains
        argv = [sys.executable, "-m", "bench.floor_client", str(self._targets(n, not dns)),
                "--port", str(self.servers.smtp_port), "--exchange", exchange,
                "--concurrency", str(self.args.concurrency), "--helo", HELO]
        if dns:
            argv += ["--nameserver", self.servers.nameserver]
        name = {("minimal", True): "floor (MX+A, EHLO/MAIL/RCPT/QUIT)",
                ("probe", True): "floor, probe's exchange (+AAAA, PTR, HELP)",
                ("minimal", False): "floor, SMTP only (no DNS)"}[(exchange, dns)]
        return self._measure(name, n, argv, _floor_ok)

    def swaks(self) -> Row:
        n = min(self.args.swaks_domains, self.args.domains)
        path = self.workdir / "swaks-args.txt"
        with path.open("w", encoding="ascii") as handle:
            for index in range(1, n + 1):
                address = self.zone.mx_address(self.zone.mx_of(index))
                handle.write(f"--to postmaster@{self.zone.domain(index)} "
                             f"--server {address}:{self.servers.smtp_port}\n")
        argv = ["xargs", "-P", "32", "-L", "1", "-a", str(path), "swaks", "--silent", "2",
                "--quit-after", "RCPT", "--helo", HELO, "--from", "<>", "--timeout", "10"]
        return self._measure("swaks, xargs -P 32", n, argv, _swaks_ok)


def _probe_ok(run: Measured, output: Path, stats: dict[str, Any]) -> int:
    """Documents whose probe passed (exit code 0); anything else is a broken run."""
    codes: Counter[int] = Counter()
    with output.open(encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("{"):  # py-spy, when profiling, adds lines of its own
                codes[json.loads(line).get("exit_code", -1)] += 1
    return codes[0]


def _floor_ok(run: Measured, output: Path, stats: dict[str, Any]) -> int:
    summary = json.loads(output.read_text() or "{}")
    if summary.get("errors"):
        print(f"  floor errors: {summary['errors']}", file=sys.stderr)
    return int(summary.get("ok", 0))


def _swaks_ok(run: Measured, output: Path, stats: dict[str, Any]) -> int:
    """xargs exits 0 only when every swaks did; otherwise count what the server accepted."""
    if run.returncode == 0:
        return int(stats["smtp"].get("sessions", 0))
    print(f"  swaks: xargs exited {run.returncode}", file=sys.stderr)
    return int(stats["smtp"].get("RCPT", 0))


def best(rows: list[Row]) -> Row:
    return min(rows, key=lambda row: row.run.wall_s)


def table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=3000)
    parser.add_argument("--mx-hosts", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each probe/floor row")
    parser.add_argument("--swaks-domains", type=int, default=1000,
                        help="targets for the swaks row (about 20/s on one core)")
    parser.add_argument("--concurrency", type=int, default=100, help="floor: domains in flight")
    parser.add_argument("--cluster", default="local:2", metavar="ADDRESS",
                        help="the probe-cluster row's --cluster (default local:2)")
    parser.add_argument("--only", default=",".join(METHODS),
                        help=f"comma-separated subset of {', '.join(METHODS)}")
    parser.add_argument("--probe-cmd", default=f"{shlex.quote(sys.executable)} -m probe",
                        help="how to run probe (another checkout: its venv's probe)")
    parser.add_argument("--probe-args", default="", metavar="ARGS",
                        help="extra arguments for probe batch, one string: "
                             "--probe-args=\"--concurrency 200\"")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="also run probe batch once under py-spy, keep the raw profile in "
                             "FILE and print where the time goes")
    add_cpu_options(parser)
    args = parser.parse_args()
    args.client_cpu, args.server_cpu = cpus_from(args)
    wanted = [m.strip() for m in args.only.split(",") if m.strip()]
    unknown = set(wanted) - set(METHODS)
    if unknown:
        parser.error(f"unknown method(s): {', '.join(sorted(unknown))}")

    print(machine_line())
    print(f"{args.domains:,} domains on {args.mx_hosts} MX hosts; client on CPU "
          f"{args.client_cpu}, servers on CPU {args.server_cpu}; best of {args.repeat}")
    zone = LoadZone(args.domains, args.mx_hosts)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp, LoadServers(zone, cpu=args.server_cpu) as servers:
        bench = Bench(args, servers, Path(tmp))
        plan: dict[str, Callable[[], Row]] = {
            "probe": bench.probe, "probe-cluster": lambda: bench.probe(cluster=args.cluster),
            "floor": bench.floor,
            "floor-probe": lambda: bench.floor("probe"),
            "floor-smtp": lambda: bench.floor(dns=False)}
        for method in wanted:
            if method == "swaks":
                if args.swaks_domains > 0:
                    rows.append(bench.swaks())
                continue
            runs = [plan[method]() for _ in range(max(1, args.repeat))]
            for run in runs:
                print(f"  {run.name}: {run.run.wall_s:.2f} s, {run.ok:,} ok", file=sys.stderr)
            rows.append(best(runs))
        if args.profile is not None:
            bench.probe(profile=args.profile)
    print(table(rows))
    print(f"load average after: {machine_line().rsplit('load average ', 1)[1]}")
    if args.profile is not None:
        print(f"\nprobe batch under py-spy ({args.domains:,} domains, 250 samples/s):")
        print(summarize(args.profile.read_text().splitlines(), 15))


if __name__ == "__main__":
    main()
