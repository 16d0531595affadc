"""probe batch: a pool of targets, politeness per address, streaming, resume, Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys

from tests.smtpserver import Scripted, dialog

REJECTING = {"RCPT:postmaster@b.test": b"550 5.1.1 no such user\r\n"}


def _documents(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


async def test_one_document_per_target_and_worst_exit_code(run_cli, tmp_path):
    targets = tmp_path / "targets.txt"
    targets.write_text("# comment\na.test\n\nb.test\n")
    async with Scripted(dialog(replies=REJECTING)) as server:
        result = await run_cli("batch", str(targets), "--mx", server.mx, "--helo", "probe.test")
    documents = _documents(result.out)
    assert sorted(d["domain"] for d in documents) == ["a.test", "b.test"]
    assert {d["domain"]: d["exit_code"] for d in documents} == {"a.test": 0, "b.test": 2}
    assert result.code == 2
    assert "DATA" not in server.commands()
    summary = result.err.split("probe batch:\n", 1)[1]
    assert "accepted" in summary and "permanent" in summary and "targets/s" in summary


async def test_targets_from_stdin(run_cli):
    async with Scripted(dialog()) as server:
        result = await run_cli("batch", "-", "--mx", server.mx, "--helo", "probe.test",
                               stdin="c.test\n")
    (document,) = _documents(result.out)
    assert document["target"] == "c.test" and result.code == 0


async def test_a_bad_line_is_reported_with_its_number_and_skipped(run_cli, tmp_path):
    targets = tmp_path / "targets.txt"
    targets.write_text("good.test\nbad target.test\n")
    async with Scripted(dialog()) as server:
        result = await run_cli("batch", str(targets), "--mx", server.mx, "--helo", "probe.test")
    assert [d["target"] for d in _documents(result.out)] == ["good.test"]
    assert "line 2:" in result.err and "bad target.test" in result.err and "skipped" in result.err
    assert result.code == 0


async def test_no_valid_line_is_a_usage_error_and_nothing_is_sent(run_cli, tmp_path):
    targets = tmp_path / "targets.txt"
    targets.write_text("bad target.test\n# nothing else\n")
    async with Scripted(dialog()) as server:
        result = await run_cli("batch", str(targets), "--mx", server.mx)
    assert result.code == 64 and result.out == ""
    assert server.connections == 0


async def test_missing_file_is_a_usage_error(run_cli, tmp_path):
    result = await run_cli("batch", str(tmp_path / "nope.txt"))
    assert result.code == 64 and "cannot read" in result.err


async def test_bad_shared_options_are_refused_before_any_line(run_cli, tmp_path):
    targets = tmp_path / "targets.txt"
    targets.write_text("a.test\n")
    result = await run_cli("batch", str(targets), "--port", "70000")
    assert result.code == 64 and "70000" in result.err
    result = await run_cli("batch", str(targets), "--resume")
    assert result.code == 64 and "--output" in result.err


def _holding(hold: float):
    """A dialog whose RCPT reply waits, and which records connections open at once."""
    state = {"open": 0, "peak": 0}
    base = dialog()

    async def script(reader, writer, server):
        state["open"] += 1
        state["peak"] = max(state["peak"], state["open"])
        try:
            await asyncio.sleep(hold)
            await base(reader, writer, server)
        finally:
            state["open"] -= 1

    return script, state


async def test_targets_run_together_but_one_address_is_never_hit_twice_at_once(run_cli, tmp_path):
    targets = tmp_path / "targets.txt"
    targets.write_text("".join(f"t{i}.test\n" for i in range(6)))
    script, state = _holding(0.2)
    async with Scripted(script) as server:
        polite = await run_cli("batch", str(targets), "--mx", server.mx, "--helo", "probe.test",
                               "--concurrency", "6")
    assert polite.code == 0 and len(_documents(polite.out)) == 6
    assert state["peak"] == 1  # six targets share one MX address: one connection at a time

    script, state = _holding(0.2)
    async with Scripted(script) as server:
        wider = await run_cli("batch", str(targets), "--mx", server.mx, "--helo", "probe.test",
                              "--concurrency", "6", "--per-ip", "3")
    assert len(_documents(wider.out)) == 6
    assert state["peak"] == 3  # the pool keeps several targets in flight, up to --per-ip


async def test_output_resume_and_a_torn_last_line(run_cli, tmp_path):
    targets = tmp_path / "targets.txt"
    targets.write_text("a.test\nb.test\n")
    output = tmp_path / "out.jsonl"
    async with Scripted(dialog()) as server:
        first = await run_cli("batch", str(targets), "--mx", server.mx, "--helo", "probe.test",
                              "--output", str(output))
        assert first.out == "" and len(_documents(output.read_text())) == 2
        with output.open("a") as handle:
            handle.write('{"target": "c.test", "hosts": [')  # a crash mid-write
        targets.write_text("a.test\nb.test\nc.test\nd.test\n")
        connections = server.connections
        again = await run_cli("batch", str(targets), "--mx", server.mx, "--helo", "probe.test",
                              "--output", str(output), "--resume")
        assert server.connections - connections == 2  # c and d only
    assert again.code == 0
    assert sorted(d["target"] for d in _documents(output.read_text())) == [
        "a.test", "b.test", "c.test", "d.test"]
    assert "already done (--resume)  2" in again.err


async def test_compact_keeps_only_the_headline_of_each_annotation(run_cli):
    async with Scripted(dialog(replies=REJECTING)) as server:
        result = await run_cli("batch", "-", "--mx", server.mx, "--helo", "probe.test",
                               "--compact", stdin="b.test\n")
    (document,) = _documents(result.out)
    for step in document["hosts"][0]["steps"]:
        assert set(step["annotation"]) == {"category", "severity", "title", "matched",
                                           "enhanced_title", "doc_url", "lang",
                                           "enhanced_registered"}
    assert document["hosts"][0]["steps"][-2]["annotation"]["category"] == "user_unknown"


async def test_ctrl_c_writes_what_finished_and_nothing_half_written(tmp_path):
    targets = tmp_path / "targets.txt"
    targets.write_text("".join(f"t{i}.test\n" for i in range(40)))
    output = tmp_path / "out.jsonl"
    script, _ = _holding(0.3)
    async with Scripted(script) as server:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "probe", "batch", str(targets), "--mx", server.mx,
            "--helo", "probe.test", "--output", str(output), "--per-ip", "2",
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "CI": "1"})
        for _ in range(200):
            await asyncio.sleep(0.05)
            if output.exists() and output.read_text().count("\n") >= 2:
                break
        process.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 130, err
    lines = output.read_text().splitlines()
    assert 2 <= len(lines) < 40
    assert all(json.loads(line)["exit_code"] == 0 for line in lines)
    assert output.read_text().endswith("\n")
    assert b"interrupted" in err and b"Traceback" not in err
