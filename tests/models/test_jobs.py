"""encodectl/models/jobs.py: the ffmpeg that runs a job, the frames, the encoder settings and the job itself.

Jobs planned from real folders and encoded: tests/job/, tests/test_encode.py, tests/test_depth.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from encodectl.models.enums import DepthMode, GapPolicy
from encodectl.models.jobs import EncodeJob, EncoderSettings, FFmpegBinary, FileIdentity, FrameSequence

pytestmark = pytest.mark.same_on_every_ffmpeg("models built and read: no ffmpeg runs")


def frames(**more: object) -> FrameSequence:
    values: dict[str, object] = {"directory": Path("/d/ep"), "prefix": "f_", "extension": ".JPG", "padding": 4,
              "numbers": [2, 3, 7, 9], "gaps": [(4, 6), (8, 8)], "width": 63, "height": 47,
              "source_format": "jpeg yuvj420p"} | more  # fmt: skip
    return FrameSequence(**values)  # type: ignore[arg-type]


def test_a_sequence_names_its_frames_and_gaps() -> None:
    sequence = frames()
    assert (sequence.first, sequence.last, sequence.missing_count) == (2, 9, 4)
    assert sequence.missing() == [4, 5, 6, 8]
    assert sequence.path(7) == Path("/d/ep/f_0007.JPG")
    assert sequence.decoder == "mjpeg" and frames(extension=".png").decoder == "png"
    assert frames(padding=0).filename(12) == "f_12.JPG"


def test_a_job_counts_held_frames_and_pads_colour_but_not_depth() -> None:
    colour = EncoderSettings(encoder="libx264", codec="h264", gop=2)
    job = EncodeJob(frames=frames(), output=Path("/d/ep.mp4"), episode="ep", camera="top", fps=10, encoder=colour)
    assert (job.frame_count, job.held_frames, job.output_size, job.label) == (4, [], (64, 48), "top/ep")
    held = job.model_copy(update={"on_gap": GapPolicy.hold})
    assert (held.frame_count, held.held_frames) == (8, [4, 5, 6, 8])
    depth = EncoderSettings(encoder="ffv1", codec="ffv1", gop=1, depth=DepthMode.lossless)
    assert depth.keeps_depth and not colour.keeps_depth
    assert not EncoderSettings(encoder="libx264", codec="h264", gop=1, depth=DepthMode.lossy).keeps_depth
    assert job.model_copy(update={"encoder": depth}).output_size == (63, 47)


@pytest.mark.parametrize(
    ("version", "parsed", "supported"),
    [("4.2.2", (4, 2), True), ("n7.0", (7, 0), True), ("4.1.9", (4, 1), False), ("3.4", (3, 4), False),
     ("N-112233-gabcdef", None, True)],
)  # fmt: skip
def test_which_ffmpeg_releases_are_supported(version: str, parsed: tuple[int, int] | None, supported: bool) -> None:
    binary = FFmpegBinary(path=Path("/ff"), version=version, source="PATH")
    assert (binary.version_tuple, binary.supported) == (parsed, supported)


def test_a_file_identity_follows_links_and_says_none_when_gone(tmp_path: Path) -> None:
    frame = tmp_path / "f.png"
    frame.write_bytes(b"12345")
    (tmp_path / "link.png").symlink_to(frame)
    identity = FileIdentity.of_path(tmp_path / "link.png")
    assert identity is not None and identity.size == 5 and identity.inode == frame.stat().st_ino
    assert FileIdentity.of_path(tmp_path / "gone.png") is None
