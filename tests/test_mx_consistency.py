"""MX consistency: several real MX servers asked the same things, their differences named.

Each MX is a scripted SMTP server on its own loopback address (one shared
port, as a probe's --port applies to every host), found through the loopback
DNS server's MX records, so the check sees real sessions from the real runner.
"""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from typing import Any

from tests import dnsserver
from tests.conftest import server_context
from tests.smtpserver import dialog, same_port_servers

dns_server = dnsserver.dns_server
HELO = "probe.test"
GREYLISTED = (b"450 4.2.0 <ok@x.test>: Recipient address rejected: Greylisted, see "
              b"http://postgrey.schweikert.ch/help/x.test.html\r\n")


async def probe_hosts(run_cli, dns_server, scripts: dict[str, Any], *args: str,
                      mode: str = "--json"):
    """Probe x.test whose MX hosts mxN.x.test (preference 10, 20...) run `scripts`."""
    lines = []
    for n, address in enumerate(scripts, 1):
        lines += [f"x.test. MX {n * 10} mx{n}.x.test.", f"mx{n}.x.test. A {address}"]
    async with AsyncExitStack() as stack:
        port = await same_port_servers(stack, scripts)
        server = dns_server("\n".join(lines))
        result = await run_cli("x.test", "--nameserver", server.nameserver_arg, "--port",
                               str(port), "--helo", HELO, "--timeout", "3", mode, *args)
    assert "Traceback" not in result.err, result.err
    return result


def consistency(result) -> dict[str, Any]:
    (check,) = [c for c in json.loads(result.out)["checks"] if c["check"] == "mx_consistency"]
    return check


async def test_backup_accepting_what_the_primary_refuses_is_named(run_cli, dns_server):
    refuse = {"RCPT:nobody@x.test": b"550 5.1.1 <nobody@x.test>: Recipient address rejected: "
                                    b"User unknown in local recipient table\r\n"}
    result = await probe_hosts(run_cli, dns_server,
                               {"127.0.0.2": dialog(replies=refuse), "127.0.0.3": dialog()},
                               "--rcpt", "ok@x.test", "--rcpt", "nobody@x.test",
                               "--checks", "mx_consistency")
    check = consistency(result)
    assert (check["status"], check["code"]) == ("fail", "mx_accepts_and_refuses"), check
    summary = check["summary"]
    assert summary.startswith("RCPT TO:<nobody@x.test> is accepted by mx2.x.test [127.0.0.3] "
                              "(250 2.0.0 ok) but refused by mx1.x.test [127.0.0.2] (550 5.1.1")
    assert "backscatter" in summary and "relay_recipient_maps" in check["fix"]
    replies = check["details"]["replies"]["RCPT TO:<ok@x.test>"]
    assert replies == {"mx1.x.test [127.0.0.2]": "250 2.0.0 ok",
                       "mx2.x.test [127.0.0.3]": "250 2.0.0 ok"}
    assert result.code == 2  # the refusal itself still makes the run permanent


async def test_greylisting_on_one_host_only(run_cli, dns_server):
    result = await probe_hosts(run_cli, dns_server,
                               {"127.0.0.2": dialog(replies={"RCPT": GREYLISTED}),
                                "127.0.0.3": dialog()},
                               "--rcpt", "ok@x.test", "--checks", "mx_consistency")
    check = consistency(result)
    assert (check["status"], check["code"]) == ("warn", "mx_answers_differ"), check
    assert "mx1.x.test [127.0.0.2] (450 4.2.0" in check["summary"]
    assert "mx2.x.test [127.0.0.3] (250 2.0.0 ok)" in check["summary"]


async def test_tls_on_one_host_only(run_cli, dns_server, ca, ca_file):
    result = await probe_hosts(run_cli, dns_server,
                               {"127.0.0.2": dialog(tls=server_context(ca, "mx1.x.test")),
                                "127.0.0.3": dialog()},
                               "--tls-ca-file", ca_file, "--checks", "mx_consistency,tls")
    check = consistency(result)
    assert (check["status"], check["code"]) == ("warn", "mx_tls_differs"), check
    assert check["summary"].startswith("STARTTLS works on mx1.x.test [127.0.0.2] but not on "
                                       "mx2.x.test [127.0.0.3]: mx2.x.test does not offer")


async def test_hosts_that_agree_pass_and_a_lone_host_is_not_compared(run_cli, dns_server):
    two = await probe_hosts(run_cli, dns_server, {"127.0.0.2": dialog(), "127.0.0.3": dialog()},
                            "--checks", "mx_consistency")
    check = consistency(two)
    assert (check["status"], check["code"]) == ("pass", "mx_consistent")
    assert "all 2 MX addresses" in check["summary"]
    one = await probe_hosts(run_cli, dns_server, {"127.0.0.2": dialog()},
                            "--checks", "mx_consistency")
    assert json.loads(one.out)["checks"] == []


async def test_plain_report_shows_the_difference(run_cli, dns_server):
    result = await probe_hosts(run_cli, dns_server,
                               {"127.0.0.2": dialog(replies={"MAIL": b"550 5.7.1 no null "
                                                                     b"sender\r\n"}),
                                "127.0.0.3": dialog()},
                               "--checks", "mx_consistency", mode="--plain")
    health = " ".join(result.out.split("\nHealth:\n", 1)[1].split())
    assert health.startswith("mx_consistency fail MAIL FROM:<> is accepted by mx2.x.test "
                             "[127.0.0.3] (250 2.0.0 ok) but refused by mx1.x.test "
                             "[127.0.0.2] (550 5.7.1 no null sender)")
