"""encodectl/lerobot/finish_dataset.py: `encode ROOT` on a LeRobot dataset: plan, encode, place, one commit.

Every fixture finished and loaded back by LeRobot: tests/test_lerobot.py, tests_lerobot/; commits cut off
and resumed: tests/test_lerobot.py; rows rebuilt first: tests/lerobot/test_heal.py; where each episode goes
and how its file is built: tests/lerobot/test_place.py.

The functions are called in process on LeRobot's own fixtures (64x64, 4-6 frames an episode). Their pending
episodes are encoded once per module with the real ffmpeg (`Encoded`) and copied into each test's dataset:
what is under test here is what happens after the encode (placing, joining and reading back with the real
ffmpeg, the commit, the notes), and mutation testing runs these tests once per mutant.
"""

from __future__ import annotations

import json
import locale
import os
import shutil
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pyarrow.parquet as pq
import pytest

from encodectl.errors import DatasetBusy, InputError, Interrupted, VerificationError
from encodectl.frames.layout import EpisodeSource
from encodectl.job.source_runner import SourceRunner
from encodectl.job.verify import FrameTimes, mp4_complete, read_frame_times
from encodectl.lerobot import finish_dataset
from encodectl.lerobot.commit import CommitJournal, FileState, Move
from encodectl.lerobot.finish_dataset import check_frames_as_planned, commit_dataset, finish_datasets
from encodectl.lerobot.heal import RebuiltRows, commit_rows, rows_to_rebuild
from encodectl.lerobot.meta import VideoPlacement
from encodectl.lerobot.plan import DatasetPlan, plan_dataset
from encodectl.lerobot.versions import ReleaseChoice
from encodectl.models import (
    EncodeOptions,
    FailureKind,
    FFmpegBinary,
    JobResult,
    JobStatus,
    LeRobotRelease,
    Priority,
    VideoInfo,
)
from encodectl.run.engine import encode_sources
from encodectl.version import __version__
from tests.conftest import copy_lerobot_fixture as copy
from tests.conftest import episode_rows as rows

TOP, WRIST, DEPTH = "observation.images.top", "observation.images.wrist", "observation.images.depth"
LEROBOT_INFO = {  # features[camera]["info"] as LeRobot 0.4.4 wrote it for these cameras (v30_partial)
    "video.height": 64, "video.width": 64, "video.codec": "av1", "video.pix_fmt": "yuv420p",
    "video.is_depth_map": False, "video.fps": 30, "video.channels": 3, "has_audio": False,
}  # fmt: skip

Made = dict[tuple[str | None, str], tuple[Path, JobResult]]


class Encoded:
    """Each fixture's pending camera-episodes encoded once (in a copy of its own, its missing rows rebuilt
    first), by camera and episode: a test's run copies them into its own dataset's staging folder."""

    def __init__(self, binary: FFmpegBinary, folder: Path) -> None:
        self.binary, self.folder = binary, folder
        self.made: dict[str, Made] = {}

    def of(self, name: str) -> Made:
        if name not in self.made:
            root = copy(name, self.folder)
            scratch = self.folder / f"{name}-rows"
            scratch.mkdir()
            rows = rows_to_rebuild(root, self.binary, scratch)
            if rows is not None:
                commit_rows(rows)
            plan = plan_dataset(root, EncodeOptions())
            made: Made = {}
            for result in encode_sources(plan.sources, plan.options, self.binary):
                assert result.status is JobStatus.done, result.reason
                made[(result.camera, result.episode)] = (result.output, result)
            self.made[name] = made
        return self.made[name]

    def run(self, name: str, calls: list[list[EpisodeSource]] | None = None) -> SourceRunner:
        """A runner that 'encodes' by copying the videos made once (and notes the sources it was given)."""

        def run(sources: list[EpisodeSource], options: EncodeOptions) -> list[JobResult]:
            if calls is not None:
                calls.append(sources)
            results = []
            for source in sources:
                video, result = self.of(name)[(source.camera, source.episode)]
                source.output.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(video, source.output)
                results.append(
                    result.model_copy(deep=True, update={"source": source.directory, "output": source.output})
                )
            return results

        return run

    def finishing(self, name: str, tmp_path: Path) -> tuple[DatasetPlan, list[JobResult]]:
        """A copy of the fixture planned, its pending episodes encoded into its staging folder: ready to commit."""
        plan = plan_dataset(copy(name, tmp_path), EncodeOptions())
        return plan, self.run(name)(plan.sources, plan.options)


@pytest.fixture(scope="module")
def encoded(tmp_path_factory: pytest.TempPathFactory, ffmpeg_binary: FFmpegBinary) -> Encoded:
    return Encoded(ffmpeg_binary, tmp_path_factory.mktemp("encoded"))


def span(row: dict[str, Any], key: str) -> tuple[Any, ...]:
    return tuple(row.get(f"videos/{key}/{name}") for name in ("file_index", "from_timestamp", "to_timestamp"))


def by_camera(results: list[JobResult]) -> dict[tuple[str | None, str], JobResult]:
    return {(result.camera, result.episode): result for result in results}


def camera_info(root: Path, key: str) -> Any:
    return json.loads((root / "meta" / "info.json").read_text())["features"][key].get("info")


# Committing: what is placed, where, and what is said of it


def test_commit_places_the_episodes_encoded_and_only_those(
    encoded: Encoded, tmp_path: Path, ffmpeg_binary: FFmpegBinary
) -> None:
    """v30_pending: every episode encoded but the top camera's episode 1 (its encode failed). The others are
    joined, their spans written as LeRobot computes them, the cameras described as LeRobot describes them,
    and (--delete-frames) the frames of exactly the episodes placed deleted."""
    plan, results = encoded.finishing("v30_pending", tmp_path)
    root = plan.info.root
    lost = by_camera(results)[(TOP, "episode-000001")]
    lost.status, lost.failure, lost.reason = JobStatus.failed, FailureKind.encoding, "the encoder failed"
    staged = lost.output
    assert commit_dataset(plan, results, ffmpeg_binary, delete_frames=True) == results
    video = {key: root / "videos" / key / "chunk-000" / "file-000.mp4" for key in (TOP, WRIST)}
    assert [(r.camera, r.episode, r.status, r.output, r.notes) for r in results] == [
        (TOP, "episode-000000", JobStatus.done, video[TOP],
         ["at 0.000000-0.166667 s of file-000.mp4", "deleted its 5 frame file(s)"]),
        (WRIST, "episode-000000", JobStatus.done, video[WRIST],
         ["at 0.000000-0.166667 s of file-000.mp4", "deleted its 5 frame file(s)"]),
        (TOP, "episode-000001", JobStatus.failed, staged, []),
        (WRIST, "episode-000001", JobStatus.done, video[WRIST],
         ["at 0.166667-0.366667 s of file-000.mp4", "deleted its 6 frame file(s)"]),
        (TOP, "episode-000002", JobStatus.done, video[TOP],
         ["at 0.166667-0.300000 s of file-000.mp4", "deleted its 4 frame file(s)"]),
        (WRIST, "episode-000002", JobStatus.done, video[WRIST],
         ["at 0.366667-0.500000 s of file-000.mp4", "deleted its 4 frame file(s)"]),
    ]  # fmt: skip
    assert (lost.failure, lost.reason) == (FailureKind.encoding, "the encoder failed")
    assert [read_frame_times(ffmpeg_binary, video[key]).video.frames for key in (TOP, WRIST)] == [5 + 4, 5 + 6 + 4]
    written = rows(root)
    assert [span(written[i], TOP) for i in range(3)] == [(0, 0.0, 5 / 30), (None, None, None),
                                                         (0, 5 / 30, 5 / 30 + 4 / 30)]  # fmt: skip
    assert [span(written[i], WRIST) for i in range(3)] == [
        (0, 0.0, 5 / 30), (0, 5 / 30, 5 / 30 + 6 / 30), (0, 5 / 30 + 6 / 30, 5 / 30 + 6 / 30 + 4 / 30)]  # fmt: skip
    assert camera_info(root, TOP) == camera_info(root, WRIST) == LEROBOT_INFO
    assert "encodectl" not in json.loads((root / "meta" / "info.json").read_text())  # LeRobot's settings: no record
    kept = root / "images" / TOP / "episode-000001"
    assert len(list(kept.iterdir())) == 6  # not placed: its frames stay
    assert not (root / "images" / TOP / "episode-000000").exists()


def test_an_episode_whose_staged_video_cannot_be_read_fails_alone(
    encoded: Encoded, tmp_path: Path, ffmpeg_binary: FFmpegBinary
) -> None:
    plan, results = encoded.finishing("v30_pending", tmp_path)
    unreadable = by_camera(results)[(TOP, "episode-000000")]
    unreadable.output.write_bytes(b"not a video")
    commit_dataset(plan, results, ffmpeg_binary)
    assert (unreadable.status, unreadable.failure) == (JobStatus.failed, FailureKind.verify)
    assert unreadable.reason is not None and str(unreadable.output) in unreadable.reason
    assert [r.notes for r in results if r.camera == TOP and r is not unreadable] == [
        ["at 0.000000-0.200000 s of file-000.mp4"], ["at 0.200000-0.333333 s of file-000.mp4"]]  # fmt: skip
    assert span(rows(plan.info.root)[0], TOP) == (None, None, None)


def test_a_camera_that_cannot_be_placed_fails_and_the_others_are_placed(
    encoded: Encoded, tmp_path: Path, ffmpeg_binary: FFmpegBinary
) -> None:
    plan, results = encoded.finishing("v30_pending", tmp_path)
    theirs = plan.info.root / "videos" / TOP / "chunk-000" / "file-000.mp4"
    theirs.parent.mkdir(parents=True)
    theirs.write_bytes(b"the user's")
    commit_dataset(plan, results, ffmpeg_binary)
    refused = [r for r in results if r.camera == TOP]
    assert {(r.status, r.failure, r.reason) for r in refused} == {(JobStatus.failed, FailureKind.input, (
        f"{theirs} is already there, but no episode row of the dataset refers to it: encodectl replaces nothing it "
        f"did not make; move it away and run again ({TOP} not placed)"))}  # fmt: skip
    assert theirs.read_bytes() == b"the user's"
    assert [r.status for r in results if r.camera == WRIST] == [JobStatus.done] * 3
    assert (camera_info(plan.info.root, TOP), camera_info(plan.info.root, WRIST)) == (None, LEROBOT_INFO)


def test_a_joined_file_that_fails_verification_places_none_of_its_episodes(
    encoded: Encoded, tmp_path: Path, ffmpeg_binary: FFmpegBinary
) -> None:
    """The top camera's episode 1 staged with the second half of each frame but the first overwritten: its
    packets are all there, so it is joined; read back decoded, as LeRobot reads it, the file fails, and with it
    the episodes it holds (tests/lerobot/test_place.py has the read-back itself)."""
    plan, results = encoded.finishing("v30_pending", tmp_path)
    broken = by_camera(results)[(TOP, "episode-000001")].output
    data = bytearray(broken.read_bytes())
    with av.open(str(broken)) as container:
        packets = [(packet.pos, packet.size) for packet in container.demux(video=0) if packet.size]
    for position, size in packets[1:]:
        data[position + size // 2 : position + size] = b"\xff" * (size - size // 2)
    broken.write_bytes(bytes(data))
    commit_dataset(plan, results, ffmpeg_binary)
    top = [r for r in results if r.camera == TOP]
    assert {(r.status, r.failure) for r in top} == {(JobStatus.failed, FailureKind.verify)}
    joined = plan.staging / "joined" / "videos" / TOP / "chunk-000" / "file-000.mp4"
    assert all(r.reason is not None and r.reason.startswith(f"ffmpeg cannot read back {joined}: ") for r in top)
    assert not (plan.info.root / "videos" / TOP).exists()
    assert [span(row, TOP) for row in rows(plan.info.root).values()] == [(None, None, None)] * 3
    assert [r.status for r in results if r.camera == WRIST] == [JobStatus.done] * 3


@pytest.mark.parametrize(
    "changed", [f"videos/{TOP}/chunk-000/file-000.mp4", "meta/episodes/chunk-000/file-000.parquet"]
)
def test_a_dataset_file_written_while_encoding_stops_the_commit(
    encoded: Encoded, tmp_path: Path, ffmpeg_binary: FFmpegBinary, monkeypatch: pytest.MonkeyPatch, changed: str
) -> None:
    """Another program writes where a new video goes (free when the episodes were placed), or rewrites an
    episodes file the commit will replace, before the commit (here: at the last look at the frames). Nothing
    is moved into the dataset, and what the other program wrote stays."""
    plan, results = encoded.finishing("v30_pending", tmp_path)
    theirs = plan.info.root / changed
    checked = finish_dataset.check_frames_as_planned

    written = theirs.read_bytes() if theirs.exists() else b"written meanwhile"

    def meanwhile(pending: Any) -> None:
        theirs.parent.mkdir(parents=True, exist_ok=True)
        theirs.write_bytes(written)  # an episodes file rewritten as it was: another file all the same
        checked(pending)

    monkeypatch.setattr(finish_dataset, "check_frames_as_planned", meanwhile)
    with pytest.raises(DatasetBusy) as caught:
        commit_dataset(plan, results, ffmpeg_binary)
    assert str(caught.value) == f"{changed} changed while encoding; nothing was changed in the dataset: run again"
    assert theirs.read_bytes() == written
    assert not (plan.info.root / "videos" / WRIST).exists()
    assert camera_info(plan.info.root, WRIST) is None


def test_nothing_placed_nothing_written(encoded: Encoded, tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    """Settings to record (--quality) but no episode placed: info.json stays as it was, no journal is written.
    Once with every encode failed, once with every camera refused a place."""
    for case in ("failed", "refused"):
        root = copy("v30_pending", tmp_path / case)
        made = encoded.of("v30_pending")
        plan = plan_dataset(root, EncodeOptions(quality=20))
        assert plan.record == {"quality": "20"}
        results = encoded.run("v30_pending")(plan.sources, plan.options)
        assert len(made) == len(results) == 6
        if case == "failed":
            for result in results:
                result.status = JobStatus.failed
        else:
            for key in (TOP, WRIST):
                theirs = root / "videos" / key / "chunk-000" / "file-000.mp4"
                theirs.parent.mkdir(parents=True)
                theirs.write_bytes(b"the user's")
        before = (root / "meta" / "info.json").read_bytes()
        assert commit_dataset(plan, results, ffmpeg_binary) == results
        assert (root / "meta" / "info.json").read_bytes() == before
        assert not (root / ".encodectl" / "lerobot-commit.json").exists()
        assert [r.output.parent for r in results] == [plan.staging / r.camera for r in results]  # type: ignore[operator]


def test_v21_one_file_per_episode_and_what_it_replaced(
    encoded: Encoded, tmp_path: Path, ffmpeg_binary: FFmpegBinary
) -> None:
    """v21_partial: episode 2 pending; where the top camera's video goes, an MP4 LeRobot never finished."""
    plan, results = encoded.finishing("v21_partial", tmp_path)
    root = plan.info.root
    cut = root / "videos" / "chunk-000" / TOP / "episode_000002.mp4"
    cut.write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00\x00\x10\x00mdat" + bytes(64))
    info = (root / "meta" / "info.json").read_bytes()
    commit_dataset(plan, results, ffmpeg_binary)
    assert [(r.camera, r.status, r.output, r.notes) for r in results] == [
        (TOP, JobStatus.done, cut, ["replaced episode_000002.mp4, an MP4 its writer never finished (no index)"]),
        (WRIST, JobStatus.done, root / "videos" / "chunk-000" / WRIST / "episode_000002.mp4", []),
    ]  # fmt: skip
    assert mp4_complete(cut) and read_frame_times(ffmpeg_binary, cut).video.frames == 4
    assert (root / "meta" / "info.json").read_bytes() == info  # LeRobot described the cameras already


# The steps, one at a time


@pytest.fixture
def partial(tmp_path: Path) -> DatasetPlan:
    return plan_dataset(copy("v30_partial", tmp_path), EncodeOptions())


@pytest.mark.same_on_every_ffmpeg("frame files compared with the plan: no ffmpeg runs")
def test_frames_as_planned(partial: DatasetPlan) -> None:
    pending = partial.pending[0]
    check_frames_as_planned(pending)
    extra = pending.source.directory / "frame-000004.png"
    extra.write_bytes(pending.frames[0].path.read_bytes())
    with pytest.raises(InputError) as caught:
        check_frames_as_planned(pending)
    assert str(caught.value) == (
        f"{pending.source.directory} changed after encodectl planned the episode (rewritten, added or removed): "
        "its video is not placed; run again to encode the frames as they are now"
    )
    extra.unlink()
    rewritten = pending.frames[2].path
    rewritten.write_bytes(rewritten.read_bytes())  # same bytes, another write: not the file that was planned
    with pytest.raises(InputError, match=rf"^{rewritten} changed after encodectl planned the episode"):
        check_frames_as_planned(pending)


@pytest.mark.same_on_every_ffmpeg("results marked failed: no ffmpeg runs")
def test_fail() -> None:
    results = [JobResult.model_construct(status=JobStatus.done, failure=None, reason=None) for _ in range(2)]
    finish_dataset._fail(results, VerificationError("not at 0.1 s"))
    assert [(r.status, r.failure, r.reason) for r in results] == [
        (JobStatus.failed, FailureKind.verify, "not at 0.1 s")
    ] * 2
    finish_dataset._fail(results[:1], InputError("changed"))
    assert (results[0].failure, results[0].reason) == (FailureKind.input, "changed")


@pytest.mark.same_on_every_ffmpeg("frame files deleted: no ffmpeg runs")
def test_delete_frames_only_as_planned(partial: DatasetPlan) -> None:
    pending = partial.pending[0]
    folder = pending.source.directory
    assert finish_dataset._delete_frames(pending) == "deleted its 4 frame file(s)"
    assert not folder.exists() and folder.parent.exists()  # the other camera's frames are still there
    other = partial.pending[1]
    changed = [other.frames[1].path, other.frames[3].path]
    for frame in changed:
        frame.write_bytes(b"rewritten after planning")
    assert finish_dataset._delete_frames(other) == "deleted its 2 frame file(s); kept 2 that changed after planning"
    assert sorted(p.name for p in other.source.directory.iterdir()) == [frame.name for frame in changed]


@pytest.mark.same_on_every_ffmpeg("frame files deleted: no ffmpeg runs")
def test_delete_frames_removes_the_folders_left_empty_up_to_images(partial: DatasetPlan) -> None:
    """As LeRobot leaves a dataset once it has encoded everything: no images/ folder; the dataset stays."""
    root = partial.info.root
    for key in (TOP, WRIST):
        shutil.rmtree(root / "images" / key / "episode-000003")  # the cut-off episode's frames, gone meanwhile
    notes = [finish_dataset._delete_frames(pending) for pending in partial.pending]
    assert notes == ["deleted its 4 frame file(s)"] * 2
    assert not (root / "images").exists() and (root / "meta" / "info.json").is_file()


@pytest.mark.same_on_every_ffmpeg("metadata files staged: no ffmpeg runs")
def test_metadata_moves(partial: DatasetPlan) -> None:
    placements = {(2, TOP): VideoPlacement(chunk=0, file=1, from_s=0.0, to_s=4 / 30)}
    moves = finish_dataset.metadata_moves(partial, placements, {})
    second = partial.info.root / "meta" / "episodes" / "chunk-000" / "file-001.parquet"
    assert [(m.source.relative_to(partial.staging), m.target) for m in moves] == [
        (Path("meta/episodes/chunk-000/file-001.parquet"), second)
    ]  # info.json unchanged: LeRobot already described the camera; the first file has no row to fill
    partial.record = {"crf": "20"}
    moves = finish_dataset.metadata_moves(partial, placements, {TOP: partial.info.feature_info(TOP)})  # type: ignore[dict-item]
    assert [m.target.name for m in moves] == ["info.json", "file-001.parquet"]
    written = json.loads(moves[0].source.read_text())
    assert written["encodectl"] == {"version": __version__, "videos": {TOP: {"options": {"crf": "20"}}}}
    assert written["features"][TOP]["info"] == json.loads((partial.info.root / "meta" / "info.json").read_text())[
        "features"][TOP]["info"]  # fmt: skip


@pytest.mark.same_on_every_ffmpeg("metadata files staged: no ffmpeg runs")
def test_metadata_moves_stage_every_episodes_file_with_a_row_filled(partial: DatasetPlan) -> None:
    """Both episodes files of chunk-000 have a row to fill (say a camera LeRobot never encoded): both are staged,
    in one staging folder, and moved in the order of their names."""
    placements = {(0, TOP): VideoPlacement(chunk=0, file=1, from_s=0.0, to_s=5 / 30),
                  (2, TOP): VideoPlacement(chunk=0, file=1, from_s=5 / 30, to_s=9 / 30)}  # fmt: skip
    moves = finish_dataset.metadata_moves(partial, placements, {})
    folder = partial.info.root / "meta" / "episodes" / "chunk-000"
    assert [(m.source.parent, m.target) for m in moves] == [
        (partial.staging / "meta" / "episodes" / "chunk-000", folder / name)
        for name in ("file-000.parquet", "file-001.parquet")
    ]
    first = {row["episode_index"]: row for row in pq.read_table(moves[0].source).to_pylist()}
    assert span(first[0], TOP) == (1, 0.0, 5 / 30)


@pytest.mark.same_on_every_ffmpeg("metadata files staged: no ffmpeg runs")
def test_info_json_is_written_in_utf8_whatever_the_locale(tmp_path: Path) -> None:
    """LeRobot writes info.json in UTF-8 with names as they are (no \\u escapes): so does encodectl, in a
    process whose locale is plain ASCII too."""
    root = copy("v30_partial", tmp_path)
    path = root / "meta" / "info.json"
    path.write_text(path.read_text().replace('"robot_type": "fixture"', '"robot_type": "bras télé"'), encoding="utf-8")
    plan = plan_dataset(root, EncodeOptions(quality=20))  # a setting to record: info.json is rewritten
    previous = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    try:
        (info,) = finish_dataset.metadata_moves(plan, {}, {})
    finally:
        locale.setlocale(locale.LC_CTYPE, previous)
    assert '"robot_type": "bras télé"'.encode() in info.source.read_bytes()


def frame_times(codec: str, pix_fmt: str) -> FrameTimes:
    video = VideoInfo(frames=4, fps=Fraction(30), width=64, height=48, pix_fmt=pix_fmt, codec=codec,
                      timestamps_exact=True)  # fmt: skip
    return FrameTimes(video=video, pts=[0, 512, 1024, 1536], end=2048, time_base=(1, 15360), extradata=None)


@pytest.mark.same_on_every_ffmpeg("the camera info is made from what was read back: no ffmpeg runs")
def test_feature_info_as_the_release_writes_it(tmp_path: Path) -> None:
    """v30_061_pending (LeRobot 0.6.1): a colour and a depth camera; LeRobot 0.6 records the encoder's settings,
    and for a depth camera its quantization."""
    plan = plan_dataset(copy("v30_061_pending", tmp_path), EncodeOptions())
    command = ["ffmpeg", "-c:v", "libsvtav1", "-g", "2", "-crf", "30", "-preset", "12", "out.mp4"]
    result = JobResult.model_construct(command=command)
    colour = finish_dataset._feature_info(plan, TOP, frame_times("av1", "yuv420p"), result)
    assert (colour.width, colour.height, colour.codec, colour.pix_fmt, colour.fps, colour.channels) == (
        64, 48, "av1", "yuv420p", 30, 3)  # fmt: skip
    assert (colour.is_depth_map, colour.release, colour.encoder.depth) == (False, LeRobotRelease.v06, None)
    assert (colour.encoder.g, colour.encoder.crf, colour.encoder.preset) == (2, 30, 12)
    depth = finish_dataset._feature_info(plan, DEPTH, frame_times("hevc", "gray12le"), result)
    assert (depth.codec, depth.pix_fmt, depth.channels, depth.is_depth_map) == ("hevc", "gray12le", 1, True)
    assert depth.encoder.depth == plan.info.depth_quantization(DEPTH) and depth.encoder.extra_options
    plan.release = None  # a dataset that says nothing: LeRobot 0.4's form
    assert finish_dataset._feature_info(plan, TOP, frame_times("av1", "yuv420p"), result).release is LeRobotRelease.v04


@pytest.mark.same_on_every_ffmpeg("notes added to results: no ffmpeg runs")
def test_notes_say_which_release_was_assumed_and_which_rows_were_rebuilt(partial: DatasetPlan) -> None:
    def result(episode: str, status: JobStatus = JobStatus.done) -> JobResult:
        return JobResult.model_construct(episode=episode, status=status, notes=[])

    partial.release = ReleaseChoice(release=LeRobotRelease.v04, reason="nothing in info.json tells", assumed=True)
    rebuilt = RebuiltRows(root=partial.info.root, episodes=[2, 3], staging=partial.staging)
    done, failed, other = result("episode-000002"), result("episode-000003", JobStatus.failed), result("episode-000012")
    for each in (done, failed, other):
        finish_dataset._add_notes(each, partial, rebuilt)
    assumed = "camera info written as LeRobot 0.4 writes it (nothing in info.json tells)"
    assert done.notes == [assumed, rebuilt.note]
    assert failed.notes == [rebuilt.note]  # nothing written for it
    assert other.notes == [assumed]
    partial.release = ReleaseChoice(release=LeRobotRelease.v04, reason="the dataset tells")
    told = result("episode-000002")
    finish_dataset._add_notes(told, partial, None)
    assert told.notes == []


# The whole run


def test_a_v30_dataset_finished_its_frames_deleted(
    encoded: Encoded, tmp_path: Path, ffmpeg_binary: FFmpegBinary
) -> None:
    """v30_partial: episode 2 pending. It is appended to LeRobot's file-000, or starts file-001 where this
    ffmpeg's SVT-AV1 writes another codec configuration than LeRobot's (tests/lerobot/test_place.py): the
    metadata must say where it went, either way."""
    root = copy("v30_partial", tmp_path)
    results = finish_datasets([root], EncodeOptions(), ffmpeg_binary, encoded.run("v30_partial"), delete_frames=True)
    assert [(r.status, r.camera, r.episode) for r in results] == [
        (JobStatus.skipped, TOP, "episode-000003"), (JobStatus.skipped, WRIST, "episode-000003"),
        (JobStatus.done, TOP, "episode-000002"), (JobStatus.done, WRIST, "episode-000002")]  # fmt: skip
    assert all(r.dataset == root for r in results)
    top = results[2]
    file_index = int(top.output.stem.removeprefix("file-"))
    assert top.output == root / "videos" / TOP / "chunk-000" / f"file-{file_index:03d}.mp4" and file_index in (0, 1)
    start = 0.0 if file_index == 1 else 5 / 30 + 6 / 30  # after LeRobot's episodes 0-1, as its floats add up
    assert top.notes[-2:] == [f"at {start:.6f}-{start + 4 / 30:.6f} s of {top.output.name}",
                              "deleted its 4 frame file(s)"]  # fmt: skip

    (row,) = pq.read_table(root / "meta" / "episodes" / "chunk-000" / "file-001.parquet").to_pylist()
    assert row["episode_index"] == 2
    assert (row[f"videos/{TOP}/file_index"], row[f"videos/{TOP}/from_timestamp"]) == (file_index, pytest.approx(start))
    assert row[f"videos/{TOP}/to_timestamp"] == pytest.approx(start + 4 / 30)
    assert camera_info(root, TOP) == LEROBOT_INFO
    assert sorted(path.name for path in (root / "images" / TOP).iterdir()) == ["episode-000003"]  # left alone
    assert not (root / ".encodectl").exists()  # staging removed, and the state folder with it


def test_an_episode_whose_frames_changed_after_planning_is_not_placed(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary
) -> None:
    root = copy("v21_partial", tmp_path)
    added = root / "images" / TOP / "episode_000002" / "frame_000004.png"

    def run_then_add_a_frame(sources: list[EpisodeSource], options: EncodeOptions) -> list[JobResult]:
        results = encode_sources(sources, options, ffmpeg_binary)
        shutil.copyfile(added.with_name("frame_000003.png"), added)
        return results

    results = finish_datasets([root], EncodeOptions(), ffmpeg_binary, run_then_add_a_frame)
    by_key = {r.camera: r for r in results if r.episode == "episode_000002"}
    assert (by_key[WRIST].status, by_key[TOP].status, by_key[TOP].failure) == (
        JobStatus.done, JobStatus.failed, FailureKind.input)  # fmt: skip
    assert by_key[TOP].reason == (
        f"{added.parent} changed after encodectl planned the episode (rewritten, added or removed): its video is not "
        "placed; run again to encode the frames as they are now"
    )
    assert (root / "videos" / "chunk-000" / WRIST / "episode_000002.mp4").is_file()
    assert not (root / "videos" / "chunk-000" / TOP / "episode_000002.mp4").exists()


def test_every_dataset_is_planned_before_any_is_encoded(
    encoded: Encoded, tmp_path: Path, ffmpeg_binary: FFmpegBinary
) -> None:
    good, bad = copy("v30_pending", tmp_path), copy("v30_partial", tmp_path)
    (bad / "meta" / "info.json").write_text("{not json")
    calls: list[list[EpisodeSource]] = []
    with pytest.raises(InputError, match=r"info\.json"):
        finish_datasets([good, bad], EncodeOptions(), ffmpeg_binary, encoded.run("v30_pending", calls))
    assert calls == []
    assert not (good / "videos").exists() and not (good / ".encodectl").exists()


def test_two_datasets_finished_in_one_run(encoded: Encoded, tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    """Each dataset is encoded with its own plan and committed on its own; each result says which it is of."""
    first, second = copy("v30_partial", tmp_path / "a"), copy("v21_partial", tmp_path / "b")
    made = {**encoded.of("v30_partial"), **encoded.of("v21_partial")}
    calls: list[list[EpisodeSource]] = []

    def run(sources: list[EpisodeSource], options: EncodeOptions) -> list[JobResult]:
        name = "v30_partial" if sources[0].directory.is_relative_to(first) else "v21_partial"
        assert len(made) == 4
        return encoded.run(name, calls)(sources, options)

    results = finish_datasets([first, second], EncodeOptions(), ffmpeg_binary, run)
    assert [[source.directory.parent.parent.parent for source in sources] for sources in calls] == [
        [first] * 2, [second] * 2]  # fmt: skip
    done = [(r.dataset, r.camera, r.output) for r in results if r.status is JobStatus.done]
    assert [(dataset, camera) for dataset, camera, _ in done] == [(first, TOP), (first, WRIST), (second, TOP),
                                                                  (second, WRIST)]  # fmt: skip
    assert [output.is_relative_to(dataset) and output.is_file() for dataset, _, output in done] == [True] * 4
    assert all(r.dataset in (first, second) for r in results)
    assert not (first / ".encodectl").exists() and not (second / ".encodectl").exists()
    assert len(list((first / "images" / TOP / "episode-000002").iterdir())) == 4  # no --delete-frames: kept


def test_a_run_stopped_while_encoding_leaves_nothing_staged(
    encoded: Encoded, tmp_path: Path, ffmpeg_binary: FFmpegBinary
) -> None:
    root = copy("v30_partial", tmp_path)
    info = (root / "meta" / "info.json").read_bytes()

    def interrupted(sources: list[EpisodeSource], options: EncodeOptions) -> list[JobResult]:
        encoded.run("v30_partial")(sources[:1], options)  # one video staged, then Ctrl-C
        assert (root / ".encodectl" / "lerobot-staging").is_dir()
        raise Interrupted()

    with pytest.raises(Interrupted):
        finish_datasets([root], EncodeOptions(), ffmpeg_binary, interrupted)
    assert not (root / ".encodectl").exists()
    assert (root / "meta" / "info.json").read_bytes() == info


def test_a_dry_run_changes_nothing(encoded: Encoded, tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    """Its episodes are 'encoded' by the runner (which reports what it would do), never committed; a dataset
    whose rows are missing is reported episode by episode, its rows not rebuilt; a commit cut off by an earlier
    run is left for a real run to complete; the runner is not started for a dataset with nothing to encode."""
    root, missing = copy("v30_partial", tmp_path), copy("v30_061_rows_missing", tmp_path)
    staged = root / ".encodectl" / "lerobot-staging" / "note.txt"
    staged.parent.mkdir(parents=True)
    staged.write_text("staged by a run cut off in its commit")
    move = Move(source=staged, target=root / "note.txt", staged=FileState.of(staged), before=None)
    (root / ".encodectl" / "lerobot-commit.json").write_text(CommitJournal(moves=[move]).model_dump_json())
    idle, missing_too = copy("v30_partial", tmp_path / "idle"), copy("v30_061_rows_missing", tmp_path / "too")
    for key in (TOP, WRIST):
        shutil.rmtree(idle / "images" / key / "episode-000002")  # encoded, say, by another program
    datasets = (missing, root, missing_too, idle)
    before = {path: path.read_bytes() for dataset in datasets for path in dataset.rglob("*") if path.is_file()}
    calls: list[list[EpisodeSource]] = []

    def would(sources: list[EpisodeSource], options: EncodeOptions) -> list[JobResult]:
        calls.append(sources)
        assert options.dry_run
        return [JobResult.of_source(source, JobStatus.skipped, reason="would encode") for source in sources]

    results = finish_datasets(list(datasets), EncodeOptions(dry_run=True), ffmpeg_binary, would)
    assert [[(source.directory.parent.parent.parent, source.episode) for source in sources] for sources in calls] == [
        [(root, "episode-000002")] * 2]  # fmt: skip
    assert [(r.dataset, r.camera, r.reason) for r in results if r.episode == "episode-000002"] == [
        *[(dataset, key, "its episode row is missing (LeRobot never wrote it): would be rebuilt, then encoded")
          for dataset in (missing, missing_too) for key in (TOP, DEPTH)],
        (root, TOP, "would encode"), (root, WRIST, "would encode"),
        (idle, TOP, f"episode 2 has no video and no frames at {idle / 'images' / TOP / 'episode-000002'}"),
        (idle, WRIST, f"episode 2 has no video and no frames at {idle / 'images' / WRIST / 'episode-000002'}"),
    ]  # fmt: skip
    assert [r.episode for r in results if r.dataset == missing] == [f"episode-{i:06d}" for i in range(3) for _ in "td"]
    after = {path: path.read_bytes() for dataset in datasets for path in dataset.rglob("*") if path.is_file()}
    assert after == before


def test_the_joins_run_at_the_priority_asked_for(encoded: Encoded, tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    """--priority low: each camera's file is joined at nice 10 too, as its episodes were encoded (7 steps below
    this process, as far as 19: a test run at nice 19 shows nothing). The ffmpeg here is a script that records
    its own nice value once the real ffmpeg it runs has ended: encodectl lowers a child as soon as it starts it."""
    log = tmp_path / "nice.log"
    wrapper = tmp_path / "ffmpeg"
    wrapper.write_text(f'#!/bin/sh\n"{ffmpeg_binary.path}" "$@"\ncode=$?\necho "$(nice) $*" >> "{log}"\nexit $code\n')
    wrapper.chmod(0o755)
    root = copy("v30_pending", tmp_path)
    options = EncodeOptions(priority=Priority.low)
    finish_datasets([root], options, ffmpeg_binary.model_copy(update={"path": wrapper}), encoded.run("v30_pending"))
    calls = [line.split(" ", 1) for line in log.read_text().splitlines()]
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    assert [int(nice) for nice, argv in calls if " concat " in f" {argv} "] == [min(19, ours + options.nice)] * 2


def test_rows_rebuilt_then_encoded(encoded: Encoded, tmp_path: Path, ffmpeg_binary: FFmpegBinary) -> None:
    """v30_061_rows_missing: LeRobot 0.6.1 never wrote meta/episodes. The rows are rebuilt (their own commit),
    then the episodes encoded and placed like any; each says its row was rebuilt."""
    root = copy("v30_061_rows_missing", tmp_path)
    results = finish_datasets([root], EncodeOptions(), ffmpeg_binary, encoded.run("v30_061_rows_missing"))
    note = "its episode row rebuilt in meta/episodes, as LeRobot writes it (episodes 0-2 had none)"
    done = [r for r in results if r.status is JobStatus.done]
    assert [(r.camera, r.episode) for r in done] == [
        (key, f"episode-{index:06d}") for index in range(3) for key in (TOP, DEPTH)]  # fmt: skip
    assert all(note in r.notes and r.dataset == root for r in done)
    assert [span(rows(root)[i], DEPTH)[0] for i in range(3)] == [0, 0, 0]
    assert not (root / ".encodectl").exists()
