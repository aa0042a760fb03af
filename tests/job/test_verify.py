"""encodectl.job.verify: reading a video back with the real ffmpeg, and every check made on what it finds.

The videos are made by ffmpeg from its test source (64x48, a few frames) once per module; the checks
of frame counts, rates and spans are fed FrameTimes as ffmpeg reported them or, for the edge of a
tolerance, written out here tick by tick.
"""

from __future__ import annotations

import os
import struct
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from encodectl.errors import VerificationError
from encodectl.ffmpeg.command import image2_pattern
from encodectl.ffmpeg.encoder_choice import plan_encoder
from encodectl.frames.layout import EpisodeSource
from encodectl.frames.sequence import scan_frames
from encodectl.job import verify
from encodectl.job.planning import plan_job
from encodectl.job.verify import EpisodeSpan, FrameTimes
from encodectl.models import (
    EncodeJob,
    EncodeOptions,
    EncoderSettings,
    FFmpegBinary,
    FileIdentity,
    GapPolicy,
    JobStatus,
    VideoInfo,
)  # fmt: skip
from tests.conftest import At, encode_one_episode

H264 = EncoderSettings(encoder="libx264", codec="h264", gop=10)


def make_video(ffmpeg: FFmpegBinary, path: Path, frames: int, rate: str, *extra: str) -> Path:
    argv = [
        str(ffmpeg.path), "-v", "error", "-f", "lavfi", "-i", f"testsrc=size=64x48:rate={rate}",
        "-frames:v", str(frames), "-c:v", "libx264", "-pix_fmt", "yuv420p", *extra, str(path),
    ]  # fmt: skip
    subprocess.run(argv, check=True, capture_output=True)
    return path


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory, ffmpeg_binary: FFmpegBinary) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("videos")
    return {
        "mp4": make_video(ffmpeg_binary, folder / "ten.mp4", 10, "10"),
        "one": make_video(ffmpeg_binary, folder / "one.mp4", 1, "10"),
        "mkv": make_video(ffmpeg_binary, folder / "thirty.mkv", 6, "30"),  # Matroska: millisecond ticks
    }


def times(pts: list[int], time_base: tuple[int, int] = (1, 10), frames: int | None = None) -> FrameTimes:
    info = VideoInfo(
        frames=len(pts) if frames is None else frames, fps=Fraction(10), width=64, height=48, pix_fmt="yuv420p",
        codec="h264", timestamps_exact=True,
    )  # fmt: skip
    return FrameTimes(video=info, pts=pts, end=pts[-1] + 1 if pts else 0, time_base=time_base)


# Reading back


@pytest.mark.parametrize("mode", list(verify.VerifyMode))
def test_read_video(ffmpeg_binary: FFmpegBinary, videos: dict[str, Path], mode: verify.VerifyMode) -> None:
    info = verify.read_video(ffmpeg_binary, videos["mp4"], mode)
    assert info == VideoInfo(
        frames=10, fps=Fraction(10), width=64, height=48, pix_fmt="yuv420p", codec="h264", timestamps_exact=True
    )


def test_frame_times_of_an_mp4(ffmpeg_binary: FFmpegBinary, videos: dict[str, Path]) -> None:
    found = verify.read_frame_times(ffmpeg_binary, videos["mp4"])
    step = found.pts[1]
    assert found.pts == [i * step for i in range(10)]
    assert found.end == 10 * step  # the last frame's start plus its duration
    assert found.seconds(found.pts[3]) == Fraction(3, 10)
    assert found.seconds(found.end) == 1
    assert found.extradata is not None and found.extradata == " ".join(found.extradata.split())


def test_a_one_frame_video(ffmpeg_binary: FFmpegBinary, videos: dict[str, Path]) -> None:
    info = verify.read_video(ffmpeg_binary, videos["one"])
    assert (info.frames, info.fps, info.timestamps_exact) == (1, Fraction(10), True)


def test_millisecond_ticks_pass_only_with_the_rate_they_should_have(
    ffmpeg_binary: FFmpegBinary, videos: dict[str, Path]
) -> None:
    bare = verify.read_frame_times(ffmpeg_binary, videos["mkv"])
    assert bare.time_base == (1, 1000)
    assert bare.pts == [0, 33, 67, 100, 133, 167]
    assert not bare.video.timestamps_exact and bare.video.timestamp_tolerance_s == 0
    assert bare.video.fps == Fraction(5, Fraction(167, 1000))  # the mean rate, for the error message
    told = verify.read_video(ffmpeg_binary, videos["mkv"], fps=Fraction(30))
    assert (told.fps, told.timestamps_exact, told.timestamp_tolerance_s) == (Fraction(30), True, 0.0005)
    wrong = verify.read_video(ffmpeg_binary, videos["mkv"], fps=Fraction(25))
    assert not wrong.timestamps_exact and wrong.fps != Fraction(25)


def test_what_ffmpeg_cannot_read_back(ffmpeg_binary: FFmpegBinary, tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 10)
    with pytest.raises(VerificationError) as caught:
        verify.read_video(ffmpeg_binary, junk)
    assert str(caught.value).startswith(f"ffmpeg cannot read back {junk}: ")
    assert "\n" not in str(caught.value)


def test_a_listing_without_a_video_stream(tmp_path: Path) -> None:
    listing = "#tb 0: 1/10\n#dimensions 0: 64x48\n0, 0, 0, 1, 100, 0x1\n"
    stream = "  Stream #0:0: Video: h264 (High), yuv420p(progressive), 64x48"
    assert verify.parse_framecrc(listing, stream, tmp_path / "v.mp4").frames == 1
    for stdout, stderr in [
        (listing, "  Stream #0:0: Audio: aac"),
        (listing.replace("#tb", "#tx"), stream),
        (listing.replace("#dimensions", "#size"), stream),
    ]:
        with pytest.raises(VerificationError) as caught:
            verify.parse_frame_times(stdout, stderr, tmp_path / "v.mp4")
        assert str(caught.value) == f"{tmp_path / 'v.mp4'} has no readable video stream"


def test_a_listing_read_in_timestamp_order(tmp_path: Path) -> None:
    """B-frames are listed in decoding order; the frames are counted in presentation order."""
    listing = "#tb 0: 1/10\n#dimensions 0: 64x48\n\n0, 0, 0, 1, 9, 0x1\n0, 2, 2, 1, 9, 0x1\n0, 1, 1, 1, 9, 0x1\n"
    stream = "  Stream #0:0: Video: h264 (High), yuv420p(progressive), 64x48"
    found = verify.parse_frame_times(listing, stream, tmp_path / "v.mp4")
    assert (found.pts, found.end, found.extradata) == ([0, 1, 2], 3, None)
    assert (found.video.fps, found.video.timestamps_exact, found.video.pix_fmt) == (Fraction(10), True, "yuv420p")
    extradata = "#extradata 0:   42,   0x1234abcd\n"
    assert verify.parse_frame_times(extradata + listing, stream, tmp_path / "v").extradata == "42, 0x1234abcd"


@pytest.mark.parametrize(
    ("packets", "rate", "exact"),
    [
        ([], None, False),
        ([(0, 2)], Fraction(5), True),  # one frame: its duration is the rate
        ([(3, 2)], Fraction(5), False),  # ... but not from 0
        ([(0, 0)], None, True),
        ([(0, 1), (1, 1), (2, 1)], Fraction(10), True),
        ([(1, 1), (2, 1), (3, 1)], Fraction(10), False),  # evenly spaced, but not from 0
        ([(0, 1), (1, 1), (3, 1)], Fraction(20, 3), False),  # uneven: the mean rate
        ([(0, 1), (0, 1)], None, False),
        ([(0, 2), (2, 2), (4, 2), (6, 2)], Fraction(5), True),
    ],
)
def test_rate_from_timestamps(packets: list[tuple[int, int]], rate: Fraction | None, exact: bool) -> None:
    assert verify._rate_from_timestamps(packets, Fraction(1, 10)) == (rate, exact)


def test_nearest_ticks() -> None:
    tb, fps = Fraction(1, 1000), Fraction(30)
    assert verify._on_nearest_ticks([0, 33, 67, 100], tb, fps)
    assert verify._on_nearest_ticks([0, 33, 66, 100], tb, fps) is False  # 66.67 ms rounds to 67
    assert verify._on_nearest_ticks([0, 34], tb, fps) is False
    assert verify._on_nearest_ticks([1], tb, fps) is False
    # Exactly half a tick away is on the nearest tick either way (a tie).
    assert verify._on_nearest_ticks([0, 1], Fraction(1, 4), Fraction(8, 3))
    assert verify._on_nearest_ticks([], tb, fps) is False


# Where each frame of an episode sits


def test_spans_found_where_a_reader_asks(ffmpeg_binary: FFmpegBinary, videos: dict[str, Path]) -> None:
    found = verify.read_frame_times(ffmpeg_binary, videos["mp4"])
    spans = [
        EpisodeSpan(label="a", start=Fraction(0), frames=4),
        EpisodeSpan(label="b", start=Fraction(4, 10), frames=6),
    ]
    verify.check_episode_spans(found, spans, Fraction(10), 10, 1e-4, videos["mp4"])


def test_an_episode_half_a_frame_late(ffmpeg_binary: FFmpegBinary, videos: dict[str, Path]) -> None:
    found = verify.read_frame_times(ffmpeg_binary, videos["mp4"])
    spans = [
        EpisodeSpan(label="a", start=Fraction(0), frames=4),
        EpisodeSpan(label="b", start=Fraction(45, 100), frames=6),
    ]
    with pytest.raises(VerificationError) as caught:
        verify.check_episode_spans(found, spans, Fraction(10), 10, 1e-4, videos["mp4"])
    assert str(caught.value) == "ten.mp4 failed verification: b frame 0 is not at 0.450000 s"


def test_the_tolerance_is_strict() -> None:
    """A frame exactly the tolerance away is refused (LeRobot: within, strictly); a hair closer is found."""
    found = times([0, 4, 8], time_base=(1, 4))  # frames at 0, 1 and 2 s
    span = [EpisodeSpan(label="e", start=Fraction(1, 4), frames=3)]
    verify.check_episode_spans(found, span, Fraction(1), 3, 0.5, Path("v.mp4"))
    with pytest.raises(VerificationError, match=r"^v\.mp4 failed verification: e frame 0 is not at 0\.500000 s$"):
        verify.check_episode_spans(found, [EpisodeSpan(label="e", start=Fraction(1, 2), frames=1)], Fraction(1), 3,
                                   0.5, Path("v.mp4"))  # fmt: skip
    # Early by less than the tolerance: found as well.
    verify.check_episode_spans(found, [EpisodeSpan(label="e", start=Fraction(-1, 4), frames=3)], Fraction(1), 3, 0.5,
                               Path("v.mp4"))  # fmt: skip


def test_frames_past_the_end_and_the_count() -> None:
    found = times(list(range(10)))
    with pytest.raises(VerificationError) as caught:
        verify.check_episode_spans(found, [EpisodeSpan(label="a", start=Fraction(0), frames=12)], Fraction(10), 12,
                                   1e-4, Path("v.mp4"))  # fmt: skip
    assert str(caught.value) == "v.mp4 failed verification: 10 frames instead of 12; a frame 10 is not at 1.000000 s"


def test_one_problem_per_span_and_at_most_three_shown() -> None:
    found = times(list(range(10)))
    spans = [
        EpisodeSpan(label=label, start=Fraction(k, 20), frames=3)
        for label, k in zip("abcde", [1, 3, 5, 7, 9], strict=True)
    ]
    with pytest.raises(VerificationError) as caught:
        verify.check_episode_spans(found, spans, Fraction(10), 10, 1e-4, Path("v.mp4"))
    assert str(caught.value) == (
        "v.mp4 failed verification: a frame 0 is not at 0.050000 s; b frame 0 is not at 0.150000 s; "
        "c frame 0 is not at 0.250000 s (and 2 more)"
    )
    with pytest.raises(VerificationError) as caught:
        verify.check_episode_spans(found, spans[:3], Fraction(10), 10, 1e-4, Path("v.mp4"))
    assert str(caught.value).endswith("c frame 0 is not at 0.250000 s")


# The video against what the job asked for


def info(**changes: object) -> VideoInfo:
    base = VideoInfo(
        frames=10, fps=Fraction(10), width=64, height=48, pix_fmt="yuv420p", codec="h264", timestamps_exact=True
    )
    return base.model_copy(update=changes)


@pytest.mark.parametrize(
    ("found", "problems"),
    [
        (info(), None),
        (info(frames=9), "9 frames instead of 10"),
        (info(fps=Fraction(5)), "frame rate 5 instead of 10"),
        (info(fps=Fraction(5), timestamps_exact=False), "frame rate 5 instead of 10"),  # one word on timing
        (info(timestamps_exact=False), "frame timestamps are not evenly spaced from 0"),
        (info(width=62), "size 62x48 instead of 64x48"),
        (info(height=46), "size 64x46 instead of 64x48"),
        (info(codec="hevc"), "codec hevc instead of h264"),
        (info(pix_fmt="yuv444p"), "pixel format yuv444p instead of yuv420p"),
        (info(frames=1, codec="hevc", pix_fmt="gray"),
         "1 frames instead of 10; codec hevc instead of h264; pixel format gray instead of yuv420p"),
    ],
)  # fmt: skip
def test_check_expected(found: VideoInfo, problems: str | None) -> None:
    if problems is None:
        verify.check_expected(found, 10, Fraction(10), 64, 48, H264, Path("/x/v.mp4"))
        return
    with pytest.raises(VerificationError) as caught:
        verify.check_expected(found, 10, Fraction(10), 64, 48, H264, Path("/x/v.mp4"))
    assert str(caught.value) == f"v.mp4 failed verification: {problems}"


@pytest.fixture
def job(tmp_path: Path, make_frames: object) -> EncodeJob:
    """Frames 0, 1, 4, 5 of 64x48 (a gap of two, held), for a video of six."""
    folder = tmp_path / "ep"
    make_frames(folder, 6)  # type: ignore[operator]
    for number in (2, 3):
        (folder / f"frame_{number:06d}.png").unlink()
    return EncodeJob(frames=scan_frames(folder), output=tmp_path / "out" / "ep.mp4", episode="ep", fps=Fraction(10),
                     encoder=H264, on_gap=GapPolicy.hold)  # fmt: skip


def test_check_video_uses_the_job(job: EncodeJob) -> None:
    verify.check_video(info(frames=6), job, job.output)
    with pytest.raises(VerificationError, match=r"^ep\.mp4 failed verification: 10 frames instead of 6$"):
        verify.check_video(info(), job, job.output)


def test_verify_output(ffmpeg_binary: FFmpegBinary, videos: dict[str, Path], job: EncodeJob) -> None:
    with pytest.raises(VerificationError) as caught:
        verify.verify_output(ffmpeg_binary, job, videos["mp4"])
    assert str(caught.value) == "ep.mp4 failed verification: 10 frames instead of 6"
    ten = job.model_copy(update={"on_gap": GapPolicy.error})
    ten.frames = ten.frames.model_copy(update={"numbers": list(range(10)), "gaps": []})
    assert verify.verify_output(ffmpeg_binary, ten, videos["mp4"]) == (info(), 0)


def test_source_frame_of_a_held_frame(job: EncodeJob) -> None:
    folder = job.frames.directory
    expected = [0, 1, 1, 1, 4, 5]  # frames 2 and 3 hold frame 1
    assert [verify.source_frame(job, i) for i in range(6)] == [folder / f"frame_{n:06d}.png" for n in expected]


def test_undecodable_frames(ffmpeg_binary: FFmpegBinary, tmp_path: Path, make_frames: object) -> None:
    folder = tmp_path / "ep"
    make_frames(folder, 5, start_number=3)  # type: ignore[operator]
    job = EncodeJob(frames=scan_frames(folder), output=tmp_path / "ep.mp4", episode="ep", fps=Fraction(10),
                    encoder=H264)  # fmt: skip
    pattern = image2_pattern(folder, "frame_", 6, ".png")
    assert verify.undecodable_frames(ffmpeg_binary, job, pattern, 3) == []
    bad = folder / "frame_000005.png"
    data = bad.read_bytes()
    bad.write_bytes(data[:40] + bytes(len(data) - 52) + data[-12:])  # header and end kept, the pixels zeroed
    assert verify.undecodable_frames(ffmpeg_binary, job, pattern, 3) == [5]


# The hashes the encode wrote, standing for the frames


def test_hashes_of_the_encode(tmp_path: Path, job: EncodeJob) -> None:
    listing = tmp_path / "source.framehash"
    rows = [f"0, {i}, {i}, 1, 9216, {i:032x}" for i in range(6)]
    listing.write_text("#format: frame checksums\n#tb 0: 1/10\n\n" + "\n".join(rows) + "\n1, 0, 0, 1, 9216, ffff\n")
    assert verify._hashes_of_encode(job, None) is None
    assert verify._hashes_of_encode(job, tmp_path / "absent") is None
    assert verify._hashes_of_encode(job, listing) == [f"{i:032x}" for i in range(6)]
    listing.write_text("\n".join(rows[:5]) + "\n")
    assert verify._hashes_of_encode(job, listing) is None  # one short of the frames the video holds
    listing.write_text("\n".join(rows) + "\n")
    frame = job.frames.path(4)
    frame.write_bytes(frame.read_bytes())  # rewritten since it was checked
    assert FileIdentity.of_path(frame) != job.frames.identities[4]
    assert verify._hashes_of_encode(job, listing) is None


# MP4 boxes


def box(kind: bytes, body: bytes = b"") -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def test_mp4_boxes_of_a_real_video(videos: dict[str, Path], tmp_path: Path) -> None:
    kinds = verify.mp4_boxes(videos["mp4"])
    assert kinds[0] == b"ftyp" and b"moov" in kinds and b"mdat" in kinds
    assert verify.mp4_complete(videos["mp4"])
    cut = tmp_path / "cut.mp4"
    data = videos["mp4"].read_bytes()
    cut.write_bytes(data[:-1])
    assert verify.mp4_boxes(cut) == kinds[:-1]
    cut.write_bytes(data[: len(data) // 2])
    assert kinds[-1] == b"moov"  # ffmpeg writes the index last: a video cut short has none
    assert not verify.mp4_complete(cut)


@pytest.mark.parametrize(
    ("data", "kinds", "complete"),
    [
        (box(b"ftyp", b"isom") + box(b"moov", b"x") + box(b"mdat", b"y" * 9), [b"ftyp", b"moov", b"mdat"], True),
        (box(b"ftyp") + box(b"mdat"), [b"ftyp", b"mdat"], False),  # no index of the frames
        (box(b"ftyp") + box(b"moov"), [b"ftyp", b"moov"], False),
        # A 64-bit size after the type, and a last box that runs to the end of the file (size 0).
        (box(b"moov") + struct.pack(">I4sQ", 1, b"mdat", 20) + b"abcd" + struct.pack(">I4s", 0, b"free") + b"zz",
         [b"moov", b"mdat", b"free"], True),
        (box(b"moov") + struct.pack(">I4s", 7, b"mdat") + b"x" * 20, [b"moov"], False),  # a size below its header
        (box(b"moov") + struct.pack(">I4s", 30, b"mdat") + b"x" * 21, [b"moov"], False),  # past the end: cut off
        (box(b"moov") + struct.pack(">I4s", 29, b"mdat") + b"x" * 21, [b"moov", b"mdat"], True),
        (box(b"moov") + b"mdat", [b"moov"], False),  # fewer than 8 bytes left
        (box(b"moov") + struct.pack(">I4s", 1, b"mdat"), [b"moov"], False),  # a 64-bit size that is not there
    ],
)  # fmt: skip
def test_mp4_boxes(tmp_path: Path, data: bytes, kinds: list[bytes], complete: bool) -> None:
    path = tmp_path / "v.mp4"
    path.write_bytes(data)
    assert verify.mp4_boxes(path) == kinds
    assert verify.mp4_complete(path) is complete


def test_mp4_that_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "v.mp4"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="is not a regular file"):
        verify.mp4_boxes(fifo)
    assert verify.mp4_complete(fifo) is False  # and it never waits on the FIFO
    assert verify.mp4_complete(tmp_path / "absent.mp4") is False


# Depth frames kept exactly: the decoded video against the frames, hash by hash


@pytest.fixture
def depth_encoded(tmp_path: Path, ffmpeg_binary: FFmpegBinary, make_frames: object) -> tuple[EncodeJob, Path]:
    """Five 16-bit depth frames encoded losslessly by encodectl itself (so the verify path runs as it does)."""
    make_frames(tmp_path / "ep", 5, pix_fmt="gray16be")  # type: ignore[operator]
    result = encode_one_episode(tmp_path, ffmpeg_binary, At("never", lambda: None))
    assert result.status is JobStatus.done and result.depth is not None
    assert result.depth.hashed_frames == 5  # every frame compared, and identical
    options = EncodeOptions(device="cpu")
    source = EpisodeSource(directory=tmp_path / "ep", output=tmp_path / "ep.mp4", episode="ep")
    job = plan_job(source, options, plan_encoder(options, ffmpeg_binary).primary)
    assert job.encoder.keeps_depth and result.output == job.output
    return job, result.output


def test_depth_frames_decode_to_their_values(
    ffmpeg_binary: FFmpegBinary, depth_encoded: tuple[EncodeJob, Path]
) -> None:
    job, video = depth_encoded
    found, hashed = verify.verify_output(ffmpeg_binary, job, video)
    assert (found.frames, hashed, found.pix_fmt) == (5, 5, job.encoder.pix_fmt)


def test_depth_frame_rewritten_after_the_encode(
    ffmpeg_binary: FFmpegBinary, depth_encoded: tuple[EncodeJob, Path], make_frames: object, tmp_path: Path
) -> None:
    job, video = depth_encoded
    other = make_frames(tmp_path / "other", 5, pix_fmt="gray16be", seed=7)  # type: ignore[operator]
    job.frames.path(3).write_bytes(other[3].read_bytes())
    with pytest.raises(VerificationError) as caught:
        verify.verify_output(ffmpeg_binary, job, video)
    assert (
        str(caught.value)
        == f"{video.name} failed verification: frame 3 does not decode to its values in frame_000003.png"
    )


def test_depth_hashes_from_the_encode(ffmpeg_binary: FFmpegBinary, depth_encoded: tuple[EncodeJob, Path]) -> None:
    job, video = depth_encoded
    from encodectl.ffmpeg.process import capture
    from encodectl.ffmpeg.readback_command import build_video_hash_command

    listing = capture(build_video_hash_command(ffmpeg_binary, video, job.encoder.pix_fmt)).stdout
    decoded = [line.rsplit(",", 1)[1].strip() for line in listing.splitlines() if line and line[0] != "#"]
    assert len(decoded) == 5 and len(set(decoded)) == 5  # hashed as the encode hashes its frames
    assert verify._check_depth_frames(ffmpeg_binary, job, video, None, decoded)[1] == 5
    wrong = [*decoded[:2], "0" * 32, *decoded[3:]]
    with pytest.raises(VerificationError, match=r"failed verification: frame 2 does not decode to its values in "):
        verify._check_depth_frames(ffmpeg_binary, job, video, None, wrong)
    with pytest.raises(VerificationError) as caught:
        verify._check_depth_frames(ffmpeg_binary, job, video, None, decoded[:4])
    assert str(caught.value) == (
        f"{video.name} failed verification: only 4 of its 5 source frames could be read again to compare it with"
    )
