"""TUI benchmarks: first paint, 2,000-step transcripts, selection, spinner.

Run:  uv run python bench/tui_bench.py [--steps 2000] [--repeat 5]

Numbers are medians of `--repeat` runs, in milliseconds. The first-paint
figure runs the real CLI (`python -m probe --tui --mx 127.0.0.1:PORT`) in a
pty against a loopback SMTP server and waits for the host tree's border and
the target bar in the terminal stream, so it includes interpreter start-up
and imports — what a user waits for. The other figures run the app headless
(`App.run_test`) over a scripted event stream, so they measure the TUI only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.tui import fakes  # noqa: E402
from tests.tui.screen_text import screen_text  # noqa: E402
from tests.tui.test_pty import (  # noqa: E402
    HostileServer,
    _read_until,
    _wait_exit,
    spawn_in_pty,
)


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:8.1f} ms  (min {min(samples) * 1000:.1f})"


def first_paint(repeat: int) -> list[float]:
    """Seconds from exec to a frame showing the target bar and the host tree."""
    samples = []
    with HostileServer() as server:
        argv = [sys.executable, "-m", "probe", "--tui", "--mx", f"127.0.0.1:{server.port}",
                "--timeout", "5", "--helo", "probe.test"]
        for _ in range(repeat):
            out = bytearray()
            start = time.perf_counter()
            with spawn_in_pty(argv, cols=100, rows=30) as (pid, fd):
                ok = _read_until(fd, b"Hosts", out, 30) and _read_until(fd, b"Target", out, 30)
                samples.append(time.perf_counter() - start)
                assert ok, "no first frame"
                os.write(fd, b"q")
                _wait_exit(pid, fd, out, 30)  # keeps draining the tty so the child can exit
    return samples


APP_START_SCRIPT = """
import sys, time
from probe.core.plan import build_plan
from probe.core.runner import run_probe
from probe.tui import run_tui
import probe.tui.app
plan = build_plan("", mx=[sys.argv[2]], helo="probe.test", timeout=5)
with open(sys.argv[1], "w") as f:
    f.write(repr(time.time()))
sys.exit(run_tui(plan, runner=run_probe))
"""


def app_start_paint(repeat: int, tmp: Path) -> list[float]:
    """Seconds from `run_tui` (everything imported) to the first frame in a pty."""
    samples = []
    stamp = tmp / "t0"
    with HostileServer() as server:
        argv = [sys.executable, "-c", APP_START_SCRIPT, str(stamp), f"127.0.0.1:{server.port}"]
        for _ in range(repeat):
            out = bytearray()
            with spawn_in_pty(argv, cols=100, rows=30) as (pid, fd):
                ok = _read_until(fd, b"Hosts", out, 30) and _read_until(fd, b"Target", out, 30)
                seen = time.time()
                assert ok, "no first frame"
                samples.append(seen - float(stamp.read_text()))
                os.write(fd, b"q")
                _wait_exit(pid, fd, out, 30)
    return samples


def import_time(repeat: int) -> list[float]:
    """Seconds to import the TUI module (Textual included) in a fresh interpreter."""
    import subprocess

    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import probe.tui.app"], check=True, cwd=ROOT)
        samples.append(time.perf_counter() - start)
    return samples


async def _headless(events: list, body: Callable[[object, object], Awaitable[float]]) -> float:
    from probe.tui.app import ProbeApp

    app = ProbeApp(fakes.plan(), runner=fakes.scripted(events), clock=lambda: 0.0,
                   animate=False)
    async with app.run_test(size=(120, 40)) as pilot:
        return await body(app, pilot)


async def append_steps(count: int) -> float:
    """Seconds to fold and show `count` steps (StepStarted + StepDone each) and paint."""
    events = fakes.many_steps(count)

    async def body(app, pilot) -> float:
        from probe.tui.messages import ProbeEvent

        await pilot.pause()
        app.workers.cancel_all()
        # The scripted run already played its 3 events: replay the steps by hand.
        run = app.run_id = app.run_id + 1
        from probe.core.transcript import Report

        app.report = Report()
        app.selected = None
        app.query_one("#transcript").show_host(None)
        start = time.perf_counter()
        for event in events:
            app.on_probe_event(ProbeEvent(run, event))
        await pilot.pause()
        return time.perf_counter() - start

    return await _headless(events[:3], body)


async def stream_steps(count: int) -> float:
    """Seconds from the first to the last of `count` steps arriving one by one via the worker."""
    events = fakes.many_steps(count)

    async def body(app, pilot) -> float:
        start = time.perf_counter()
        while len(app.query_one("#transcript").steps) < count:
            await asyncio.sleep(0.005)  # poll without Pilot's idle waits
        return time.perf_counter() - start

    return await _headless(events, body)


async def selection(count: int, moves: int = 50) -> dict[str, float]:
    """Seconds per selection move in a `count`-step transcript, including the repaint.

    Each move calls the key's action, then renders the whole screen the way
    the driver would (compositor update) — no Pilot pacing in the figure.
    """
    events = fakes.many_steps(count)

    async def body(app, pilot) -> dict[str, float]:
        while app.report.done is None:
            await pilot.pause()
        view = app.query_one("#transcript")
        view.focus()
        view.action_first()
        await pilot.pause()
        actions = {"down": view.action_cursor_down, "pagedown": view.action_page_down,
                   "up": view.action_cursor_up, "end": view.action_last,
                   "home": view.action_first, "next step (n)": app.action_next_step}
        results = {}
        for name, action in actions.items():
            start = time.perf_counter()
            for _ in range(moves):
                action()
                await pilot.pause()
                screen_text(app)  # a full-screen render, as a real frame
            results[name] = (time.perf_counter() - start) / moves
        return results

    return await _headless(events, body)


async def spinner_tick(count: int, ticks: int = 100) -> float:
    """Seconds per spinner frame with `count` finished steps above the live row."""
    events = fakes.many_steps(count)[:-2]  # host still talking
    events.append(fakes.StepStarted(fakes.MX1, "rcpt", "RCPT TO:<slow@example.com>"))

    async def body(app, pilot) -> float:
        for _ in range(count * 4):
            await pilot.pause()
            if app.query_one("#transcript").pending is not None and len(
                    app.query_one("#transcript").steps) == count:
                break
        start = time.perf_counter()
        for _ in range(ticks):
            app._tick()
            await pilot.pause()
        return (time.perf_counter() - start) / ticks

    return await _headless(events, body)


async def switch_host(count: int) -> float:
    """Seconds to show a host with `count` steps (the only full rebuild)."""
    events = fakes.many_steps(count)

    async def body(app, pilot) -> float:
        while app.report.done is None:
            await pilot.pause()
        start = time.perf_counter()
        app.select_host(fakes.MX1)
        await pilot.pause()
        return time.perf_counter() - start

    return await _headless(events, body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n, r = args.steps, args.repeat

    print(f"python {sys.version.split()[0]}, {n} steps, median of {r}")
    print(f"import probe.tui.app (fresh python)    {median_ms(import_time(r))}")
    print(f"first paint in a pty (exec → frame)    {median_ms(first_paint(r))}")
    with tempfile.TemporaryDirectory() as tmp:
        print(f"first paint in a pty (run_tui → frame) {median_ms(app_start_paint(r, Path(tmp)))}")
    appends = [asyncio.run(append_steps(n)) for _ in range(r)]
    print(f"append {n} steps + paint             {median_ms(appends)}")
    print(f"  per step                             {median_ms([a / n for a in appends])}")
    streamed = [asyncio.run(stream_steps(n)) for _ in range(r)]
    print(f"stream {n} steps through the worker  {median_ms(streamed)}")
    ticks = [asyncio.run(spinner_tick(n)) for _ in range(r)]
    print(f"spinner frame under {n} steps         {median_ms(ticks)}")
    switches = [asyncio.run(switch_host(n)) for _ in range(r)]
    print(f"select a host with {n} steps          {median_ms(switches)}")
    moves = [asyncio.run(selection(n)) for _ in range(r)]
    small = [asyncio.run(selection(10)) for _ in range(r)]  # same loop, tiny transcript
    print(f"selection move + full-screen render: {n} steps vs 10 steps")
    for key in moves[0]:
        print(f"  {key:<16} {median_ms([m[key] for m in moves])}   "
              f"vs {median_ms([m[key] for m in small])}")


if __name__ == "__main__":
    main()
