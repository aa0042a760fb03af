"""encodectl/job/planning.py: one episode's encode planned: its container, skipped if its video exists,
rejected if its frames are not what the dataset says, else the EncodeJob.

Bad frames and gaps as encode reports them: tests/test_bad_input.py, tests/test_edge_cases.py; a LeRobot
dataset's episodes against its metadata: tests/test_lerobot.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from encodectl.frames.layout import EpisodeSource
from encodectl.job.planning import depth_mode, prepare_job, skip_if_done
from encodectl.models import (
    DepthMode,
    EncodeJob,
    EncodeOptions,
    EncoderSettings,
    FailureKind,
    GapPolicy,
    JobResult,
    JobStatus,
)
from tests.conftest import BEFORE_FFMPEG

pytestmark = BEFORE_FFMPEG

X264 = EncoderSettings(encoder="libx264", codec="h264", gop=2)


def source(folder: Path, **expected: object) -> EpisodeSource:
    return EpisodeSource(directory=folder, output=folder.with_suffix(".mp4"), episode=folder.name, **expected)  # type: ignore[arg-type]


def test_an_episode_becomes_a_job_with_its_gaps_held(tmp_path: Path, make_frames: Callable[..., list[Path]]) -> None:
    frames = make_frames(tmp_path / "ep", 4)
    frames[2].unlink()
    job = prepare_job(source(tmp_path / "ep"), EncodeOptions(on_gap="hold", fps=15), X264)
    assert isinstance(job, EncodeJob)
    assert (job.output, job.frame_count, job.held_frames, str(job.fps)) == (tmp_path / "ep.mp4", 4, [2], "15")
    assert (job.on_gap, job.encoder) == (GapPolicy.hold, X264)


def test_an_existing_video_is_skipped_before_any_frame_is_read(tmp_path: Path) -> None:
    (tmp_path / "ep").mkdir()  # no frames at all: reading them would reject the episode
    (tmp_path / "ep.mp4").write_bytes(b"12345")
    skipped = prepare_job(source(tmp_path / "ep"), EncodeOptions(), X264)
    assert isinstance(skipped, JobResult)
    assert (skipped.status, skipped.reason, skipped.size_bytes) == (
        JobStatus.skipped, "output exists (use --overwrite to redo it)", 5)  # fmt: skip
    assert skip_if_done(source(tmp_path / "ep"), overwrite=True) is None
    rejected = prepare_job(source(tmp_path / "ep"), EncodeOptions(overwrite=True), X264)
    assert isinstance(rejected, JobResult) and (rejected.status, rejected.failure) == (JobStatus.failed,
                                                                                       FailureKind.input)  # fmt: skip


@pytest.mark.parametrize(
    ("expected", "message"),
    [({"expected_frames": 4}, "{ep} has 3 frames but the dataset's metadata says the episode has 4; not encoded"),
     ({"expected_size": (64, 64)}, "{ep} has frames of 64x48 but the dataset's metadata says 64x64; not encoded"),
     ({"expected_depth": True, "camera": "top"},
      "{ep} (png rgb 8-bit): the dataset's info.json marks top as a depth map, but its frames are not 16-bit "
      "single-channel depth frames; not encoded")],
)  # fmt: skip
def test_frames_that_are_not_what_the_dataset_says_are_rejected(
    tmp_path: Path, make_frames: Callable[..., list[Path]], expected: dict[str, object], message: str
) -> None:
    make_frames(tmp_path / "ep", 3)
    result = prepare_job(source(tmp_path / "ep", **expected), EncodeOptions(), X264)
    assert isinstance(result, JobResult)
    assert (result.status, result.failure) == (JobStatus.failed, FailureKind.input)
    assert result.reason == message.format(ep=tmp_path / "ep")


def test_odd_frames_of_a_dataset_are_rejected_not_padded(
    tmp_path: Path, make_frames: Callable[..., list[Path]]
) -> None:
    make_frames(tmp_path / "ep", 3, size=(63, 48))
    result = prepare_job(source(tmp_path / "ep", expected_size=(63, 48)), EncodeOptions(), X264)
    assert isinstance(result, JobResult) and result.reason == (
        f"{tmp_path / 'ep'}: frames of 63x48 would need padding to an even size for yuv420p, and the dataset would "
        "read them back at another size"
    )


def test_a_datasets_depth_camera_is_quantized_as_lerobot_does(tmp_path: Path) -> None:
    options = EncodeOptions(depth="lossy")
    assert depth_mode(source(tmp_path / "ep", expected_depth=True), options) is DepthMode.lerobot
    assert depth_mode(source(tmp_path / "ep"), options) is DepthMode.lossy
