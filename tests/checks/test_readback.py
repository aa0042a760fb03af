"""encodectl/checks/readback.py: many videos read back, from their sample table or several to an ffmpeg run.

Whole datasets and folders checked, damaged files named: tests/test_check.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from encodectl.checks.readback import decoder_complaint, mp4_cut_off, read_files
from encodectl.models import FFmpegBinary

FIXTURES = Path(__file__).parent.parent / "fixtures" / "lerobot"
V21_TOP = FIXTURES / "v21_partial" / "videos" / "chunk-000" / "observation.images.top"
NO_FFMPEG = pytest.mark.same_on_every_ffmpeg("box headers and log lines read in Python: no ffmpeg runs")


@NO_FFMPEG
def test_a_cut_off_mp4_says_what_is_missing(tmp_path: Path) -> None:
    whole = (V21_TOP / "episode_000000.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: whole.index(b"moov") + 40])
    assert (
        mp4_cut_off(cut)
        == f"truncated: its moov box is not whole ({cut.stat().st_size} bytes; an encode or copy cut off?)"
    )
    (tmp_path / "empty.mp4").write_bytes(b"")
    assert mp4_cut_off(tmp_path / "empty.mp4") == "the file is empty"
    (tmp_path / "text.mp4").write_bytes(b"hello")
    assert mp4_cut_off(tmp_path / "text.mp4") == "not an MP4 (no box fits in the file)"
    assert mp4_cut_off(V21_TOP / "episode_000000.mp4") is None
    assert mp4_cut_off(tmp_path / "text.mkv") is None  # other containers: ffmpeg says


@NO_FFMPEG
def test_a_decoders_own_line_is_its_complaint_its_version_is_not() -> None:
    assert decoder_complaint("[libdav1d @ 0x55d1] libdav1d 1.0.0\n[mov,mp4 @ 0x1] something\n") is None
    stderr = "[libdav1d @ 0x55d1] libdav1d 1.0.0\n[libdav1d @ 0x55d1] zero_bit out of range\n"
    assert decoder_complaint(stderr) == "libdav1d: zero_bit out of range"
    assert decoder_complaint("[h264 @ 0xabc] error while decoding MB 1 2\n") == "h264: error while decoding MB 1 2"


def test_a_batch_with_a_bad_file_is_read_again_file_by_file(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    first, second = tmp_path / "a.mp4", tmp_path / "b.mp4"
    shutil.copyfile(V21_TOP / "episode_000000.mp4", first)
    shutil.copyfile(V21_TOP / "episode_000001.mp4", second)
    junk = tmp_path / "junk.mkv"
    junk.write_bytes(b"\x1aE\xdf\xa3" + bytes(64))
    reads = read_files(ffmpeg_binary, [first, junk, second], decode=True, workers=1)  # one batch of three
    assert [read.path for read in reads] == [first, junk, second]
    assert [read.times.video.frames if read.times else None for read in reads] == [5, None, 6]
    assert reads[0].times is not None and reads[0].times.pts == [0, 512, 1024, 1536, 2048]
    assert reads[1].unreadable is not None and reads[1].unreadable.startswith("ffmpeg cannot read it: ")
    assert all(read.decode_error is None and read.truncated is None for read in reads)
