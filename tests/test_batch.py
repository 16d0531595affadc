"""probe batch: one JSON document per target line; bad lines stop everything first."""

from __future__ import annotations

import json

from tests.smtpserver import Scripted, dialog

REJECTING = {"RCPT:postmaster@b.test": b"550 5.1.1 no such user\r\n"}


async def test_one_document_per_target_and_worst_exit_code(run_cli, tmp_path):
    targets = tmp_path / "targets.txt"
    targets.write_text("# comment\na.test\n\nb.test\n")
    async with Scripted(dialog(replies=REJECTING)) as server:
        result = await run_cli("batch", str(targets), "--mx", server.mx, "--helo", "probe.test")
    documents = [json.loads(line) for line in result.out.splitlines()]
    assert [d["domain"] for d in documents] == ["a.test", "b.test"]
    assert [d["exit_code"] for d in documents] == [0, 2]
    assert result.code == 2
    assert "DATA" not in server.commands()


async def test_targets_from_stdin(run_cli):
    async with Scripted(dialog()) as server:
        result = await run_cli("batch", "-", "--mx", server.mx, "--helo", "probe.test",
                               stdin="c.test\n")
    (document,) = [json.loads(line) for line in result.out.splitlines()]
    assert document["target"] == "c.test" and result.code == 0


async def test_a_bad_line_is_refused_before_anything_is_sent(run_cli, tmp_path):
    targets = tmp_path / "targets.txt"
    targets.write_text("good.test\nbad target.test\n")
    async with Scripted(dialog()) as server:
        result = await run_cli("batch", str(targets), "--mx", server.mx)
    assert result.code == 64
    assert result.out == ""
    assert server.connections == 0
    assert "bad target.test" in result.err


async def test_missing_file_is_a_usage_error(run_cli, tmp_path):
    result = await run_cli("batch", str(tmp_path / "nope.txt"))
    assert result.code == 64 and "cannot read" in result.err
