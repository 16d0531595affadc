"""--proxy: every SMTP connection through a SOCKS5 proxy, and the proxy's own failures.

pproxy (a real SOCKS5 server this project did not write) carries the happy
paths; the scripted SOCKS5 server (tests/socksserver.py) gives each RFC 1928 /
1929 failure. The report through a proxy must be the report of a direct run,
the proxy's failures must be told apart from the MX's, and its credentials
must never be printed.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from tests import socks
from tests.smtpserver import Scripted, dialog
from tests.socksserver import Behaviour, ReplyCode, ScriptedSocks

socks5_proxy = socks.socks5_proxy
socks5_proxy_auth = socks.socks5_proxy_auth
HELO = "probe.test"
REPLIES = {"RCPT:nobody@x.test": b"550 5.1.1 <nobody@x.test>: User unknown\r\n"}


async def _probe(run_cli, server: Scripted, *args: str, mode: str = "--json"):
    return await asyncio.wait_for(run_cli(
        "x.test", "--mx", server.mx, "--helo", HELO, "--timeout", "2", "--rcpt", "nobody@x.test",
        mode, *args), 60)


def _shape(document: dict) -> list[tuple]:
    """What the report says, without timings: stage, command, code, category per step."""
    return [(s["stage"], s["command"], s["reply"] and s["reply"]["code"],
             s["annotation"] and s["annotation"]["category"], s["outcome"])
            for host in document["hosts"] for s in host["steps"]]


async def test_a_run_through_pproxy_is_the_same_report_as_a_direct_run(run_cli, socks5_proxy):
    async with Scripted(dialog(replies=REPLIES)) as server:
        direct = await _probe(run_cli, server)
        proxied = await _probe(run_cli, server, "--proxy", socks5_proxy.url)
    assert _shape(json.loads(proxied.out)) == _shape(json.loads(direct.out))
    assert proxied.code == direct.code == 2
    assert socks5_proxy.tunnels_to(server.port)  # pproxy's own log: it really went through


async def test_proxy_credentials_are_used_and_never_printed(run_cli, socks5_proxy_auth):
    password = socks5_proxy_auth.password
    assert password
    outputs = []
    async with Scripted(dialog()) as server:
        for mode in ("--json", "--plain"):
            result = await _probe(run_cli, server, "--proxy", socks5_proxy_auth.url, mode=mode)
            outputs += [result.out, result.err]
            assert result.code == 0, result.out  # this server accepts nobody@
    assert socks5_proxy_auth.tunnels_to(server.port, expect=2)
    for text in outputs:
        assert password not in text


async def test_pproxy_refuses_missing_credentials_as_a_proxy_error(run_cli, socks5_proxy_auth):
    async with Scripted(dialog()) as server:
        result = await _probe(run_cli, server, "--proxy", socks5_proxy_auth.url_without_credentials)
    (step,) = json.loads(result.out)["hosts"][0]["steps"]
    assert step["stage"] == "connect" and step["error"]["kind"] == "proxy"
    assert server.connections == 0 and result.code == 1


@pytest.mark.parametrize(("behaviour", "code", "reason"), [
    (Behaviour.REPLY, ReplyCode.GENERAL_FAILURE, "general_failure"),
    (Behaviour.REPLY, ReplyCode.NOT_ALLOWED, "not_allowed"),
    (Behaviour.REPLY, ReplyCode.NETWORK_UNREACHABLE, "network_unreachable"),
    (Behaviour.REPLY, ReplyCode.HOST_UNREACHABLE, "host_unreachable"),
    (Behaviour.REPLY, ReplyCode.CONNECTION_REFUSED, "refused"),
    (Behaviour.REPLY, ReplyCode.TTL_EXPIRED, "ttl_expired"),
    (Behaviour.REPLY, ReplyCode.COMMAND_NOT_SUPPORTED, "unsupported"),
    (Behaviour.AUTH_FAILED, ReplyCode.GENERAL_FAILURE, "auth_failed"),
    (Behaviour.REJECT_METHODS, ReplyCode.GENERAL_FAILURE, "auth_failed"),
    (Behaviour.DROP_AT_REQUEST, ReplyCode.GENERAL_FAILURE, "protocol"),
    (Behaviour.NOT_SOCKS5, ReplyCode.GENERAL_FAILURE, "protocol"),
    (Behaviour.STALL_AT_REQUEST, ReplyCode.GENERAL_FAILURE, "timeout"),
])
async def test_each_proxy_failure_is_typed_and_explained(run_cli, behaviour, code, reason):
    credentials = ("user", "s3cret-proxy-pass") if behaviour is Behaviour.AUTH_FAILED else None
    async with Scripted(dialog()) as server, \
            ScriptedSocks(behaviour, code, credentials) as proxy:
        result = await _probe(run_cli, server, "--proxy", proxy.url)
        plain = await _probe(run_cli, server, "--proxy", proxy.url, mode="--plain")
    steps = json.loads(result.out)["hosts"][0]["steps"]
    (step,) = steps
    assert step["error"]["kind"] == "proxy" and step["error"]["reason"] == reason, step
    assert step["annotation"]["matched"] == f"error:proxy_{reason}"
    assert server.connections == 0  # nothing reached the MX
    assert result.code == 1 and "s3cret-proxy-pass" not in result.out + plain.out + plain.err
    assert "port_blocked" not in result.out  # the proxy answered: not a blocked port


async def test_an_unreachable_proxy_is_said_to_be_the_proxy(run_cli):
    async with ScriptedSocks() as proxy:
        url = proxy.url
    async with Scripted(dialog()) as server:
        result = await _probe(run_cli, server, "--proxy", url)
    (step,) = json.loads(result.out)["hosts"][0]["steps"]
    assert (step["error"]["kind"], step["error"]["reason"]) == ("proxy", "proxy_unreachable")
    assert "could not connect to the proxy" in step["error"]["message"]


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "socks5h://127.0.0.1:1080",
                                 "socks5://user:hunter2@", "socks5://127.0.0.1",
                                 "socks5://user:hunter2@127.0.0.1:99999"])
async def test_bad_proxy_urls_are_refused_and_never_echo_the_password(run_cli, url):
    async with Scripted(dialog()) as server:
        result = await _probe(run_cli, server, "--proxy", url)
    assert result.code == 64 and server.connections == 0
    assert "hunter2" not in result.err and len(result.err.strip().splitlines()) == 1


async def test_behind_a_proxy_the_default_ehlo_does_not_give_our_address(run_cli, socks5_proxy):
    from probe.core.plan import build_plan

    plan = build_plan("x.test", proxy=socks5_proxy.url)
    assert plan.ehlo_name(None) in (plan.helo, "[127.0.0.1]")  # the proxy is on loopback
    public = build_plan("x.test", proxy="socks5://93.184.216.34:1080")
    assert public.ehlo_name(None) in (public.helo, "[93.184.216.34]")
