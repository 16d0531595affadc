"""bench/profile_summary.py reads py-spy's collapsed stacks the way the README quotes them."""

from __future__ import annotations

from bench.profile_summary import package_of, summarize

RUNPY = "_run_module_as_main (<frozen runpy>);<module> (probe/__main__.py);main (probe/cli.py)"
LOOP = "run (asyncio/runners.py);BaseEventLoop._run_once (asyncio/base_events.py)"
HANDLE = "Handle._run (asyncio/events.py)"
STACKS = [
    ('process 42:"python -m probe batch";thread (0x7f00);'
     f"{RUNPY};{LOOP};EpollSelector.select (selectors.py)", 60),
    (f"{RUNPY};{LOOP};{HANDLE};udp (dns/asyncquery.py);Name.__hash__ (dns/name.py)", 25),
    (f"{RUNPY};{LOOP};{HANDLE};Session.run (probe/core/session.py);"
     "classify (knowledge/classifier.py)", 10),
    (f"{RUNPY};_find_and_load (<frozen importlib._bootstrap>);"
     "_call_with_frames_removed (<frozen importlib._bootstrap>)", 5),
]
PROFILE = "".join(f"{stack} {count}\n" for stack, count in STACKS) + "not a stack line\n"


def test_idle_packages_own_and_inclusive_shares():
    text = summarize(PROFILE.splitlines(), top=5)
    assert text.splitlines()[0] == "100 samples; idle (waiting in select/epoll) 60%, busy 40%"
    packages = text.split("busy samples by package")[1].split("\n\n")[0]
    assert "62.5%  dns" in packages and "25.0%  knowledge" in packages
    assert "12.5%  import machinery" in packages
    own = text.split("by own time")[1].split("\n\n")[0]
    assert "62.5%  Name.__hash__ (dns/name.py)" in own
    inclusive = text.split("by inclusive time")[1]
    assert "62.5%  udp (dns/asyncquery.py)" in inclusive
    assert "25.0%  Session.run (probe/core/session.py)" in inclusive
    # The trunk (on every busy stack) and the loop's own frames say nothing.
    assert "main (probe/cli.py)" not in inclusive and "Handle._run" not in inclusive


def test_package_of_paths_as_py_spy_prints_them():
    assert package_of("dns/message.py") == "dns"
    assert package_of("probe/core/session.py") == "probe"
    assert package_of("selectors.py") == "selectors"
    assert package_of("<frozen importlib._bootstrap_external>") == "import machinery"


def test_an_empty_profile_says_so():
    assert summarize([], top=5) == "no samples"
