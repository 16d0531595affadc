"""End to end: `python -m probe DOMAIN --nameserver ... --json` against loopback servers.

The real CLI runs in a subprocess, asks the loopback DNS server of
`tests.dnsserver`, and talks SMTP to aiosmtpd servers listening on distinct
loopback addresses (127.0.0.2, 127.0.0.3, ...), all on one port the test picks.
Each MX host of a zone resolves to one of those addresses, so every step from
the DNS question to the SMTP QUIT is the production code path.

What is pinned here is CONTRACT.md as a script sees it: the JSON keys, MX
records in preference order, one host entry per address, a category on every
step, the exit codes, and "bad input is exit 64 with nothing sent" -- checked
on the wire: the DNS server's query log and the SMTP servers' connection counts
stay at zero.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests import dnsserver
from tests.contract import CATEGORIES, ERROR_KINDS, SEVERITIES, STAGES
from tests.dnsserver import DnsServer

dns_server = dnsserver.dns_server

# From CONTRACT.md, "Categories" and "JSON".

# A hang guard for the subprocess, not a performance threshold.
HANG_GUARD = 120.0


# -- SMTP servers on loopback addresses ---------------------------------------


class Recorder:
    """aiosmtpd handler: remembers MAIL/RCPT, rejects chosen recipients."""

    def __init__(self, reject: dict[str, str] | None = None) -> None:
        self.reject = reject or {}
        self.mail_from: list[str] = []
        self.rcpts: list[str] = []
        self._lock = threading.Lock()

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        with self._lock:
            self.mail_from.append(address)
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        with self._lock:
            self.rcpts.append(address)
        if address in self.reject:
            return self.reject[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"


class CountingController(Controller):
    """A Controller that counts the connections it accepts.

    aiosmtpd calls `factory()` once per accepted connection. `start()` makes
    one connection of its own (to check the server is up) and returns only
    after that connection's factory call, so resetting the count after
    `start()` leaves exactly the connections the probe made.
    """

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.connections = 0

    def factory(self) -> SMTP:
        self.connections += 1
        return super().factory()

    def start(self) -> None:
        super().start()
        self.connections = 0


@dataclass
class SmtpFarm:
    """SMTP servers on several loopback addresses, one shared port."""

    port: int
    servers: dict[str, CountingController] = field(default_factory=dict)
    handlers: dict[str, Recorder] = field(default_factory=dict)

    @property
    def connections(self) -> dict[str, int]:
        return {address: c.connections for address, c in self.servers.items()}


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_farm() -> Iterator[Callable[..., SmtpFarm]]:
    """Factory: `smtp_farm(["127.0.0.2", "127.0.0.3"], reject={...})` -> SmtpFarm."""
    started: list[CountingController] = []

    def make(addresses: Sequence[str], reject: dict[str, str] | None = None,
             per_address: dict[str, dict[str, str]] | None = None) -> SmtpFarm:
        """`reject` applies to every server; `per_address` gives one its own."""
        last_error: Exception | None = None
        for _ in range(20):
            farm = SmtpFarm(_free_port(addresses[0]))
            try:
                for address in addresses:
                    handler = Recorder((per_address or {}).get(address, reject))
                    controller = CountingController(
                        handler,
                        hostname=address,
                        port=farm.port,
                        server_hostname=f"smtp-{address}.test",
                    )
                    controller.start()
                    started.append(controller)
                    farm.servers[address] = controller
                    farm.handlers[address] = handler
                return farm
            except OSError as exc:  # port taken on one of the addresses: try another
                last_error = exc
                for controller in farm.servers.values():
                    controller.stop()
                    started.remove(controller)
        raise RuntimeError(f"no common free port on {addresses}: {last_error}")

    try:
        yield make
    finally:
        for controller in started:
            controller.stop()


# -- running the CLI ----------------------------------------------------------


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def doc(self) -> dict[str, Any]:
        return json.loads(self.stdout)


def probe(*args: str) -> Run:
    """Run `python -m probe ARGS` and capture everything."""
    env = {k: v for k, v in os.environ.items() if k != "PROBE_DEBUG"}
    env["NO_COLOR"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "probe", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=HANG_GUARD,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def probe_json(domain: str, dns: DnsServer, port: int, *extra: str) -> Run:
    """The usual invocation: our DNS server, our SMTP port, a fixed HELO name."""
    run = probe(
        domain,
        "--nameserver",
        dns.nameserver_arg,
        "--port",
        str(port),
        "--helo",
        "probe.test",
        "--timeout",
        "5",
        "--json",
        *extra,
    )
    assert run.stdout, f"no JSON on stdout (exit {run.code}); stderr: {run.stderr}"
    return run


def assert_contract_shape(doc: dict[str, Any], exit_code: int) -> None:
    """Every key CONTRACT.md fixes; every annotation present carries a valid category.

    That *every* step has an annotation is its own test below, so a gap there
    does not hide what the other tests check.
    """
    for key in ("target", "domain", "domain_unicode", "mx", "hosts", "findings", "outcome"):
        assert key in doc, key
    assert doc["exit_code"] == exit_code
    assert doc["mx"]["source"] in {"mx", "implicit", "null", "none", "override"}
    for record in doc["mx"]["records"]:
        assert set(record) >= {"preference", "host", "addresses"}
    for finding in doc["findings"]:
        assert finding["severity"] in {"warning", "error", "info"}
        assert finding["message"]
    for host in doc["hosts"]:
        assert set(host) >= {"host", "address", "port", "preference", "tls", "steps", "outcome"}
        assert host["outcome"] in {"ok", "transient", "permanent"}
        assert host["steps"], host
        for step in host["steps"]:
            assert step["stage"] in STAGES, step
            annotation = step["annotation"]
            if annotation is not None:
                assert annotation["category"] in CATEGORIES, step
                assert annotation["severity"] in SEVERITIES, step
            if step["error"] is not None:
                assert step["error"]["kind"] in ERROR_KINDS, step
                assert step["reply"] is None, step
            elif step["reply"] is None:
                # No reply and no error: only a successful TCP connect has no reply.
                assert step["stage"] == "connect", step
            else:
                assert isinstance(step["reply"]["code"], int)
                assert isinstance(step["reply"]["lines"], list)


def messages(doc: dict[str, Any]) -> str:
    """All finding messages, top level and per host, as one lower-case text."""
    texts = [f["message"] for f in doc["findings"]]
    texts += [f["message"] for h in doc["hosts"] for f in h.get("findings", [])]
    return "\n".join(texts).lower()


# -- the happy path -----------------------------------------------------------

GOOD_ZONE = """
good.test.     MX 20 mx2.good.test.
good.test.     MX 10 mx1.good.test.
mx1.good.test. A  127.0.0.2
mx2.good.test. A  127.0.0.3
mx2.good.test. A  127.0.0.4
"""


def test_every_address_of_every_mx_is_probed_and_accepted(dns_server, smtp_farm) -> None:
    farm = smtp_farm(["127.0.0.2", "127.0.0.3", "127.0.0.4"])
    dns = dns_server(GOOD_ZONE)
    run = probe_json("good.test", dns, farm.port)
    assert run.code == 0, run.stderr
    doc = run.doc
    assert_contract_shape(doc, 0)
    assert (doc["target"], doc["domain"], doc["domain_unicode"]) == (
        "good.test",
        "good.test",
        "good.test",
    )
    assert doc["mx"]["source"] == "mx"
    records = [(r["preference"], r["host"], sorted(r["addresses"])) for r in doc["mx"]["records"]]
    assert records == [
        (10, "mx1.good.test", ["127.0.0.2"]),
        (20, "mx2.good.test", ["127.0.0.3", "127.0.0.4"]),
    ]
    hosts = [(h["preference"], h["host"], h["address"], h["port"]) for h in doc["hosts"]]
    assert sorted(hosts) == [
        (10, "mx1.good.test", "127.0.0.2", farm.port),
        (20, "mx2.good.test", "127.0.0.3", farm.port),
        (20, "mx2.good.test", "127.0.0.4", farm.port),
    ]
    assert [h["preference"] for h in doc["hosts"]] == [10, 20, 20]  # display order
    assert doc["outcome"] == "ok"
    for host in doc["hosts"]:
        assert host["outcome"] == "ok"
        stages = [s["stage"] for s in host["steps"]]
        for stage in ("banner", "ehlo", "mail", "rcpt"):
            assert stage in stages, stages
        assert stages.index("banner") < stages.index("ehlo") < stages.index("mail")
        assert stages.index("mail") < stages.index("rcpt")
        banner = host["steps"][stages.index("banner")]
        assert banner["reply"]["code"] == 220
        assert f"smtp-{host['address']}.test" in banner["reply"]["lines"][0]
    # Each SMTP server really was asked, once, for postmaster@ with the null path.
    assert farm.connections == {"127.0.0.2": 1, "127.0.0.3": 1, "127.0.0.4": 1}
    for handler in farm.handlers.values():
        assert handler.rcpts == ["postmaster@good.test"]
        assert handler.mail_from == ["<>"]  # aiosmtpd's spelling of the null path
    for host in doc["hosts"]:
        mail = [s for s in host["steps"] if s["stage"] == "mail"]
        assert [s["command"] for s in mail] == ["MAIL FROM:<>"]


def test_every_step_carries_an_annotation_with_a_category(dns_server, smtp_farm) -> None:
    # The brief: "every step annotated with a category" -- including a connect
    # that succeeded and the dns error row of a dangling MX.
    farm = smtp_farm(["127.0.0.2"])
    dns = dns_server(
        """
        good.test.      MX 10 mx1.good.test.
        good.test.      MX 20 gone.good.test.
        mx1.good.test.  A  127.0.0.2
        """
    )
    doc = probe_json("good.test", dns, farm.port).doc
    steps = [(h["host"], s) for h in doc["hosts"] for s in h["steps"]]
    assert {s["stage"] for _, s in steps} >= {"connect", "banner", "ehlo", "mail", "rcpt"}
    missing = [(host, s["stage"]) for host, s in steps if s["annotation"] is None]
    assert missing == [], f"steps without an annotation: {missing}"
    for _, step in steps:
        assert step["annotation"]["category"] in CATEGORIES, step


def test_implicit_mx_probes_the_domains_own_address(dns_server, smtp_farm) -> None:
    farm = smtp_farm(["127.0.0.2"])
    dns = dns_server("bare.test. A 127.0.0.2")
    run = probe_json("bare.test", dns, farm.port)
    assert run.code == 0, run.stderr
    doc = run.doc
    assert_contract_shape(doc, 0)
    assert doc["mx"]["source"] == "implicit"
    assert [(r["preference"], r["host"]) for r in doc["mx"]["records"]] == [(0, "bare.test")]
    assert [(h["host"], h["address"]) for h in doc["hosts"]] == [("bare.test", "127.0.0.2")]
    assert "implicit" in messages(doc)
    assert farm.connections == {"127.0.0.2": 1}


def test_rejected_recipient_is_permanent_and_categorised(dns_server, smtp_farm) -> None:
    farm = smtp_farm(
        ["127.0.0.2"],
        reject={
            "nobody@good.test": "550 5.1.1 <nobody@good.test>: Recipient address "
            "rejected: User unknown in local recipient table"
        },
    )
    dns = dns_server("good.test. MX 10 mx1.good.test.\nmx1.good.test. A 127.0.0.2")
    run = probe_json("good.test", dns, farm.port, "--rcpt", "nobody@good.test")
    assert run.code == 2, run.stderr
    doc = run.doc
    assert_contract_shape(doc, 2)
    (host,) = doc["hosts"]
    rcpt = [s for s in host["steps"] if s["stage"] == "rcpt"]
    assert [s["reply"]["code"] for s in rcpt] == [550]
    assert rcpt[0]["reply"]["enhanced"] == "5.1.1"
    assert rcpt[0]["annotation"]["category"] == "user_unknown"
    assert host["outcome"] == "permanent"


def test_mx_to_cname_is_flagged_and_still_probed(dns_server, smtp_farm) -> None:
    farm = smtp_farm(["127.0.0.2"])
    dns = dns_server(
        """
        alias.test.      MX    10 mail.alias.test.
        mail.alias.test. CNAME real.alias.test.
        real.alias.test. A     127.0.0.2
        """
    )
    run = probe_json("alias.test", dns, farm.port)
    assert run.code == 0, run.stderr
    doc = run.doc
    assert_contract_shape(doc, 0)
    assert "cname" in messages(doc)
    assert [(h["host"], h["address"]) for h in doc["hosts"]] == [("mail.alias.test", "127.0.0.2")]
    assert farm.connections == {"127.0.0.2": 1}


def test_idn_domain_shown_in_both_forms(dns_server, smtp_farm) -> None:
    farm = smtp_farm(["127.0.0.2"])
    dns = dns_server(
        """
        xn--bcher-kva.test.    MX 10 mx.xn--bcher-kva.test.
        mx.xn--bcher-kva.test. A  127.0.0.2
        """
    )
    # health checks (their own TXT and DO-bit MX queries) off: this counts discovery's
    run = probe_json("bücher.test", dns, farm.port, "--no-checks")
    assert run.code == 0, run.stderr
    doc = run.doc
    assert (doc["domain"], doc["domain_unicode"]) == ("xn--bcher-kva.test", "bücher.test")
    assert doc["mx"]["records"][0]["host"] == "mx.xn--bcher-kva.test"
    assert dns.asked("xn--bcher-kva.test.", "MX") == 1
    assert farm.handlers["127.0.0.2"].rcpts == ["postmaster@xn--bcher-kva.test"]


HOSTILE_ZONE = r"""
evil.test.                   MX 10 \027]0\;PWN\007.evil.test.
\027]0\;PWN\007.evil.test.   A  127.0.0.2
"""


def test_hostile_mx_name_stays_escaped_in_json(dns_server, smtp_farm) -> None:
    farm = smtp_farm(["127.0.0.2"])
    dns = dns_server(HOSTILE_ZONE)
    run = probe_json("evil.test", dns, farm.port)
    doc = run.doc
    assert doc["mx"]["records"][0]["host"] == "\\027]0\\;PWN\\007.evil.test"
    assert [h["host"] for h in doc["hosts"]] == ["\\027]0\\;PWN\\007.evil.test"]
    assert "\x1b" not in run.stdout and "\x07" not in run.stdout


def test_hostile_mx_name_never_reaches_the_terminal_raw(dns_server, smtp_farm) -> None:
    farm = smtp_farm(["127.0.0.2"])
    dns = dns_server(HOSTILE_ZONE)
    run = probe(
        "evil.test",
        "--nameserver",
        dns.nameserver_arg,
        "--port",
        str(farm.port),
        "--helo",
        "probe.test",
        "--timeout",
        "5",
        "--plain",
    )
    assert run.stdout
    assert "PWN" in run.stdout  # the host is shown ...
    assert "\x1b" not in run.stdout and "\x07" not in run.stdout  # ... escaped
    assert "\x1b" not in run.stderr


# -- DNS says no: nothing is sent ---------------------------------------------


def test_nxdomain_exits_2_without_smtp(dns_server, smtp_farm) -> None:
    farm = smtp_farm(["127.0.0.2"])
    dns = dns_server("other.test. MX 10 mx.other.test.\nmx.other.test. A 127.0.0.2")
    run = probe_json("missing.test", dns, farm.port)
    assert run.code == 2, run.stderr
    doc = run.doc
    assert_contract_shape(doc, 2)
    assert doc["outcome"] == "permanent"
    assert doc["hosts"] == []
    assert "does not exist" in messages(doc)
    assert farm.connections == {"127.0.0.2": 0}


def test_null_mx_exits_2_without_smtp(dns_server, smtp_farm) -> None:
    farm = smtp_farm(["127.0.0.2"])
    dns = dns_server("null.test. MX 0 .\nnull.test. A 127.0.0.2")
    # health checks (the domain's TXT policy records) off: this is about discovery alone
    run = probe_json("null.test", dns, farm.port, "--no-checks")
    assert run.code == 2, run.stderr
    doc = run.doc
    assert_contract_shape(doc, 2)
    assert doc["mx"]["source"] == "null"
    assert doc["hosts"] == []
    assert "7505" in messages(doc)
    assert farm.connections == {"127.0.0.2": 0}
    assert [(q.qname, q.qtype) for q in dns.queries] == [("null.test.", "MX")]


def test_servfail_exits_1_without_smtp(dns_server, smtp_farm) -> None:
    farm = smtp_farm(["127.0.0.2"])
    dns = dns_server(GOOD_ZONE, overrides={"good.test.": "servfail"})
    run = probe_json("good.test", dns, farm.port)
    assert run.code == 1, run.stderr
    doc = run.doc
    assert_contract_shape(doc, 1)
    assert doc["outcome"] == "transient"
    assert "servfail" in messages(doc)
    assert farm.connections == {"127.0.0.2": 0}


def test_dns_timeout_exits_1(dns_server, smtp_farm) -> None:
    farm = smtp_farm(["127.0.0.2"])
    dns = dns_server(GOOD_ZONE, overrides={"good.test.": "drop"})
    run = probe(
        "good.test",
        "--nameserver",
        dns.nameserver_arg,
        "--port",
        str(farm.port),
        "--helo",
        "probe.test",
        "--timeout",
        "1",
        "--json",
    )
    assert run.code == 1, run.stderr
    assert_contract_shape(run.doc, 1)
    assert "timed out" in messages(run.doc)
    assert farm.connections == {"127.0.0.2": 0}


def test_dangling_mx_exits_1_and_gets_a_row(dns_server, smtp_farm) -> None:
    farm = smtp_farm(["127.0.0.2"])
    dns = dns_server(
        """
        half.test.    MX 10 ok.half.test.
        half.test.    MX 20 gone.half.test.
        ok.half.test. A  127.0.0.2
        """
    )
    run = probe_json("half.test", dns, farm.port)
    assert run.code == 1, run.stderr
    doc = run.doc
    assert_contract_shape(doc, 1)
    assert [(r["host"], r["addresses"]) for r in doc["mx"]["records"]] == [
        ("ok.half.test", ["127.0.0.2"]),
        ("gone.half.test", []),
    ]
    by_host = {h["host"]: h for h in doc["hosts"]}
    assert by_host["ok.half.test"]["outcome"] == "ok"
    gone = by_host["gone.half.test"]
    assert gone["address"] is None
    assert gone["outcome"] == "transient"
    assert gone["steps"][0]["error"]["kind"] == "dns"
    assert "dangling" in messages(doc)
    assert farm.connections == {"127.0.0.2": 1}


# -- bad input: exit 64, one line, nothing asked ------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["ex ample.com"],
        ["a..b"],
        ["--nameserver", "999.1.1.1", "x.test"],
    ],
    ids=["space", "empty-label", "bad-nameserver"],
)
def test_bad_input_exits_64_and_asks_nothing(dns_server, smtp_farm, argv) -> None:
    farm = smtp_farm(["127.0.0.2"])
    dns = dns_server(GOOD_ZONE)
    # Our server is listed too (first), so any premature lookup would show in its log.
    run = probe("--nameserver", dns.nameserver_arg, "--port", str(farm.port), "--json", *argv)
    assert run.code == 64, (run.stdout, run.stderr)
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].strip()
    assert "Traceback" not in run.stderr
    assert dns.queries == []
    assert farm.connections == {"127.0.0.2": 0}
