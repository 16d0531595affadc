"""Shared fixtures: certificates for STARTTLS tests and a CLI runner."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import ssl
from dataclasses import dataclass

import pytest
import trustme

from probe.cli import main


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys):
    """Run `probe ARGS` in a worker thread (the test's loop keeps serving)."""

    async def run(*args: str, stdin: str = "") -> CliResult:
        out = io.StringIO()
        code = await asyncio.get_running_loop().run_in_executor(
            None, lambda: main(list(args), out=out, stdin=io.StringIO(stdin)))
        err = capsys.readouterr().err
        return CliResult(code, out.getvalue(), err)

    return run


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(ca, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def server_context(ca: trustme.CA, *names: str, expired: bool = False) -> ssl.SSLContext:
    """A server-side TLS context with a certificate for `names` from `ca`."""
    kwargs = {}
    if expired:
        now = dt.datetime.now(dt.UTC)
        kwargs = {"not_before": now - dt.timedelta(days=30),
                  "not_after": now - dt.timedelta(days=1)}
    cert = ca.issue_cert(*names, **kwargs)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


@pytest.fixture(autouse=True)
def _strict_findings(monkeypatch):
    """A finding whose template lacks a parameter, or an unknown code, fails the test."""
    import knowledge.findings

    monkeypatch.setattr(knowledge.findings, "STRICT", True)
