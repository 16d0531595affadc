"""The compiled cache of the knowledge data: used when current, never trusted blindly."""

from __future__ import annotations

import os
import tomllib

from knowledge import loader


def _no_parsing(_handle: object) -> None:
    raise AssertionError("parsed although the cache entry is current")


def test_parsed_data_is_cached_and_invalidated_by_a_change(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("PROBE_NO_CACHE", raising=False)
    data = tmp_path / "data.toml"
    data.write_text('[a]\ntitle = "one"\n')
    assert loader._read(data) == {"a": {"title": "one"}}
    entry = loader._cache_file(data)
    assert entry is not None and entry.exists()
    with monkeypatch.context() as no_parser:  # a current entry is read, not the TOML
        no_parser.setattr(tomllib, "load", _no_parsing)
        assert loader._read(data) == {"a": {"title": "one"}}

    data.write_text('[a]\ntitle = "two, longer"\n')  # another size and mtime: parsed again
    assert loader._read(data) == {"a": {"title": "two, longer"}}

    entry.write_bytes(b"not marshal at all")  # a corrupt entry is ignored and replaced
    assert loader._read(data) == {"a": {"title": "two, longer"}}


def test_an_unwritable_cache_only_means_parsing(tmp_path, monkeypatch):
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    data = tmp_path / "data.toml"
    data.write_text("x = 1\n")
    assert loader._read(data) == {"x": 1}
    monkeypatch.setenv("PROBE_NO_CACHE", "1")
    assert loader._cache_file(data) is None
    assert sorted(os.listdir(tmp_path)) == ["data.toml", "file-not-dir"]  # nothing created
