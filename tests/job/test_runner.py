"""encodectl/job/runner.py: one job end to end (stage, encode to a temporary name, verify, rename), and a
failed hardware encode redone on the CPU.

Encodes read back frame by frame: tests/test_encode.py; interrupts and clean-up: tests/test_interrupt.py,
tests/test_edge_cases.py; GPU fallbacks and session limits on a fake GPU: tests/test_gpu.py."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from encodectl.errors import Interrupted
from encodectl.ffmpeg.binary import find_ffmpeg
from encodectl.ffmpeg.encoder_choice import EncoderPlan, plan_encoder
from encodectl.ffmpeg.process import CancelToken
from encodectl.frames.layout import EpisodeSource
from encodectl.frames.sequence import sequence_digest
from encodectl.job.planning import plan_job
from encodectl.job.runner import APPEARED_MEANWHILE, encode_one, run_job, run_with_fallback
from encodectl.job.sessions import SessionLimiter
from encodectl.models import EncodeJob, EncodeOptions, EncoderSettings, FailureKind, FFmpegBinary, JobStatus
from encodectl.outputs.names import STAGING_SUFFIX, hidden_files
from tests.conftest import At, FakeGpu, children_of, decode, files_in
from tests.corrupt import garble_after_header

X264 = EncoderSettings(encoder="libx264", codec="h264", gop=2, arguments={"preset": "ultrafast"})


class Heard:
    """A job listener that writes down what it was told."""

    def __init__(self) -> None:
        self.said: list[str] = []

    def started(self, encoder: str, frames_total: int) -> None:
        self.said.append(f"started {encoder} {frames_total}")

    def verifying(self) -> None:
        self.said.append("verifying")

    def progress(self, progress: object) -> None: ...

    def falling_back(self, encoder: str) -> None:
        self.said.append(f"falling back to {encoder}")


def episode(tmp_path: Path) -> EpisodeSource:
    return EpisodeSource(directory=tmp_path / "ep", output=tmp_path / "ep.mp4", episode="ep")


def test_encode_one_publishes_a_verified_video_and_leaves_nothing_else(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    frames = make_frames(tmp_path / "ep", 5)
    frames[3].unlink()
    options = EncodeOptions(device="cpu", fps=10, gop=2, on_gap="hold")
    heard = Heard()
    result = encode_one(episode(tmp_path), options, plan_encoder(options, ffmpeg_binary), ffmpeg_binary,
                        limiter=SessionLimiter(2), token=CancelToken(), listener=heard)  # fmt: skip
    assert (result.status, result.frames, result.held_frames, result.encoder) == (JobStatus.done, 5, [3], "libx264")
    assert result.ffmpeg_version == ffmpeg_binary.version and result.size_bytes == (tmp_path / "ep.mp4").stat().st_size
    assert heard.said == ["started libx264 5", "verifying"]
    video = decode(tmp_path / "ep.mp4")
    assert (video.frames, video.keyframes) == (5, [0, 2, 4])
    assert files_in(tmp_path) == ["ep.mp4", "ep/frame_000000.png", "ep/frame_000001.png", "ep/frame_000002.png",
                                  "ep/frame_000004.png"]  # fmt: skip


@pytest.mark.same_on_every_ffmpeg("a dry run builds the command and runs nothing")
def test_a_dry_run_gives_the_command_and_writes_nothing(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    make_frames(tmp_path / "ep", 3)
    job = plan_job(episode(tmp_path), EncodeOptions(), X264)
    result = run_job(job, ffmpeg_binary, dry_run=True)
    assert result.status is JobStatus.planned and result.command[0] == str(ffmpeg_binary.path)
    assert result.command[-1].startswith(str(tmp_path / ".ep.mp4.")) and result.command[-1].endswith(".partial")
    assert files_in(tmp_path) == [f"ep/frame_00000{n}.png" for n in range(3)]


def test_a_video_that_appeared_meanwhile_is_kept(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    make_frames(tmp_path / "ep", 3)
    job = plan_job(episode(tmp_path), EncodeOptions(), X264)
    theirs = tmp_path / "ep.mp4"
    result = run_job(job, ffmpeg_binary, listener=At("verifying", lambda: theirs.write_bytes(b"theirs")))
    assert (result.status, result.reason) == (JobStatus.skipped, APPEARED_MEANWHILE)
    assert theirs.read_bytes() == b"theirs"
    assert [name for name in files_in(tmp_path) if not name.startswith("ep/")] == ["ep.mp4"]


def test_a_failed_hardware_encode_is_redone_on_the_cpu(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    make_frames(tmp_path / "ep", 3)
    broken = EncoderSettings(encoder="h264_nowhere", codec="h264", gop=2, hardware=True)
    job = plan_job(episode(tmp_path), EncodeOptions(), broken)
    heard = Heard()
    limiter = SessionLimiter(2)
    result = run_with_fallback(job, ffmpeg_binary, fallback=X264, limiter=limiter, listener=heard)
    assert (result.status, result.encoder, result.frames, result.notes) == (JobStatus.done, "libx264", 3, [])
    assert limiter.cap("h264_nowhere") == 2  # a failure that is not the card being full leaves the cap alone
    assert heard.said == ["started h264_nowhere 3", "falling back to libx264", "started libx264 3", "verifying"]
    assert decode(tmp_path / "ep.mp4").frames == 3

    strict = run_with_fallback(job.model_copy(update={"output": tmp_path / "strict.mp4"}), ffmpeg_binary,
                               fallback=None, limiter=SessionLimiter(2))  # fmt: skip
    assert (strict.status, strict.failure) == (JobStatus.failed, FailureKind.encoding)
    assert strict.reason is not None and re.fullmatch(r"h264_nowhere failed \(exit [1-9]\d*\): .+", strict.reason)
    assert result.fallback == strict.reason  # why the CPU took over: the same failure
    assert not (tmp_path / "strict.mp4").exists()


# Every outcome of a job, each through what the user sees of it: the result's fields, the files left, ffmpeg's own
# words. Kept to a few frames each, so that mutation testing (docs/testing.md) can run them for every mutant.


class Told(Heard):
    """Heard, and the nice value of the ffmpeg running at each progress report (from /proc: by the last report
    ffmpeg may have exited, but it is not reaped before the report is read, and a zombie keeps its stat).
    A test process already at nice 19 cannot tell one nice value from another (make mutation runs at 10)."""

    def __init__(self, ffmpeg_binary: FFmpegBinary) -> None:
        super().__init__()
        self.comm = f"({ffmpeg_binary.path.name[:15]})"  # the kernel keeps 15 bytes of a command's name
        self.nice_values: set[int] = set()

    def progress(self, progress: object) -> None:
        for pid in children_of(os.getpid()):
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            name, _, rest = stat.partition(" ")[2].rpartition(")")
            if name + ")" == self.comm:
                self.nice_values.add(int(rest.split()[16]))


def lowered(steps: int) -> int:
    """The nice value of a child run `steps` below this process (what lower_priority aims at)."""
    return min(19, os.getpriority(os.PRIO_PROCESS, 0) + steps)


def staging_of(output: Path) -> Path:
    """The one hidden staging folder beside `output` (there while the job runs)."""
    (staging,) = [path for path in hidden_files(output) if path.name.endswith(STAGING_SUFFIX)]
    return staging


def test_run_job_reports_what_it_encoded_and_runs_ffmpeg_at_the_nice_value_asked(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    make_frames(tmp_path / "ep", 3)
    job = plan_job(episode(tmp_path), EncodeOptions(), X264)
    told = Told(ffmpeg_binary)
    before = time.perf_counter()
    result = run_job(job, ffmpeg_binary, listener=told)
    took = time.perf_counter() - before
    assert (result.status, result.frames, result.frames_digest) == (JobStatus.done, 3, sequence_digest(job.frames))
    assert 0 < result.seconds <= took
    assert told.said == ["started libx264 3", "verifying"]
    assert told.nice_values == {lowered(0)}  # not lowered unless asked

    job.output = tmp_path / "low.mp4"
    low = Told(ffmpeg_binary)
    assert run_job(job, ffmpeg_binary, listener=low, nice=5).status is JobStatus.done
    assert low.nice_values == {lowered(5)}


def test_encode_one_runs_ffmpeg_below_the_recorder_in_async_mode(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    make_frames(tmp_path / "ep", 3)
    options = EncodeOptions(device="cpu", fps=10)
    assert options.nice == 10  # async, the default mode: ffmpeg yields to a recorder
    told = Told(ffmpeg_binary)
    result = encode_one(episode(tmp_path), options, plan_encoder(options, ffmpeg_binary), ffmpeg_binary,
                        limiter=SessionLimiter(2), token=CancelToken(), listener=told)  # fmt: skip
    assert result.status is JobStatus.done and told.nice_values == {lowered(10)}


def test_the_output_folder_is_made_with_its_parents(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    make_frames(tmp_path / "ep", 2)
    job = plan_job(episode(tmp_path), EncodeOptions(), X264)
    job.output = tmp_path / "videos" / "chunk-000" / "ep.mp4"
    result = run_job(job, ffmpeg_binary)
    assert result.status is JobStatus.done and decode(job.output).frames == 2
    assert files_in(tmp_path / "videos") == ["chunk-000/ep.mp4"]


def test_overwrite_replaces_an_existing_video(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    make_frames(tmp_path / "ep", 3)
    (tmp_path / "ep.mp4").write_bytes(b"old")
    options = EncodeOptions(device="cpu", overwrite=True)
    result = encode_one(episode(tmp_path), options, plan_encoder(options, ffmpeg_binary), ffmpeg_binary,
                        limiter=SessionLimiter(2), token=CancelToken())  # fmt: skip
    assert (result.status, result.reason) == (JobStatus.done, None)
    assert decode(tmp_path / "ep.mp4").frames == 3


def test_an_existing_video_is_skipped_and_names_the_ffmpeg_that_would_have_run(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    make_frames(tmp_path / "ep", 3)
    (tmp_path / "ep.mp4").write_bytes(b"old")
    options = EncodeOptions(device="cpu")
    result = encode_one(episode(tmp_path), options, plan_encoder(options, ffmpeg_binary), ffmpeg_binary,
                        limiter=SessionLimiter(2), token=CancelToken())  # fmt: skip
    assert (result.status, result.ffmpeg_path, result.ffmpeg_version) == (
        JobStatus.skipped, ffmpeg_binary.path, ffmpeg_binary.version
    )  # fmt: skip
    assert (tmp_path / "ep.mp4").read_bytes() == b"old"


@pytest.mark.same_on_every_ffmpeg("a dry run builds the command and runs nothing")
def test_encode_one_gives_a_job_the_pools_threads_unless_threads_were_asked(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    make_frames(tmp_path / "ep", 3)
    note = "no working GPU encoder for h264"
    plan = EncoderPlan(primary=X264, reason="test", fallback_note=note)
    shared = encode_one(episode(tmp_path), EncodeOptions(dry_run=True), plan, ffmpeg_binary,
                        limiter=SessionLimiter(2), token=CancelToken(), threads=1)  # fmt: skip
    asked = encode_one(episode(tmp_path), EncodeOptions(dry_run=True, threads=2), plan, ffmpeg_binary,
                       limiter=SessionLimiter(2), token=CancelToken(), threads=1)  # fmt: skip
    assert (shared.status, asked.status) == (JobStatus.planned, JobStatus.planned)
    assert threads_of(shared.command) == ["1", "1"]  # the decoder's and the encoder's
    assert threads_of(asked.command) == ["2", "2"]
    assert shared.fallback == note  # why the CPU was used from the start
    assert files_in(tmp_path) == [f"ep/frame_00000{n}.png" for n in range(3)]


def threads_of(argv: list[str]) -> list[str]:
    return [argv[index + 1] for index, arg in enumerate(argv) if arg == "-threads"]


def test_a_colour_job_on_a_failing_hardware_encoder_falls_back_with_no_note_on_colour_options(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    make_frames(tmp_path / "ep", 3)
    broken = EncoderSettings(encoder="h264_nowhere", codec="h264", gop=2, hardware=True)
    plan = EncoderPlan(primary=broken, fallback=X264, reason="test")
    options = EncodeOptions(quality=30, preset="slow")
    result = encode_one(episode(tmp_path), options, plan, ffmpeg_binary, limiter=SessionLimiter(2),
                        token=CancelToken())  # fmt: skip
    assert (result.status, result.encoder, result.notes) == (JobStatus.done, "libx264", [])
    assert result.fallback is not None and result.fallback.startswith("h264_nowhere failed (exit ")
    assert decode(tmp_path / "ep.mp4").frames == 3


def test_depth_frames_are_kept_exactly_and_say_which_colour_options_they_ignore(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    make_frames(tmp_path / "ep", 4, pix_fmt="gray16be")
    options = EncodeOptions(quality=30, preset="slow", gop=2)  # gop is not a colour option: depth frames take it
    plan = EncoderPlan(primary=X264, fallback=X264, reason="test", fallback_note="no working GPU encoder for h264")
    result = encode_one(episode(tmp_path), options, plan, ffmpeg_binary, limiter=SessionLimiter(2),
                        token=CancelToken())  # fmt: skip
    assert (result.status, result.encoder, result.fallback) == (JobStatus.done, "ffv1", None)
    assert result.depth is not None and result.depth.hashed_frames == 4
    ignored = "--quality, --preset apply to colour frames, not to depth frames (--depth lossy for that)"
    assert result.notes[-1] == ignored
    assert decode(tmp_path / "ep.mkv").frames == 4

    plain = encode_one(episode(tmp_path).model_copy(update={"output": tmp_path / "plain.mp4"}),
                       EncodeOptions(), plan, ffmpeg_binary, limiter=SessionLimiter(2),
                       token=CancelToken())  # fmt: skip
    assert plain.status is JobStatus.done and not any("colour frames" in note for note in plain.notes)


def test_depth_frames_held_over_a_gap_are_checked_against_the_hashes_the_encode_wrote(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    frames = make_frames(tmp_path / "ep", 5, pix_fmt="gray16be")
    frames[2].unlink()
    options = EncodeOptions(device="cpu", on_gap="hold")
    source = episode(tmp_path)
    job = plan_job(source, options, X264)
    assert job.encoder.keeps_depth and job.output == tmp_path / "ep.mkv"

    def garble_a_hash() -> None:  # as if frame 1 had been read as something else
        hashes = next(path for path in staging_of(job.output).iterdir() if path.suffix != ".png")
        lines = hashes.read_text().splitlines()
        at = next(index for index, line in enumerate(lines) if line.startswith("0,")) + 1
        lines[at] = lines[at].rsplit(",", 1)[0] + ", " + "0" * 32
        hashes.write_text("\n".join(lines) + "\n")

    garbled = run_job(job, ffmpeg_binary, listener=At("verifying", garble_a_hash))
    assert (garbled.status, garbled.failure) == (JobStatus.failed, FailureKind.verify)
    assert garbled.reason == "ep.mkv failed verification: frame 1 does not decode to its values in frame_000001.png"
    assert files_in(tmp_path) == ["ep/frame_000000.png", "ep/frame_000001.png", "ep/frame_000003.png",
                                  "ep/frame_000004.png"]  # fmt: skip

    def lose_the_hashes() -> None:  # then the frames are read again, through the held links
        for path in staging_of(job.output).iterdir():
            if path.suffix != ".png":
                path.unlink()

    again = run_job(job, ffmpeg_binary, listener=At("verifying", lose_the_hashes))
    assert again.status is JobStatus.done and again.depth is not None and again.depth.hashed_frames == 5
    assert again.held_frames == [2] and decode(job.output).frames == 5


def test_a_cancel_while_verifying_publishes_nothing(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    make_frames(tmp_path / "ep", 3)
    options = EncodeOptions(device="cpu")
    token = CancelToken()
    with pytest.raises(Interrupted):
        encode_one(episode(tmp_path), options, plan_encoder(options, ffmpeg_binary), ffmpeg_binary,
                   limiter=SessionLimiter(2), token=token, listener=At("verifying", token.cancel))  # fmt: skip
    assert files_in(tmp_path) == [f"ep/frame_00000{n}.png" for n in range(3)]


class CancelAtStart(Heard):
    def __init__(self, token: CancelToken) -> None:
        super().__init__()
        self.token = token

    def started(self, encoder: str, frames_total: int) -> None:
        super().started(encoder, frames_total)
        self.token.cancel()


def test_a_cancel_before_ffmpeg_starts_runs_no_ffmpeg(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    make_frames(tmp_path / "ep", 3)
    job = plan_job(episode(tmp_path), EncodeOptions(), X264)
    token = CancelToken()
    heard = CancelAtStart(token)
    with pytest.raises(Interrupted):
        run_job(job, ffmpeg_binary, token=token, listener=heard)
    assert heard.said == ["started libx264 3"]  # never came to verify a video
    assert files_in(tmp_path) == [f"ep/frame_00000{n}.png" for n in range(3)]


def test_an_os_error_fails_the_job_with_its_cause_and_file(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    make_frames(tmp_path / "ep", 2)
    job = plan_job(episode(tmp_path), EncodeOptions(), X264)
    job.output.mkdir()  # a folder where the video goes: the rename over it fails
    result = run_job(job, ffmpeg_binary, overwrite=True)
    assert (result.status, result.failure) == (JobStatus.failed, FailureKind.encoding)
    assert result.reason is not None
    assert re.fullmatch(rf"Is a directory: {re.escape(str(tmp_path))}/\.ep\.mp4\.\d+-[0-9a-f]{{6}}\.partial",
                        result.reason), result.reason  # fmt: skip
    assert files_in(tmp_path) == ["ep/frame_000000.png", "ep/frame_000001.png"]


# Frames only decoding can tell are bad: ffmpeg does not say which file it was, the job does.


def test_an_undecodable_frame_is_named_with_the_decoders_words(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    frames = make_frames(tmp_path / "ep", 5, start_number=3)
    garble_after_header(frames[2])
    result = run_job(plan_job(episode(tmp_path), EncodeOptions(), X264), ffmpeg_binary)
    assert (result.status, result.failure) == (JobStatus.failed, FailureKind.input)
    assert result.reason == f"{frames[2]} cannot be decoded: png: chunk too big"
    assert files_in(tmp_path) == sorted(f"ep/{path.name}" for path in frames)


def test_more_than_one_undecodable_frame_names_the_first_and_counts_the_rest(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    frames = make_frames(tmp_path / "ep", 5, start_number=3)
    for bad in (frames[1], frames[3]):
        garble_after_header(bad)
    result = run_job(plan_job(episode(tmp_path), EncodeOptions(), X264), ffmpeg_binary)
    assert (result.status, result.failure) == (JobStatus.failed, FailureKind.input)
    assert result.reason == f"{frames[1]} cannot be decoded: png: chunk too big (and 1 more)"


def test_an_undecodable_frame_held_over_a_gap_is_named_once(
    tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: Callable[..., list[Path]]
) -> None:
    frames = make_frames(tmp_path / "ep", 7)
    garble_after_header(frames[2])
    frames[3].unlink()
    frames[4].unlink()  # frame 2 is held over 3 and 4: three pictures that cannot be decoded, one file
    job = plan_job(episode(tmp_path), EncodeOptions(on_gap="hold"), X264)
    result = run_job(job, ffmpeg_binary)
    assert (result.status, result.failure) == (JobStatus.failed, FailureKind.input)
    assert result.reason == f"{frames[2]} cannot be decoded: png: chunk too big"


# Hardware encoders (the fake GPU of tests/fake_gpu_ffmpeg.py): a busy card, a retry, the CPU last.


def encodes_on_the_card(fake_gpu: FakeGpu) -> list[list[str]]:
    """The NVENC commands the fake GPU ran, but for the probe's test encodes (of a generated picture)."""
    return [argv for argv in fake_gpu.nvenc_commands() if "lavfi" not in argv]


SESSION_NOTE = "h264_nvenc hit its session limit; now at most {} at once"


def nvenc_job(
    tmp_path: Path, fake_gpu: FakeGpu, make_frames: Callable[..., list[Path]]
) -> tuple[FFmpegBinary, EncoderPlan, EncodeJob]:
    """Four frames, the third missing and held, planned on the fake GPU's h264_nvenc."""
    frames = make_frames(tmp_path / "ep", 4)
    frames[2].unlink()
    binary = find_ffmpeg(fake_gpu.path)
    options = EncodeOptions(device="gpu", on_gap="hold", gop=2)
    plan = plan_encoder(options, binary)
    assert plan.primary.encoder == "h264_nvenc" and plan.fallback is not None and plan.fallback.encoder == "libx264"
    return binary, plan, plan_job(episode(tmp_path), options, plan.primary)


class InSession(Heard):
    """Heard, and how many sessions of its encoder were open as each encode started."""

    def __init__(self, limiter: SessionLimiter) -> None:
        super().__init__()
        self.limiter = limiter
        self.sessions: list[int] = []

    def started(self, encoder: str, frames_total: int) -> None:
        super().started(encoder, frames_total)
        self.sessions.append(self.limiter.running(encoder))


def test_a_busy_card_lowers_the_cap_retries_once_then_falls_back_to_the_cpu(
    tmp_path: Path, fake_gpu: FakeGpu, make_frames: Callable[..., list[Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    binary, plan, job = nvenc_job(tmp_path, fake_gpu, make_frames)
    monkeypatch.setenv("FAKE_NVENC_MODE", "sessions:0")  # every NVENC encode finds the card full
    (tmp_path / "ep.mp4").write_bytes(b"old")
    limiter = SessionLimiter(3)
    heard = InSession(limiter)
    result = run_with_fallback(job, binary, fallback=plan.fallback, limiter=limiter, listener=heard, overwrite=True)
    assert (result.status, result.encoder, result.frames, result.held_frames) == (JobStatus.done, "libx264", 4, [2])
    assert result.fallback == (
        "h264_nvenc failed (exit 1): OpenEncodeSessionEx failed: incompatible client key (21): (no details)"
    )
    assert result.notes == [SESSION_NOTE.format(1), SESSION_NOTE.format(1),
                            "held 1 missing frame(s) by repeating the previous one"]  # fmt: skip
    assert limiter.cap("h264_nvenc") == 1 and limiter.running("h264_nvenc") == 0
    assert heard.said == ["started h264_nvenc 4", "started h264_nvenc 4", "falling back to libx264",
                          "started libx264 4", "verifying"]  # fmt: skip
    assert heard.sessions == [1, 1, 0]  # each try on the card held a session of it; the CPU needs none
    assert len(encodes_on_the_card(fake_gpu)) == 2  # the two tries
    assert decode(tmp_path / "ep.mp4").frames == 4  # the CPU's video, over the old file: --overwrite holds for it too


class FreedOnRetry(Heard):
    """The card is full for the first try only: another program's encode ends meanwhile."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__()
        self.monkeypatch = monkeypatch

    def started(self, encoder: str, frames_total: int) -> None:
        super().started(encoder, frames_total)
        if len(self.said) == 2:
            self.monkeypatch.setenv("FAKE_NVENC_MODE", "works")


def test_the_retry_on_the_card_runs_with_the_same_options(
    tmp_path: Path, fake_gpu: FakeGpu, make_frames: Callable[..., list[Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    binary, plan, job = nvenc_job(tmp_path, fake_gpu, make_frames)
    monkeypatch.setenv("FAKE_NVENC_MODE", "sessions:0")
    (tmp_path / "ep.mp4").write_bytes(b"old")
    limiter = SessionLimiter(2)
    heard = FreedOnRetry(monkeypatch)
    result = run_with_fallback(job, binary, fallback=plan.fallback, limiter=limiter, listener=heard, overwrite=True)
    assert (result.status, result.encoder, result.fallback) == (JobStatus.done, "h264_nvenc", None)
    assert result.notes == [SESSION_NOTE.format(1), "held 1 missing frame(s) by repeating the previous one"]
    assert heard.said == ["started h264_nvenc 4", "started h264_nvenc 4", "verifying"]
    assert decode(tmp_path / "ep.mp4").frames == 4  # overwritten, as asked


def test_a_dry_run_on_the_card_runs_nothing(
    tmp_path: Path, fake_gpu: FakeGpu, make_frames: Callable[..., list[Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    binary, plan, job = nvenc_job(tmp_path, fake_gpu, make_frames)
    monkeypatch.setenv("FAKE_NVENC_MODE", "sessions:0")
    result = run_with_fallback(job, binary, fallback=plan.fallback, limiter=SessionLimiter(2), dry_run=True)
    assert (result.status, result.encoder, result.notes) == (
        JobStatus.planned, "h264_nvenc", ["held 1 missing frame(s) by repeating the previous one"]
    )  # fmt: skip
    assert encodes_on_the_card(fake_gpu) == [] and not (tmp_path / "ep.mp4").exists()
