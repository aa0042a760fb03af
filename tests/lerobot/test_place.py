"""encodectl/lerobot/place.py: where each encoded episode of a LeRobot dataset goes, and the file it makes,
verified as LeRobot reads it.

Datasets finished for real and loaded by LeRobot: tests/test_lerobot.py, tests_lerobot/; the commit that
publishes the files: tests/lerobot/test_finish_dataset.py.

Where each new episode goes (LeRobot's next file, what may be joined by stream copy, what may be replaced),
checked rule by rule, each file built and read back as LeRobot reads it (the real ffmpeg), and the LeRobot
fixtures finished: the tests written for mutation testing (docs/testing.md).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from encodectl.errors import InputError, VerificationError
from encodectl.job import verify
from encodectl.job.verify import FrameTimes, read_frame_times
from encodectl.lerobot import meta, place
from encodectl.lerobot.commit import FileState
from encodectl.lerobot.meta import VideoPlacement
from encodectl.lerobot.place import StagedEpisode, TargetFile, build_target, place_episodes
from encodectl.lerobot.plan import DatasetPlan, plan_dataset
from encodectl.models import EncodeOptions, FFmpegBinary, JobStatus, VideoInfo
from encodectl.run.engine import encode_sources
from tests.conftest import CliOutcome
from tests.conftest import copy_lerobot_fixture as copy_fixture
from tests.conftest import episode_rows as rows

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


WRIST = "observation.images.wrist"


def done(outcome: CliOutcome) -> dict[tuple[str, str], dict[str, Any]]:
    assert outcome.exit_code in (0, 1), outcome.stdout + outcome.stderr
    return {(r["camera"], r["episode"]): r for r in outcome.json()["results"] if r["status"] != "skipped"}


def picture(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24").astype(np.float64)


def pictures(video: Path) -> list[np.ndarray]:
    with av.open(str(video)) as container:
        return [frame.to_ndarray(format="rgb24").astype(np.float64) for frame in container.decode(video=0)]


def closest(decoded: np.ndarray, sources: dict[int, np.ndarray]) -> int:
    """Which source picture a decoded frame is (the nearest by mean squared error)."""
    return min(sources, key=lambda index: float(((decoded - sources[index]) ** 2).mean()))


# Whole datasets, finished


def test_v30_episodes_join_one_file_and_a_later_run_appends(
    tmp_path: Path, cli: Callable[..., CliOutcome], ffmpeg_binary: FFmpegBinary
) -> None:
    root = copy_fixture("v30_pending", tmp_path)
    aside = tmp_path / "aside"
    for camera in (TOP, WRIST):  # episode 2's frames not there yet: it waits
        shutil.move(root / "images" / camera / "episode-000002", aside / camera)
    first = done(cli("encode", root, "--json"))
    assert {key: r["status"] for key, r in first.items() if r["status"] == "done"} == {
        (c, f"episode-{i:06d}"): "done" for c in (TOP, WRIST) for i in (0, 1)
    }
    assert first[(TOP, "episode-000001")]["notes"] == ["at 0.166667-0.366667 s of file-000.mp4"]
    for camera in (TOP, WRIST):
        shutil.move(aside / camera, root / "images" / camera / "episode-000002")
    first_of = {i: picture(root / "images" / TOP / f"episode-{i:06d}" / "frame-000000.png") for i in range(3)}
    second = done(cli("encode", root, "--json", "--delete-frames"))
    placed = second[(TOP, "episode-000002")]
    assert placed["status"] == "done"
    assert placed["notes"] == ["at 0.366667-0.500000 s of file-000.mp4", "deleted its 4 frame file(s)"]
    video = root / "videos" / TOP / "chunk-000" / "file-000.mp4"
    assert placed["output"] == str(video)
    found = verify.read_frame_times(ffmpeg_binary, video, decode=True)
    assert found.video.frames == 15 and found.video.timestamps_exact
    # The file as it was, then the new episode: each episode's first frame is its own picture, in that order
    # (the timing check alone would pass the parts joined in any order).
    decoded = pictures(video)
    for index, at in ((0, 0), (1, 5), (2, 11)):
        assert closest(decoded[at], first_of) == index
    episodes = rows(root)
    spans = [(episodes[i][f"videos/{TOP}/from_timestamp"], episodes[i][f"videos/{TOP}/to_timestamp"]) for i in range(3)]
    # As LeRobot computes them in floats: from = the previous to, to = from + duration.
    assert spans == [(0.0, 5 / 30), (5 / 30, 5 / 30 + 6 / 30), (5 / 30 + 6 / 30, 5 / 30 + 6 / 30 + 4 / 30)]
    assert not (root / "images" / TOP / "episode-000002").exists()
    info = json.loads((root / "meta" / "info.json").read_text())
    assert info["features"][TOP]["info"]["video.codec"] == "av1"
    assert not (root / ".encodectl").exists()


def test_v30_an_episode_that_cannot_be_joined_starts_the_next_file(
    tmp_path: Path, cli: Callable[..., CliOutcome]
) -> None:
    """LeRobot's own file was made by another encoder build: where its codec configuration differs from this
    build's (the bundled ffmpeg's SVT-AV1), no stream copy: the next file. Debian 12's 5.1 writes LeRobot's
    configuration, so there the episode joins file-000 (test_an_episode_in_another_codec_configuration_starts_
    the_next_file sets the configurations apart on every build). Either way the rows say where it went."""
    root = copy_fixture("v30_partial", tmp_path)
    result = done(cli("encode", root, "--json"))[(TOP, "episode-000002")]
    joined = result["notes"] == ["at 0.366667-0.500000 s of file-000.mp4"]
    if not joined:
        assert (result["status"], result["notes"]) == ("done", ["at 0.000000-0.133333 s of file-001.mp4"])
    episode = rows(root)[2]
    assert (episode[f"videos/{TOP}/chunk_index"], episode[f"videos/{TOP}/file_index"]) == (0, 0 if joined else 1)


def test_v21_one_file_per_episode(tmp_path: Path, cli: Callable[..., CliOutcome]) -> None:
    root = copy_fixture("v21_pending", tmp_path)
    results = done(cli("encode", root, "--json"))
    for index in range(3):
        result = results[(TOP, f"episode_{index:06d}")]
        video = root / "videos" / "chunk-000" / TOP / f"episode_{index:06d}.mp4"
        assert (result["status"], result["output"], result["notes"]) == ("done", str(video), [])
        assert verify.mp4_complete(video)


def test_a_file_already_where_a_new_one_goes(tmp_path: Path, cli: Callable[..., CliOutcome]) -> None:
    root = copy_fixture("v21_pending", tmp_path)
    theirs = root / "videos" / "chunk-000" / TOP / "episode_000001.mp4"
    theirs.parent.mkdir(parents=True)
    theirs.write_bytes(b"the user's own file")
    cut = root / "videos" / "chunk-000" / WRIST / "episode_000002.mp4"  # another camera: placed on its own
    cut.parent.mkdir(parents=True)
    cut.write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00\x00\x10\x00mdat" + bytes(64))
    results = done(cli("encode", root, "--json"))
    refused = results[(TOP, "episode_000001")]
    assert (refused["status"], refused["failure"]) == ("failed", "input")
    assert refused["reason"] == (
        f"{theirs} is already there, but no episode row of the dataset refers to it: encodectl replaces nothing it "
        f"did not make; move it away and run again ({TOP} not placed)"
    )
    assert theirs.read_bytes() == b"the user's own file"
    assert results[(TOP, "episode_000002")]["reason"] == refused["reason"]  # the camera is not placed at all
    replaced = results[(WRIST, "episode_000002")]
    assert replaced["notes"] == ["replaced episode_000002.mp4, an MP4 its writer never finished (no index)"]
    assert verify.mp4_complete(cut)


# Placing, rule by rule


def frame_times(
    pts: list[int], time_base: tuple[int, int] = (1, 15360), extradata: str | None = "41, 0x1", **video: Any
) -> FrameTimes:
    info = VideoInfo(frames=len(pts), fps=Fraction(30), width=64, height=64, pix_fmt="yuv420p", codec="av1",
                     timestamps_exact=True).model_copy(update=video)  # fmt: skip
    step = pts[1] - pts[0] if len(pts) > 1 else 512
    return FrameTimes(video=info, pts=pts, end=pts[-1] + step, time_base=time_base, extradata=extradata)


def test_next_file() -> None:
    assert meta.next_file(0, 0, 2) == (0, 1)
    assert meta.next_file(0, 1, 2) == (1, 0)
    assert meta.next_file(3, 998, 1000) == (3, 999)


@pytest.mark.parametrize(
    ("episode", "joinable"),
    [
        (frame_times([0, 512, 1024]), True),
        (frame_times([0, 3000, 6000], time_base=(1, 90000)), True),  # 1/30 s: a whole number of the file's ticks
        (frame_times([0, 1], time_base=(1, 1000)), False),  # a millisecond is no whole number of 1/15360 s
        (frame_times([0, 512], extradata="41, 0x2"), False),  # another codec configuration
        (frame_times([0, 512], extradata=None), False),
        (frame_times([0, 512], codec="h264"), False),
        (frame_times([0, 512], width=32), False),
        (frame_times([0, 512], height=32), False),
        (frame_times([0, 512], pix_fmt="yuv444p"), False),
    ],
)
def test_joinable(episode: FrameTimes, joinable: bool) -> None:
    assert place._joinable(frame_times([0, 512, 1024]), episode) is joinable


def test_joinable_checks_where_the_episode_ends() -> None:
    ends_off_tick = frame_times([0, 3000], time_base=(1, 90000)).model_copy(update={"end": 6001})
    assert place._joinable(frame_times([0, 512]), ends_off_tick) is False


def staged(times: FrameTimes, size: int, to_s: float = 0.0) -> StagedEpisode:
    return StagedEpisode.model_construct(times=times, size=size, to_s=to_s, start=Fraction(0), from_s=0.0)


def test_target_file(tmp_path: Path) -> None:
    path = tmp_path / "file-000.mp4"
    path.write_bytes(bytes(1000))
    placement = VideoPlacement(chunk=0, file=0)
    empty = TargetFile(key=TOP, placement=placement, path=path)
    assert (empty.reference, empty.size, empty.end, empty.end_s) == (None, 0, 0, 0.0)
    base = frame_times([0, 512, 1024, 1536, 2048])  # 5 frames of 1/30 s
    target = TargetFile(key=TOP, placement=placement, path=path, base=base, base_end_s=5 / 30)
    assert (target.reference, target.size, target.end, target.end_s) == (base, 1000, Fraction(1, 6), 5 / 30)
    target.base_end_s = float(Fraction(1, 6)) + 0.99e-4  # LeRobot's float, within the tolerance: kept
    assert target.end_s == target.base_end_s
    target.base_end_s = float(Fraction(1, 6)) + 1.01e-4
    assert target.end_s == float(Fraction(1, 6))
    one = frame_times([0, 512])
    target.episodes = [staged(one, 300, to_s=0.25), staged(one, 200, to_s=0.3)]
    assert (target.reference, target.size, target.end, target.end_s) == (base, 1500, Fraction(1, 6) + Fraction(2, 15),
                                                                         0.3)  # fmt: skip
    new = TargetFile(key=TOP, placement=placement, path=path, episodes=[staged(one, 300, to_s=0.1)])
    assert (new.reference, new.size, new.end) == (one, 300, Fraction(1, 15))


def test_cut_off_mp4(tmp_path: Path) -> None:
    path = tmp_path / "v.mp4"
    assert not place._cut_off_mp4(path)
    path.write_bytes(b"\x00\x00\x00\x10ftypisom\x00\x00\x00\x00" + b"\x00\x00\x00\x08mdat")
    assert place._cut_off_mp4(path)
    path.write_bytes(b"\x00\x00\x00\x10ftypisom\x00\x00\x00\x00\x00\x00\x00\x08moov\x00\x00\x00\x08mdat")
    assert not place._cut_off_mp4(path)  # finished
    path.write_bytes(b"\x00\x00\x00\x08free\x00\x00\x00\x08mdat")
    assert not place._cut_off_mp4(path)  # not an MP4 by its first box
    link = tmp_path / "link.mp4"
    path.write_bytes(b"\x00\x00\x00\x10ftypisom\x00\x00\x00\x00")
    link.symlink_to(path)
    assert not place._cut_off_mp4(link)
    assert not place._cut_off_mp4(tmp_path)


# A plan of a real dataset, nothing encoded


@pytest.fixture
def partial(tmp_path: Path) -> DatasetPlan:
    return plan_dataset(copy_fixture("v30_partial", tmp_path), EncodeOptions())


def test_new_target_replaces_only_what_is_encodectls(partial: DatasetPlan) -> None:
    placement = VideoPlacement(chunk=0, file=1)
    path = partial.info.video_file(TOP, placement, 0)
    assert place._new_target(partial, TOP, placement, 0).note is None
    path.write_bytes(b"found wrong by check")
    partial.replaceable = {path: FileState.of(path)}
    assert place._new_target(partial, TOP, placement, 0).note == "replaced file-001.mp4, found wrong by check"
    path.write_bytes(b"changed since check found it wrong")
    with pytest.raises(InputError, match="is already there, but no episode row"):
        place._new_target(partial, TOP, placement, 0)
    state = partial.info.root / ".encodectl"
    state.mkdir()
    (state / "lerobot-made.json").write_text(json.dumps({"files": {str(path): FileState.of(path).model_dump()}}))  # type: ignore[union-attr]
    assert place._new_target(partial, TOP, placement, 0).note == (
        "replaced file-001.mp4, which an earlier run placed before its commit was dropped"
    )
    path.unlink()
    path.symlink_to(partial.info.root / "nowhere")
    with pytest.raises(InputError) as caught:
        place._new_target(partial, TOP, placement, 0)
    assert str(caught.value) == (
        f"{path} is already there, but no episode row of the dataset refers to it: encodectl replaces nothing it did "
        f"not make; move it away and run again ({TOP} not placed)"
    )


def existing(plan: DatasetPlan, binary: FFmpegBinary) -> TargetFile:
    placed = [(episode.videos[TOP], episode) for episode in plan.episodes if TOP in episode.videos]
    return place._existing_target(plan, TOP, VideoPlacement(chunk=0, file=0), placed, binary)


def test_existing_target(partial: DatasetPlan, ffmpeg_binary: FFmpegBinary) -> None:
    target = existing(partial, ffmpeg_binary)
    assert target.path == partial.info.root / "videos" / TOP / "chunk-000" / "file-000.mp4"
    assert target.base is not None and target.base.video.frames == 11
    assert [(s.label, s.start, s.frames) for s in target.base_spans] == [
        ("episode 0", Fraction(0), 5), ("episode 1", Fraction(1 / 6), 6),
    ]  # fmt: skip
    assert target.base_end_s == 0.3666666666666667
    assert target.end_s == target.base_end_s


def test_existing_target_the_metadata_runs_past(partial: DatasetPlan, ffmpeg_binary: FFmpegBinary) -> None:
    last = partial.episodes[1].videos[TOP]
    last.to_s = 11 / 30 + 1.01e-4
    with pytest.raises(InputError) as caught:
        existing(partial, ffmpeg_binary)
    assert str(caught.value) == (
        f"{partial.info.root / 'videos' / TOP / 'chunk-000' / 'file-000.mp4'}: the metadata places an episode up to "
        f"0.366768 s, past the file's end at 0.366667 s; {TOP} not placed"
    )
    last.to_s = 11 / 30 + 0.99e-4
    assert existing(partial, ffmpeg_binary).base_end_s == last.to_s


def test_existing_target_missing(partial: DatasetPlan, ffmpeg_binary: FFmpegBinary) -> None:
    video = partial.info.root / "videos" / TOP / "chunk-000" / "file-000.mp4"
    video.unlink()
    with pytest.raises(InputError) as caught:
        existing(partial, ffmpeg_binary)
    assert str(caught.value) == f"{video} is missing, though the dataset's metadata places episodes in it"


# Building each file: LeRobot's size rule, the join, the read-back


def test_a_file_that_would_reach_the_size_limit_starts_the_next_and_both_are_joined(
    pending: Staged, ffmpeg_binary: FFmpegBinary
) -> None:
    """LeRobot starts a new file once the current one would reach video_files_size_in_mb (`>=`): with the limit
    at exactly episodes 0-2's size, episode 2 starts file-001 and a fourth episode (episode 1's video again)
    joins it there. Two files of one chunk are then joined in one staging folder."""
    plan, staged = pending
    episodes = [*copies(staged), staged[1].model_copy()]
    limit = sum(episode.size for episode in episodes[:3]) / place.MIB  # exact: MIB is a power of two
    at_limit = plan.model_copy(update={"info": plan.info.model_copy(update={"video_files_size_in_mb": limit})})
    targets = place_episodes(at_limit, TOP, episodes, ffmpeg_binary)
    assert [(t.placement.file, [e.pending.episode.index for e in t.episodes]) for t in targets] == [
        (0, [0, 1]), (1, [2, 1])]  # fmt: skip
    assert [e.from_s for e in targets[1].episodes] == [0.0, 4 / 30]
    for target, frames in zip(targets, (5 + 6, 4 + 6), strict=True):
        candidate, times = build_target(at_limit, target, ffmpeg_binary, nice=0)
        assert candidate == plan.staging / "joined" / "videos" / TOP / "chunk-000" / target.path.name
        assert times.video.frames == frames


def test_a_join_ffmpeg_cannot_make_is_refused_with_its_reason(pending: Staged, ffmpeg_binary: FFmpegBinary) -> None:
    plan, staged = pending
    episodes = copies(staged)
    (target,) = place_episodes(plan, TOP, episodes, ffmpeg_binary)
    first = episodes[0].pending.source.output
    kept = first.read_bytes()
    first.unlink()  # gone from the staging folder after it was placed
    try:
        with pytest.raises(VerificationError) as caught:
            build_target(plan, target, ffmpeg_binary, nice=0)
    finally:
        first.write_bytes(kept)
    message = str(caught.value)
    exit_code = re.fullmatch(r"joining into file-000\.mp4 failed: ffmpeg failed \(exit (\d+)\): (.*)", message)
    assert exit_code is not None, message
    assert int(exit_code.group(1)) != 0 and str(first) in exit_code.group(2)  # ffmpeg's words, naming the file


def test_the_join_runs_at_the_priority_asked_for(pending: Staged, ffmpeg_binary: FFmpegBinary, tmp_path: Path) -> None:
    """--priority low (nice 10) holds for the join too. The ffmpeg here is a script that records its own nice
    value once the real ffmpeg it runs has ended: encodectl lowers a child as soon as it has started it."""
    log = tmp_path / "nice.log"
    wrapper = tmp_path / "ffmpeg"
    wrapper.write_text(f'#!/bin/sh\n"{ffmpeg_binary.path}" "$@"\ncode=$?\necho "$(nice) $*" >> "{log}"\nexit $code\n')
    wrapper.chmod(0o755)
    plan, staged = pending
    (target,) = place_episodes(plan, TOP, copies(staged), ffmpeg_binary)
    build_target(plan, target, ffmpeg_binary.model_copy(update={"path": wrapper}), nice=7)
    calls = [line.split(" ", 1) for line in log.read_text().splitlines()]
    ours = os.getpriority(os.PRIO_PROCESS, 0)  # 7 steps below it, as far as 19 (a run at nice 19 shows nothing)
    assert [int(nice) for nice, argv in calls if " concat " in f" {argv} "] == [min(19, ours + 7)]
    assert [int(nice) for nice, argv in calls if " concat " not in f" {argv} "] == [ours]  # the read-back


def test_a_joined_file_is_read_back_decoded(pending: Staged, ffmpeg_binary: FFmpegBinary, tmp_path: Path) -> None:
    """Episode 1 staged with the second half of each of its frames but the first overwritten: its packets are
    all there and join by stream copy (ffmpeg's muxer reads only the headers of each unit); only decoding
    the file, as LeRobot does, finds that its pictures are not."""
    plan, staged = pending
    episodes = copies(staged)
    broken = tmp_path / "episode-000001.mp4"
    data = bytearray(episodes[1].pending.source.output.read_bytes())
    with av.open(str(episodes[1].pending.source.output)) as container:
        packets = [(packet.pos, packet.size) for packet in container.demux(video=0) if packet.size]
    for position, size in packets[1:]:
        data[position + size // 2 : position + size] = b"\xff" * (size - size // 2)
    broken.write_bytes(bytes(data))
    pending_1 = episodes[1].pending.model_copy(
        update={"source": episodes[1].pending.source.model_copy(update={"output": broken})}
    )
    episodes[1] = episodes[1].model_copy(update={"pending": pending_1})
    (target,) = place_episodes(plan, TOP, episodes, ffmpeg_binary)
    joined = plan.staging / "joined" / "videos" / TOP / "chunk-000" / "file-000.mp4"
    with pytest.raises(VerificationError, match=rf"^ffmpeg cannot read back {re.escape(str(joined))}: "):
        build_target(plan, target, ffmpeg_binary, nice=0)
    assert read_frame_times(ffmpeg_binary, joined).video.frames == 15  # every packet in place


def test_a_file_whose_episodes_are_not_where_the_metadata_will_say_is_refused(
    pending: Staged, ffmpeg_binary: FFmpegBinary
) -> None:
    """The spans checked are those the metadata rows will hold: one placed a little past LeRobot's 1e-4 s
    from where its frames are in the file fails the read-back, which names the dataset's file."""
    plan, staged = pending
    (target,) = place_episodes(plan, TOP, copies(staged), ffmpeg_binary)
    target.episodes[1].from_s += 1.01e-4
    with pytest.raises(VerificationError) as caught:
        build_target(plan, target, ffmpeg_binary, nice=0)
    assert str(caught.value) == "file-000.mp4 failed verification: episode 1 frame 0 is not at 0.166768 s"


def test_staged_videos_whose_names_are_not_utf8_are_joined(
    pending: Staged, ffmpeg_binary: FFmpegBinary, tmp_path: Path
) -> None:
    """A Linux file name is bytes: the concat list names the staged videos as they are on disk."""
    plan, staged = pending
    folder = tmp_path / os.fsdecode(b"staged-\xff")
    folder.mkdir()
    episodes = []
    for episode in copies(staged):
        output = folder / episode.pending.source.output.name
        shutil.copyfile(episode.pending.source.output, output)
        source = episode.pending.source.model_copy(update={"output": output})
        episodes.append(episode.model_copy(update={"pending": episode.pending.model_copy(update={"source": source})}))
    (target,) = place_episodes(plan, TOP, episodes, ffmpeg_binary)
    candidate, times = build_target(plan, target, ffmpeg_binary, nice=0)
    assert times.video.frames == 15
    assert os.fsencode(folder) in candidate.with_suffix(".ffconcat").read_bytes()


def test_existing_target_ending_exactly_at_the_tolerance(partial: DatasetPlan, ffmpeg_binary: FFmpegBinary) -> None:
    """The metadata may place an episode up to 1e-4 s past the file's end (LeRobot's tolerance), that far
    included: a float as LeRobot adds them up lands there."""
    file_end = float(Fraction(11, 30))
    partial.episodes[1].videos[TOP].to_s = file_end + meta.TOLERANCE_S
    assert existing(partial, ffmpeg_binary).base_end_s == file_end + meta.TOLERANCE_S


def test_a_file_that_cannot_be_read_is_not_taken_for_a_cut_off_mp4(
    partial: DatasetPlan, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests run as root, which reads any file: an unreadable one is made by refusing its open."""
    placement = VideoPlacement(chunk=0, file=1)
    path = partial.info.video_file(TOP, placement, 0)
    path.write_bytes(b"\x00\x00\x00\x10ftypisom\x00\x00\x00\x00")
    opened = Path.open

    def refused(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return opened(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refused)
    assert not place._cut_off_mp4(path)
    with pytest.raises(InputError, match="is already there, but no episode row"):
        place._new_target(partial, TOP, placement, 0)
