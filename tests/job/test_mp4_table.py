"""encodectl.job.mp4_table.py: an MP4's packet timestamps from its own sample table, without ffmpeg.

Against ffmpeg's listing on every fixture, a packet cut out, a damaged index: tests/test_check.py."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from encodectl.job.mp4_table import packet_times

pytestmark = pytest.mark.same_on_every_ffmpeg("the sample table read in Python: no ffmpeg runs")

FIXTURES = Path(__file__).parent.parent / "fixtures" / "lerobot"
V21_TOP = FIXTURES / "v21_partial" / "videos" / "chunk-000" / "observation.images.top"


def test_lerobots_av1_file_reads_from_its_table() -> None:
    times = packet_times(V21_TOP / "episode_000001.mp4")  # LeRobot 0.3.3's, episode 1: 6 frames at 30 fps
    assert times is not None
    assert (times.time_base, times.pts, times.end) == ((1, 15360), [0, 512, 1024, 1536, 2048, 2560], 3072)
    video = times.video
    assert (video.codec, video.width, video.height, video.pix_fmt) == ("av1", 64, 64, "yuv420p")
    assert (video.frames, video.fps, video.timestamps_exact) == (6, Fraction(30), True)


def test_a_joined_v30_file_holds_both_episodes() -> None:
    times = packet_times(FIXTURES / "v30_partial" / "videos" / "observation.images.top" / "chunk-000" / "file-000.mp4")
    assert times is not None and times.video.frames == 11  # episodes of 5 and 6 frames
    assert times.pts == [index * 512 for index in range(11)]


def test_what_the_table_does_not_vouch_for_is_left_to_ffmpeg(tmp_path: Path) -> None:
    depth = FIXTURES / "v30_061_partial" / "videos" / "observation.images.depth" / "chunk-000" / "file-000.mp4"
    assert packet_times(depth) is None  # HEVC with composition offsets
    whole = (V21_TOP / "episode_000000.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: whole.index(b"moov") + 40])  # the index runs past the file's end
    assert packet_times(cut) is None
    (tmp_path / "empty.mp4").write_bytes(b"")
    assert packet_times(tmp_path / "empty.mp4") is None
    assert packet_times(tmp_path / "absent.mp4") is None


def test_a_sample_count_no_file_could_hold_is_refused_at_once(tmp_path: Path) -> None:
    """A damaged or hostile index saying two billion samples of one byte: refused before a list of two billion
    timestamps is built (which would take the machine's memory), not after."""
    data = bytearray((V21_TOP / "episode_000001.mp4").read_bytes())
    stts, stsz = data.index(b"stts") + 4, data.index(b"stsz") + 4  # payloads: version and flags, then the table
    assert int.from_bytes(data[stts + 4 : stts + 8], "big") == 1  # one run of equal durations
    huge = 2**31
    data[stts + 8 : stts + 12] = huge.to_bytes(4, "big")  # that run's count
    sizes = bytes(data[stsz + 4 : stsz + 12])
    data[stsz + 4 : stsz + 12] = (1).to_bytes(4, "big") + huge.to_bytes(4, "big")  # every sample 1 byte
    (tmp_path / "huge.mp4").write_bytes(bytes(data))
    assert packet_times(tmp_path / "huge.mp4") is None
    data[stsz + 4 : stsz + 12] = sizes[:4] + huge.to_bytes(4, "big")  # a size each, the table not that long
    (tmp_path / "huge.mp4").write_bytes(bytes(data))
    assert packet_times(tmp_path / "huge.mp4") is None
    fewer = 1 << 19  # under the cap on samples: refused only because the table of sizes is not that long
    data[stts + 8 : stts + 12] = fewer.to_bytes(4, "big")
    data[stsz + 8 : stsz + 12] = fewer.to_bytes(4, "big")
    (tmp_path / "huge.mp4").write_bytes(bytes(data))
    assert packet_times(tmp_path / "huge.mp4") is None


def test_an_empty_edit_is_left_to_ffmpeg(tmp_path: Path) -> None:
    """An edit of duration 0, which the standard reads as "all of it", ffmpeg reads otherwise (it lists other
    frames): the table does not answer for it."""
    times = packet_times(V21_TOP / "episode_000001.mp4")
    assert times is not None
    data = bytearray((V21_TOP / "episode_000001.mp4").read_bytes())
    elst = data.index(b"elst") + 4  # version and flags, the count, then (segment duration, media time, rate)
    assert data[elst] == 0 and int.from_bytes(data[elst + 4 : elst + 8], "big") == 1
    data[elst + 8 : elst + 12] = bytes(4)
    (tmp_path / "empty-edit.mp4").write_bytes(bytes(data))
    assert packet_times(tmp_path / "empty-edit.mp4") is None
