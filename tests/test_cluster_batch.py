"""`probe batch --cluster` on a real Dask LocalCluster (worker processes), loopback only.

The world: a loopback DNS server and one scripted SMTP server per address
127.0.0.11-14, shared by many domains (one domain has two MX hosts, which joins
two groups into one shard). Each server counts the sessions open on it at once,
so politeness per address is measured where it matters: on the server side,
across every worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections import Counter

import psutil
import pytest
from distributed import Client, LocalCluster

from probe.cluster import engine
from tests import dnsserver
from tests.loopback import free_port
from tests.smtpserver import dialog, same_port_servers

dns_server = dnsserver.dns_server

ADDRESSES = [f"127.0.0.{n}" for n in (11, 12, 13, 14)]
REJECTED = "d7.test"


def _world() -> tuple[list[str], str]:
    """The targets (gone.test is not in DNS: NXDOMAIN) and the zone text."""
    mx_of = {f"d{i}.test": [i // 6 + 1] for i in range(23)}
    mx_of["d23.test"] = [3, 4]  # bridges the groups of mx3 and mx4
    zone = [f"mx{n}.test. A {address}" for n, address in enumerate(ADDRESSES, 1)]
    for domain, hosts in mx_of.items():
        zone += [f"{domain}. MX {10 * k} mx{host}.test." for k, host in enumerate(hosts, 1)]
    return [*mx_of, "gone.test"], "\n".join(zone) + "\n"


class Servers:
    """Sessions open at once, per address and overall, seen by the servers."""

    def __init__(self, hold: float) -> None:
        self.hold = hold
        self.open: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.peak_total = 0
        self.sessions = 0
        self.on_session = lambda writer: None
        self.dns: dnsserver.DnsServer | None = None

    def script(self, address: str):
        base = dialog(replies={f"RCPT:postmaster@{REJECTED}": b"550 5.1.1 no such user\r\n"})

        async def run(reader, writer, server):
            self.sessions += 1
            self.open[address] += 1
            self.peak[address] = max(self.peak[address], self.open[address])
            self.peak_total = max(self.peak_total, sum(self.open.values()))
            try:
                self.on_session(writer)
                await asyncio.sleep(self.hold)
                await base(reader, writer, server)
            finally:
                self.open[address] -= 1

        return run


@contextlib.asynccontextmanager
async def world(dns_server, tmp_path, hold: float = 0.1):
    targets, zone = _world()
    dns = dns_server(zone)
    servers = Servers(hold)
    servers.dns = dns
    async with contextlib.AsyncExitStack() as stack:
        port = await same_port_servers(stack, {a: servers.script(a) for a in ADDRESSES})
        path = tmp_path / "targets.txt"
        path.write_text("".join(f"{t}\n" for t in targets))
        args = [str(path), "--nameserver", dns.nameserver_arg, "--port", str(port),
                "--helo", "probe.test", "--no-checks", "--timeout", "10", "--no-progress"]
        yield targets, args, servers


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes, one thread each, for the whole module."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.CRITICAL) as local, \
            Client(local) as client:
        client.wait_for_workers(2, timeout=60)
        yield local.scheduler_address, client


def _documents(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def _outcomes(documents: list[dict]) -> dict[str, tuple]:
    """What a run found per target: exit code, and per host its address and reply codes."""
    return {d["target"]: (d["exit_code"], sorted(
        (h["address"], tuple((s.get("reply") or {}).get("code") for s in h["steps"]))
        for h in d.get("hosts", []))) for d in documents}


async def test_a_local_cluster_gives_one_document_per_target_and_the_local_outcomes(
        dns_server, run_cli, tmp_path):
    async with world(dns_server, tmp_path) as (targets, args, servers):
        plain = await run_cli("batch", *args)
        clustered = await asyncio.wait_for(run_cli("batch", *args, "--cluster", "local:2"), 120)
    documents = _documents(clustered.out)
    assert sorted(d["target"] for d in documents) == sorted(targets)  # each exactly once
    assert _outcomes(documents) == _outcomes(_documents(plain.out))
    assert _outcomes(documents)[REJECTED][0] == 2 and _outcomes(documents)["gone.test"][0] == 2
    assert clustered.code == plain.code == 2
    assert servers.sessions == 2 * 25  # the same sessions in both runs, none repeated
    assert "accepted   23" in clustered.err and "permanent  2" in clustered.err
    assert "Traceback" not in clustered.err


async def test_per_ip_holds_across_workers_while_they_work_at_once(
        dns_server, run_cli, tmp_path, cluster):
    address, _ = cluster
    async with world(dns_server, tmp_path, hold=0.15) as (targets, args, servers):
        # --concurrency 1: one connection at a time per worker, so two open at
        # once (peak_total) can only be two workers side by side.
        result = await asyncio.wait_for(run_cli(
            "batch", *args, "--cluster", address, "--concurrency", "1"), 120)
    assert len(_documents(result.out)) == len(targets) and result.code == 2
    assert servers.peak_total >= 2
    assert max(servers.peak.values()) == 1, servers.peak
    assert servers.sessions == 25  # 22 one-MX domains, d23 on two hosts, gone.test none

    async with world(dns_server, tmp_path, hold=0.15) as (targets, args, servers):
        wider = await asyncio.wait_for(run_cli(
            "batch", *args, "--cluster", address, "--concurrency", "3", "--per-ip", "2"), 120)
    assert len(_documents(wider.out)) == len(targets)
    assert max(servers.peak.values()) == 2, servers.peak


async def test_resume_on_a_cluster_probes_only_what_is_missing(
        dns_server, run_cli, tmp_path, cluster):
    address, _ = cluster
    output = tmp_path / "out.jsonl"
    async with world(dns_server, tmp_path) as (targets, args, servers):
        target_file = args[0]
        with open(target_file, "w") as handle:
            handle.write("".join(f"{t}\n" for t in targets[:10]))
        first = await run_cli("batch", *args, "--cluster", address, "--output", str(output))
        assert first.out == "" and len(_documents(output.read_text())) == 10
        with output.open("a") as handle:
            handle.write('{"target": "d10.test", "hosts": [')  # a crash mid-write
        with open(target_file, "w") as handle:
            handle.write("".join(f"{t}\n" for t in targets[:14]))
        sessions = servers.sessions
        again = await run_cli("batch", *args, "--cluster", address, "--output", str(output),
                              "--resume")
        assert servers.sessions - sessions == 4  # d10-d13 only
    assert sorted(d["target"] for d in _documents(output.read_text())) == sorted(targets[:14])
    assert "already done (--resume)  10" in again.err and again.code == 0  # d7 was before


async def test_a_worker_killed_mid_run_is_replaced_and_every_target_appears_once(
        dns_server, run_cli, tmp_path, cluster):
    address, client = cluster
    workers = set(client.run(os.getpid).values())
    killed: list[int] = []

    def kill_the_worker_holding_the_fifth_session(writer):
        if servers.sessions != 5 or killed:
            return
        peer_port = writer.get_extra_info("peername")[1]
        for connection in psutil.net_connections(kind="tcp"):
            if connection.laddr and connection.laddr.port == peer_port \
                    and connection.pid in workers:
                os.kill(connection.pid, signal.SIGKILL)
                killed.append(connection.pid)

    async with world(dns_server, tmp_path, hold=0.15) as (targets, args, servers):
        servers.on_session = kill_the_worker_holding_the_fifth_session
        result = await asyncio.wait_for(run_cli(
            "batch", *args, "--cluster", address, "--concurrency", "1"), 120)
    assert killed, "no worker held the fifth session"
    documents = _documents(result.out)
    assert sorted(d["target"] for d in documents) == sorted(targets)  # once each, none lost
    assert servers.sessions > 25  # the killed worker's chunk was probed again elsewhere
    assert result.code == 2 and "Traceback" not in result.err
    client.wait_for_workers(2, timeout=60)  # the nanny restarts it


async def test_dns_that_changes_between_the_phases_is_reported(
        dns_server, run_cli, tmp_path, cluster):
    address, _ = cluster
    moved: list[str] = []

    def move_mx1_domains_to_mx2(writer):
        # Phase 2 has begun (phase 1 sends no SMTP): from now on, d0-d5 point
        # at an address that phase 1 gave to another shard.
        if not moved:
            for i in range(6):
                servers.dns.remove(f"d{i}.test.", "MX")
                servers.dns.add(f"d{i}.test.", "MX", "10 mx2.test.")
            moved.append(ADDRESSES[1])

    async with world(dns_server, tmp_path, hold=0.05) as (targets, args, servers):
        servers.on_session = move_mx1_domains_to_mx2
        result = await asyncio.wait_for(run_cli(
            "batch", *args, "--cluster", address, "--concurrency", "1"), 120)
    assert len(_documents(result.out)) == len(targets)
    assert "DNS changed between the two phases: 1 address(es)" in result.err
    assert "127.0.0.12" in result.err


async def test_an_unreachable_scheduler_is_one_line_and_exit_64(
        dns_server, run_cli, tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "CONNECT_SECONDS", 1.0)
    output = tmp_path / "out.jsonl"
    async with world(dns_server, tmp_path) as (_, args, servers):
        result = await run_cli("batch", *args, "--cluster", f"tcp://127.0.0.1:{free_port()}",
                               "--output", str(output))
    assert result.code == 64 and servers.sessions == 0 and not output.exists()
    (line,) = result.err.splitlines()
    assert "--cluster tcp://127.0.0.1:" in line and "within 1 s" in line


@pytest.mark.parametrize("value", ["cluster.example", "local:0", "local:x", "tcp://h:99999",
                                   "http://h:8786", "tcp://h\x1b[31m:1"])
async def test_a_malformed_cluster_address_is_refused(run_cli, tmp_path, value):
    targets = tmp_path / "t.txt"
    targets.write_text("a.test\n")
    result = await run_cli("batch", str(targets), "--mx", "127.0.0.1:1", "--cluster", value)
    assert result.code == 64 and len(result.err.splitlines()) == 1
    assert "\x1b" not in result.err


async def test_without_the_extra_the_error_names_it(run_cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    targets = tmp_path / "t.txt"
    targets.write_text("a.test\n")
    result = await run_cli("batch", str(targets), "--mx", "127.0.0.1:1", "--cluster", "local")
    assert result.code == 64
    assert result.err == "probe: --cluster needs Dask distributed: pip install 'probe[cluster]'\n"


async def test_a_password_never_crosses_to_workers_in_clear(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("PROBE_PASSWORD", "hunter2")
    targets = tmp_path / "t.txt"
    targets.write_text("a.test\n")
    result = await run_cli("batch", str(targets), "--mx", "127.0.0.1:1", "--auth", "me",
                           "--cluster", "tcp://127.0.0.1:8786")
    assert result.code == 64 and "unencrypted" in result.err and "hunter2" not in result.err
