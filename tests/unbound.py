"""A private Unbound on loopback: a real validating resolver over test zones.

The loopback DNS server can play a validating resolver, but only as well as
its author understood one. Unbound is the real thing: it loads the zones
tests/dnssec.py signs as local authoritative data (`auth-zone`, nothing is
asked of any other server), trusts the test root key, validates every
answer itself, and the `dnssec` check reads its AD flags and SERVFAILs as
it would a production resolver's.

Sandbox: its own directory and port, no chroot or user switch, outgoing
queries only from 127.0.0.1 (so it could not reach a public address even if
it tried), IPv4 only, and the RFC 6761 `test.` block lifted. The process is
started and stopped by this module only. Where `unbound` is not installed
the tests skip, except under CI=true where they fail (.ci/run installs it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import pytest

from tests.dnssec import Signed

_READY_TIMEOUT = 15.0


@dataclass(frozen=True)
class Unbound:
    port: int
    root: Path

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    @property
    def nameserver_arg(self) -> str:
        return f"127.0.0.1:{self.port}"


def find_unbound() -> str | None:
    found = shutil.which("unbound")
    if found:
        return found
    return "/usr/sbin/unbound" if os.access("/usr/sbin/unbound", os.X_OK) else None


def _free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 right now (Unbound binds it itself)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, \
                socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            try:
                tcp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(port)
    raise RuntimeError("no port free for both UDP and TCP on 127.0.0.1")


def _config(signed: Signed, root: Path, port: int) -> str:
    anchor = " ".join(line.split(None, 3)[3] for line in signed.anchor.to_text().splitlines())
    lines = [
        "server:",
        "  interface: 127.0.0.1", f"  port: {port}", "  outgoing-interface: 127.0.0.1",
        "  do-ip6: no", "  do-not-query-localhost: no", '  chroot: ""', '  username: ""',
        f'  directory: "{root}"', f'  pidfile: "{root}/unbound.pid"', "  use-syslog: no",
        f'  logfile: "{root}/unbound.log"', "  verbosity: 1", "  val-log-level: 2",
        '  module-config: "validator iterator"', f'  trust-anchor: ". {anchor}"',
        "  access-control: 127.0.0.0/8 allow", "  num-threads: 1", "  so-reuseport: no",
        "  qname-minimisation: no", '  local-zone: "test." nodefault',
    ]
    for index, (apex, text) in enumerate(sorted(signed.zones.items())):
        zone_file = root / f"zone{index}.db"
        zone_file.write_text(text, encoding="utf-8")
        lines += ["auth-zone:", f'  name: "{apex}"', f'  zonefile: "{zone_file}"',
                  "  for-upstream: yes", "  for-downstream: no", "  fallback-enabled: no"]
    return "\n".join(lines) + "\n"


def _wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    query = dns.message.make_query(".", "SOA")
    deadline = time.monotonic() + _READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"unbound exited with {process.returncode}")
        with contextlib.suppress(dns.exception.DNSException, OSError):
            dns.query.udp(query, "127.0.0.1", port=port, timeout=0.5)
            return
        time.sleep(0.1)
    raise RuntimeError("unbound did not answer within 15 s")


@contextlib.contextmanager
def running(signed: Signed) -> Iterator[Unbound]:
    """Start a private Unbound serving `signed`'s zones; stop it and clean up after."""
    binary = find_unbound()
    if binary is None:
        reason = "unbound is not installed"
        if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI=true but {reason} (.ci/run should have installed it)",
                        pytrace=False)
        pytest.skip(reason)
    root = Path(tempfile.mkdtemp(prefix="probe-unbound-"))
    port = _free_port()
    config = root / "unbound.conf"
    config.write_text(_config(signed, root, port), encoding="utf-8")
    process = subprocess.Popen([binary, "-d", "-c", str(config)], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        try:
            _wait_ready(port, process)
        except RuntimeError as exc:
            log = (root / "unbound.log").read_text(errors="replace") \
                if (root / "unbound.log").exists() else ""
            raise RuntimeError(f"{exc}\n{log[-2000:]}") from None
        yield Unbound(port, root)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)
