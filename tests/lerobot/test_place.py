"""encodectl/lerobot/place.py: where each encoded episode of a LeRobot dataset goes, and the file it makes,
verified as LeRobot reads it.

Datasets finished for real and loaded by LeRobot: tests/test_lerobot.py, tests_lerobot/; the commit that
publishes the files: tests/lerobot/test_finish_dataset.py."""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import pytest

from encodectl.errors import InputError
from encodectl.job.verify import read_frame_times
from encodectl.lerobot.place import StagedEpisode, build_target, place_episodes
from encodectl.lerobot.plan import DatasetPlan, plan_dataset
from encodectl.models import EncodeOptions, FFmpegBinary, JobStatus
from encodectl.run.engine import encode_sources

FIXTURES = Path(__file__).parent.parent / "fixtures" / "lerobot"
TOP = "observation.images.top"


Staged = tuple[DatasetPlan, list[StagedEpisode]]


def stage(root: Path, binary: FFmpegBinary) -> Staged:
    """The top camera's pending episodes encoded into the staging folder; the dataset is only read from here on."""
    plan = plan_dataset(root, EncodeOptions())
    plan.pending = [pending for pending in plan.pending if pending.key == TOP]
    staged = []
    for pending, result in zip(plan.pending, encode_sources(plan.sources, plan.options, binary), strict=True):
        assert result.status is JobStatus.done, result.reason
        output = pending.source.output
        times = read_frame_times(binary, output)
        staged.append(StagedEpisode(pending=pending, result=result, times=times, size=output.stat().st_size))
    return plan, staged


@pytest.fixture(scope="module")
def pending(tmp_path_factory: pytest.TempPathFactory, ffmpeg_binary: FFmpegBinary) -> Staged:
    """v30_pending: episodes of 5, 6 and 4 frames, none encoded."""
    return stage(Path(shutil.copytree(FIXTURES / "v30_pending", tmp_path_factory.mktemp("place") / "ds")),
                 ffmpeg_binary)  # fmt: skip


def copies(staged: list[StagedEpisode]) -> list[StagedEpisode]:
    return [episode.model_copy() for episode in staged]


def test_new_episodes_are_joined_in_one_file_each_span_where_the_last_ended(
    pending: Staged, ffmpeg_binary: FFmpegBinary
) -> None:
    plan, staged = pending
    (target,) = place_episodes(plan, TOP, copies(staged), ffmpeg_binary)
    assert target.path == plan.info.root / "videos" / TOP / "chunk-000" / "file-000.mp4"
    assert (target.placement.chunk, target.placement.file, target.base, target.note) == (0, 0, None, None)
    assert [e.start for e in target.episodes] == [Fraction(0), Fraction(5, 30), Fraction(11, 30)]
    assert [e.from_s for e in target.episodes] == [0.0, 0.0 + 5 / 30, 0.0 + 5 / 30 + 6 / 30]  # LeRobot's floats
    assert target.end == Fraction(15, 30) and target.end_s == 5 / 30 + 6 / 30 + 4 / 30
    candidate, times = build_target(plan, target, ffmpeg_binary, nice=0)
    assert candidate == plan.staging / "joined" / "videos" / TOP / "chunk-000" / "file-000.mp4"
    assert times.video.frames == 15
    assert [Fraction(pts) * Fraction(*times.time_base) for pts in times.pts] == [Fraction(i, 30) for i in range(15)]
    assert not target.path.exists()  # nothing in the dataset changes here


def test_a_file_that_would_pass_the_size_limit_starts_the_next(pending: Staged, ffmpeg_binary: FFmpegBinary) -> None:
    plan, staged = pending
    small = plan.model_copy(update={"info": plan.info.model_copy(update={"video_files_size_in_mb": 0.001})})
    targets = place_episodes(small, TOP, copies(staged), ffmpeg_binary)
    assert [(t.placement.chunk, t.placement.file, len(t.episodes)) for t in targets] == [(0, 0, 1), (0, 1, 1),
                                                                                        (0, 2, 1)]  # fmt: skip
    assert [t.episodes[0].from_s for t in targets] == [0.0, 0.0, 0.0]
    candidate, times = build_target(small, targets[1], ffmpeg_binary, nice=0)
    assert candidate == staged[1].pending.source.output and times.video.frames == 6  # one episode: no join


def test_an_episode_in_another_codec_configuration_starts_the_next_file(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary
) -> None:
    """v30_partial: LeRobot's own file-000 holds episodes 0-1. Whether an ffmpeg build's SVT-AV1 writes the same
    codec configuration as LeRobot's is the build's affair: here the staged episode's is set to each case."""
    plan, (staged,) = stage(Path(shutil.copytree(FIXTURES / "v30_partial", tmp_path / "ds")), ffmpeg_binary)
    lerobots = read_frame_times(ffmpeg_binary, plan.info.root / "videos" / TOP / "chunk-000" / "file-000.mp4")

    def configured(extradata: str | None) -> StagedEpisode:
        return staged.model_copy(update={"times": staged.times.model_copy(update={"extradata": extradata})})

    (joined,) = place_episodes(plan, TOP, [configured(lerobots.extradata)], ffmpeg_binary)
    assert (joined.placement.file, joined.base is not None) == (0, True)
    assert (joined.episodes[0].start, joined.episodes[0].from_s) == (Fraction(11, 30), pytest.approx(11 / 30))
    (apart,) = place_episodes(plan, TOP, [configured("another configuration")], ffmpeg_binary)
    assert (apart.placement.file, apart.base, apart.episodes[0].from_s) == (1, None, 0.0)
    assert apart.path == plan.info.root / "videos" / TOP / "chunk-000" / "file-001.mp4"


@pytest.mark.same_on_every_ffmpeg("a file already there is refused before any video is read")
def test_a_file_no_row_refers_to_is_not_replaced(tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    root = Path(shutil.copytree(FIXTURES / "v30_pending", tmp_path / "ds"))
    theirs = root / "videos" / TOP / "chunk-000" / "file-000.mp4"
    theirs.parent.mkdir(parents=True)
    theirs.write_bytes(b"the user's")
    with pytest.raises(InputError) as caught:
        place_episodes(plan_dataset(root, EncodeOptions()), TOP, [], ffmpeg_binary)
    assert str(caught.value) == (
        f"{theirs} is already there, but no episode row of the dataset refers to it: encodectl replaces nothing it "
        f"did not make; move it away and run again ({TOP} not placed)"
    )
