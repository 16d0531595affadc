"""The CLI contract: exit codes, bad input, output modes, the core staying UI-free."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.smtpserver import Scripted, dialog

BAD_INPUTS = [
    ["ex ample.com"],
    ["a..b"],
    ["x.test", "--rcpt", "bob@x.test\r\nDATA"],
    ["x.test", "--rcpt", "Bob <bob@x.test>"],
    ["x.test", "--rcpt", "x@y.test SIZE=1"],
    ["x.test", "--mail-from", "a@b.test\nRCPT TO:<c@d>"],
    ["x.test", "--helo", "evil\r\nMAIL FROM:<x>"],
    ["x.test", "--port", "70000"],
    ["x.test", "--nameserver", "999.1.1.1"],
    ["x.test", "--timeout", "soon"],
    ["x.test", "--quit-after", "data"],
    ["x.test", "--no-such-flag"],
]


@pytest.mark.parametrize("args", BAD_INPUTS)
async def test_bad_input_exits_64_and_sends_nothing(args, run_cli):
    async with Scripted(dialog()) as server:
        result = await run_cli(*args, "--mx", server.mx, "--json")
    assert result.code == 64
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("probe: ")
    assert "Traceback" not in result.err
    assert server.connections == 0
    assert server.received == b""


async def test_usage_errors_name_the_problem(run_cli):
    result = await run_cli("x.test", "--port", "70000")
    assert "70000" in result.err and "range" in result.err


def _loaded(modules: str, forbidden: tuple[str, ...]) -> list[str]:
    """Import `modules` in a fresh interpreter; the forbidden top-level packages it loaded."""
    code = (
        f"import sys, {modules}\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {forbidden!r})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    return [m for m in result.stdout.strip().split(",") if m]


def test_core_never_loads_textual_or_rich():
    modules = ("probe.core.runner, probe.core.session, probe.core.checks.ptr, probe.cli, "
               "probe.views.plain, probe.views.json, probe.views.jsonl, probe.batch, knowledge")
    assert _loaded(modules, ("textual", "rich")) == []


def test_views_never_load_the_wire_or_dns_libraries():
    """Views render events; sockets and DNS are the core's (import boundary)."""
    modules = ("probe.views, probe.views.base, probe.views.plain, probe.views.json, "
               "probe.views.jsonl, probe.views.tui, probe.present.text_report, "
               "probe.present.json_report, probe.explain_cmd")
    assert _loaded(modules, ("aiosmtplib", "dns", "textual", "rich")) == []


def test_python_dash_m_probe_works():
    result = subprocess.run([sys.executable, "-m", "probe", "--help"], capture_output=True,
                            text=True)
    assert result.returncode == 0
    assert "--quit-after" in result.stdout


def test_explicit_json_plain_are_exclusive():
    result = subprocess.run([sys.executable, "-m", "probe", "x.test", "--json", "--plain"],
                            capture_output=True, text=True)
    assert result.returncode == 64
    assert result.stderr.count("\n") == 1


async def test_plain_is_default_when_piped_and_json_parses(run_cli):
    async with Scripted(dialog()) as server:
        plain = await run_cli("x.test", "--mx", server.mx, "--helo", "probe.test")
        as_json = await run_cli("x.test", "--mx", server.mx, "--helo", "probe.test", "--json")
    assert plain.code == 0 and as_json.code == 0
    assert plain.out.startswith("probe x.test")
    assert "Verdict: ok" in plain.out
    document = json.loads(as_json.out)
    assert document["exit_code"] == 0


def test_knowledge_vocabulary_is_the_contracts():
    import knowledge
    from tests.contract import CATEGORIES, SEVERITIES

    assert set(knowledge.CATEGORIES) == CATEGORIES
    assert set(knowledge.SEVERITIES) == SEVERITIES


async def test_mx_name_without_nameserver_uses_the_system_resolver(run_cli):
    """`--mx localhost:PORT` must work as typed (/etc/hosts, not only DNS)."""
    async with Scripted(dialog()) as server:
        result = await run_cli("x.test", "--mx", f"localhost:{server.port}", "--json",
                               "--helo", "probe.test")
    document = json.loads(result.out)
    assert "127.0.0.1" in document["mx"]["records"][0]["addresses"]
    (v4,) = [h for h in document["hosts"] if h["address"] == "127.0.0.1"]
    assert v4["outcome"] == "ok" and server.connections == 1


async def test_json_output_is_ascii_so_server_text_cannot_reach_a_terminal_raw(run_cli):
    banner = "220 mx.test \u202eevil \u009b31m \x1b]0;T\x07 caf\u00e9\r\n".encode()
    async with Scripted(dialog(greeting=banner)) as server:
        result = await run_cli("x.test", "--mx", server.mx, "--json", "--helo", "probe.test")
    assert result.out.isascii()
    (host,) = json.loads(result.out)["hosts"]
    assert host["steps"][1]["reply"]["lines"] == ["mx.test \u202eevil \u009b31m \x1b]0;T\x07 café"]


async def test_a_short_timeout_says_what_an_mta_would_have_waited(run_cli):
    async def silent(reader, writer, server):
        await reader.read()  # accept, never greet

    async with Scripted(silent) as server:
        result = await run_cli("x.test", "--mx", server.mx, "--json", "--timeout", "0.3")
    banner = json.loads(result.out)["hosts"][0]["steps"][1]
    assert banner["stage"] == "banner" and banner["error"]["kind"] == "timeout"
    assert "5 min" in banner["error"]["message"] and "--rfc-timeouts" in banner["error"]["message"]
    assert result.code == 1


async def test_plain_report_speaks_the_chosen_language(run_cli):
    reject = {"RCPT:nobody@x.test": b"550 5.1.1 no such user here\r\n"}
    async with Scripted(dialog(replies=reject)) as server:
        result = await run_cli("x.test", "--mx", server.mx, "--plain", "--lang", "fr",
                               "--rcpt", "nobody@x.test", "--helo", "probe.test")
    from knowledge import labels

    french = labels("fr")
    assert f"{french['fix_sender']}: " in result.out  # the admin has a fix of their own
    assert "How to fix" not in result.out


async def test_version_is_printed_and_nothing_is_probed(run_cli):
    from importlib.metadata import version

    result = await run_cli("--version")
    assert result.code == 0 and result.out == f"probe {version('probe')}\n"


@pytest.mark.parametrize("command", [["explain", "451"], ["compare", "451", "550"]])
def test_an_unsupported_language_is_said_once_then_english(command):
    done = subprocess.run([sys.executable, "-m", "probe", *command, "--lang", "de_DE.UTF-8"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stderr == ("probe: language 'de_DE.UTF-8' is not supported "
                           "(choose from en, fr, tr, zh); using English\n")
    assert "Local error in processing" in done.stdout
    quiet = subprocess.run([sys.executable, "-m", "probe", *command, "--lang", "fr_FR.UTF-8"],
                           capture_output=True, text=True, timeout=60)
    assert quiet.stderr == "" and quiet.returncode == 0
