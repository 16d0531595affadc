"""A real SOCKS5 proxy on loopback (pproxy), for tests of proxied connections.

Why a proxy this project did not write: a scripted SOCKS server
(`tests/socksserver.py`) replays the protocol as its author read RFC 1928;
pproxy is a proxy people actually run, with its own quirks, and a client that
only works against our own server proves little. Two quirks worth knowing,
both pinned by `tests/test_socks.py`:

* pproxy answers a wrong or missing username/password by closing the
  connection, not with the RFC 1929 failure reply or the 0xFF "no acceptable
  method" reply.
* pproxy sends "succeeded" before it connects onward, so a destination that
  refuses the connection shows up as a successful SOCKS handshake followed by
  end-of-file -- before any SMTP banner.

Shape: `python -m pproxy` in a subprocess (so it shares nothing with the
test's event loop), listening on 127.0.0.1 on a free port, with or without a
username and password. `--auth 0` turns off pproxy's habit of remembering an
address that once authenticated, so every connection must authenticate. `-v`
makes it log one line per tunnel (`socks5 127.0.0.1:CLIENT -> HOST:PORT`) to
a file, which tests read as the independent witness that a connection really
went through the proxy. pproxy is a dev dependency, so it is always there:
no skip.

Use the session fixtures: `from tests import socks` then
`socks5_proxy = socks.socks5_proxy` (and `socks5_proxy_auth`) in the module.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from tests.loopback import HOST, free_port, wait_listening

__all__ = ["SocksProxy", "socks5_proxy", "socks5_proxy_auth", "start_pproxy", "stop_pproxy"]

USERNAME = "probe-user"

_START_ATTEMPTS = 4
_STOP_WAIT = 10.0


@dataclass
class SocksProxy:
    """A running pproxy: where it listens, its credentials, and its log."""

    process: subprocess.Popen
    root: Path
    port: int
    username: str | None = None
    password: str | None = None
    host: str = HOST

    @property
    def url(self) -> str:
        """`socks5://[user:pass@]127.0.0.1:PORT`, the form python-socks and `--proxy` take."""
        auth = f"{self.username}:{self.password}@" if self.username else ""
        return f"socks5://{auth}{self.host}:{self.port}"

    @property
    def url_without_credentials(self) -> str:
        """The same proxy with no username/password (for tests of refusal)."""
        return f"socks5://{self.host}:{self.port}"

    @property
    def log(self) -> Path:
        return self.root / "pproxy.log"

    def log_text(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def tunnels_to(self, port: int, wait: float = 10.0, expect: int = 1) -> list[str]:
        """pproxy's `socks5 CLIENT -> 127.0.0.1:PORT` lines, once at least `expect` are there.

        pproxy writes the line as it opens the onward connection; polling
        (bounded by `wait`) covers the moment before its output is flushed.
        """
        pattern = re.compile(rf"^socks5 \S+ -> {re.escape(HOST)}:{port}$", re.MULTILINE)
        deadline = time.monotonic() + wait
        while True:
            found = pattern.findall(self.log_text())
            if len(found) >= expect or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


def _running(process: subprocess.Popen) -> bool:
    return process.poll() is None


def start_pproxy(*, auth: bool) -> SocksProxy:
    """Start pproxy as a SOCKS5 server on a free loopback port; raise RuntimeError with its log."""
    errors: list[str] = []
    for _attempt in range(_START_ATTEMPTS):
        root = Path(tempfile.mkdtemp(prefix="probe-pproxy-"))
        port = free_port()
        username = USERNAME if auth else None
        password = secrets.token_urlsafe(12) if auth else None
        listen = f"socks5://{HOST}:{port}" + (f"#{username}:{password}" if auth else "")
        log = (root / "pproxy.log").open("wb")
        # -u: unbuffered, so each tunnel's log line is in the file when it happens.
        process = subprocess.Popen(
            [sys.executable, "-u", "-m", "pproxy", "-l", listen, "--auth", "0", "-v"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        proxy = SocksProxy(process, root, port, username, password)
        if wait_listening(port, partial(_running, process)):
            return proxy
        errors.append(f"attempt on port {port}: exit {process.poll()}\n{proxy.log_text()}")
        stop_pproxy(proxy)
    raise RuntimeError("could not start pproxy:\n" + "\n".join(errors))


def stop_pproxy(proxy: SocksProxy) -> None:
    """Terminate pproxy (kill it if it lingers) and remove its directory."""
    try:
        if proxy.process.poll() is None:
            proxy.process.terminate()
            try:
                proxy.process.wait(timeout=_STOP_WAIT)
            except subprocess.TimeoutExpired:
                proxy.process.kill()
                proxy.process.wait(timeout=_STOP_WAIT)
    finally:
        shutil.rmtree(proxy.root, ignore_errors=True)


@pytest.fixture(scope="session")
def socks5_proxy() -> Iterator[SocksProxy]:
    """pproxy without authentication, for the whole session."""
    proxy = start_pproxy(auth=False)
    try:
        yield proxy
    finally:
        stop_pproxy(proxy)


@pytest.fixture(scope="session")
def socks5_proxy_auth() -> Iterator[SocksProxy]:
    """pproxy requiring a username and a random password, for the whole session."""
    proxy = start_pproxy(auth=True)
    try:
        yield proxy
    finally:
        stop_pproxy(proxy)
