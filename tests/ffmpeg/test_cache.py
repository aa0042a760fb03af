"""encodectl/ffmpeg/cache.py: the versions remembered across runs, keyed by a binary's path, size and mtime.

That a second run does not start ffmpeg -version again: tests/test_startup.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from encodectl.ffmpeg import cache

pytestmark = pytest.mark.same_on_every_ffmpeg("a JSON file of versions: no ffmpeg runs")


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(cache.CACHE_ENV, str(folder))
    return folder


def binary(folder: Path, name: str = "ffmpeg", content: str = "x") -> tuple[str, int, int]:
    path = folder / name
    path.write_text(content)
    stat = path.stat()
    return str(path), stat.st_size, stat.st_mtime_ns


def test_cache_dir_follows_the_variable_then_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "mine"))
    assert cache.cache_dir() == tmp_path / "mine"
    monkeypatch.delenv(cache.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert cache.cache_dir() == tmp_path / "xdg" / "encodectl"


def test_a_version_is_remembered_for_that_binary_only(own_cache: Path, tmp_path: Path) -> None:
    path, size, mtime = binary(tmp_path)
    assert cache.cached_version(path, size, mtime) is None
    cache.remember_version(path, size, mtime, "7.1")
    assert cache.cached_version(path, size, mtime) == "7.1"
    assert cache.cached_version(path, size + 1, mtime) is None
    assert cache.cached_version(path, size, mtime + 1) is None
    assert not list(own_cache.glob("*.tmp"))


def test_entries_of_binaries_gone_or_changed_are_dropped(own_cache: Path, tmp_path: Path) -> None:
    kept, gone = binary(tmp_path, "kept"), binary(tmp_path, "gone")
    cache.remember_version(*kept, "6.0")
    cache.remember_version(*gone, "5.1")
    Path(gone[0]).unlink()
    new = binary(tmp_path, "new")
    cache.remember_version(*new, "7.0")
    (versions,) = own_cache.glob("ffmpeg-versions-*.json")
    assert sorted(json.loads(versions.read_text()).values()) == ["6.0", "7.0"]


def test_a_damaged_cache_costs_only_asking_again(own_cache: Path, tmp_path: Path) -> None:
    path, size, mtime = binary(tmp_path)
    own_cache.mkdir()
    versions = own_cache / "ffmpeg-versions-1.json"
    versions.write_text("{not json")
    assert cache.cached_version(path, size, mtime) is None
    cache.remember_version(path, size, mtime, "7.1")
    assert cache.cached_version(path, size, mtime) == "7.1"
    versions.write_text("[1, 2]")
    assert cache.cached_version(path, size, mtime) is None
