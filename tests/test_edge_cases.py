"""Edge cases that once slipped through: each test fails if its guard is removed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest

from encodectl.errors import VerificationError
from encodectl.ffmpeg.command import build_encode_command
from encodectl.ffmpeg.encoder_choice import plan_encoder
from encodectl.ffmpeg.encoders import ENCODERS, encoder_settings
from encodectl.frames.layout import EpisodeSource
from encodectl.job.planning import plan_job
from encodectl.job.verify import check_video, parse_framecrc
from encodectl.models import EncodeOptions, FFmpegBinary, VideoInfo
from encodectl.outputs.names import hidden_prefix
from encodectl.outputs.sweep import process_alive, remove_stale_temp_files

from .conftest import (
    BEFORE_FFMPEG,
    At,
    assert_one_line_error,
    encode_one_episode,
    files_in,
    process_state,
    run_encodectl,
)
from .corrupt import garble_after_header
from .encoder_check import encoder_argv, encoder_options, output_options, skip_unless_runnable, unknown_options


@pytest.fixture
def job(tmp_path, make_frames, ffmpeg_binary):
    make_frames(tmp_path / "ep", 4)
    options = EncodeOptions(device="cpu")
    source = EpisodeSource(directory=tmp_path / "ep", output=tmp_path / "ep.mp4", episode="ep")
    return plan_job(source, options, plan_encoder(options, ffmpeg_binary).primary)


GOOD = {"frames": 4, "fps": Fraction(30), "width": 64, "height": 48, "pix_fmt": "yuv420p", "codec": "h264",
        "timestamps_exact": True}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"frames": 3}, "3 frames instead of 4"),
        ({"fps": Fraction(25)}, "frame rate 25 instead of 30"),
        ({"timestamps_exact": False}, "frame timestamps are not evenly spaced from 0"),
        ({"width": 66}, "size 66x48 instead of 64x48"),
        ({"pix_fmt": "yuv444p"}, "pixel format yuv444p instead of yuv420p"),
        ({"codec": "hevc"}, "codec hevc instead of h264"),
    ],
)
def test_every_verification_check_can_fail(job, change, problem):
    check_video(VideoInfo(**GOOD), job, Path("ep.mp4"))  # the good case passes
    with pytest.raises(VerificationError, match=problem):
        check_video(VideoInfo(**{**GOOD, **change}), job, Path("ep.mp4"))


def test_framecrc_parsing_spots_uneven_timestamps():
    stderr = "  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, progressive), 64x48\n"
    head = "#tb 0: 1/15360\n#media_type 0: video\n#codec_id 0: h264\n#dimensions 0: 64x48\n"
    even = head + "".join(f"0, {i * 512}, {i * 512}, 512, 100, 0x0\n" for i in range(4))
    info = parse_framecrc(even, stderr, Path("x.mp4"))
    assert (info.frames, info.fps, info.timestamps_exact) == (4, Fraction(30), True)
    uneven = head + "".join(f"0, {t}, {t}, 512, 100, 0x0\n" for t in (0, 512, 1536, 2048))
    assert parse_framecrc(uneven, stderr, Path("x.mp4")).timestamps_exact is False
    late = head + "".join(f"0, {t}, {t}, 512, 100, 0x0\n" for t in (512, 1024))
    assert parse_framecrc(late, stderr, Path("x.mp4")).timestamps_exact is False


def test_one_frame_episode(tmp_path, make_frames, decoded):
    make_frames(tmp_path / "ep", 1)
    outcome = run_encodectl("encode", tmp_path / "ep")
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    assert decoded(tmp_path / "ep.mp4").frames == 1


def test_timestamp_numbered_frames_do_not_hang_and_are_not_held(tmp_path, make_frames):
    make_frames(tmp_path / "ep", 1, start_number=1_700_000_000, padding=0)
    make_frames(tmp_path / "ep", 1, start_number=1_700_050_000, padding=0)
    outcome = run_encodectl("encode", tmp_path / "ep", timeout=20)
    assert outcome.exit_code == 2
    assert "49999 frame(s) missing from the numbering (1700000001-1700049999)" in outcome.stderr
    held = run_encodectl("encode", tmp_path / "ep", "--on-gap", "hold", timeout=20)
    assert held.exit_code == 2 and "too many to hold" in held.stderr and "numbered by timestamp" in held.stderr


def test_frame_numbers_beyond_ffmpegs_reach(tmp_path, make_frames):
    make_frames(tmp_path / "ep", 1, padding=0)
    (tmp_path / "ep" / "frame_0.png").rename(tmp_path / "ep" / f"frame_{2**31}.png")  # ffmpeg cannot even write it
    outcome = run_encodectl("encode", tmp_path / "ep")
    assert outcome.exit_code == 2 and "frame numbers above 2147483647 are too large" in outcome.stderr


@BEFORE_FFMPEG
def test_mixed_zero_padding_is_refused(tmp_path, make_frames):
    make_frames(tmp_path / "ep", 3, padding=4)
    (tmp_path / "ep" / "frame_0002.png").rename(tmp_path / "ep" / "frame_2.png")
    outcome = run_encodectl("encode", tmp_path / "ep")
    assert outcome.exit_code == 2 and "frame_2.png is numbered differently" in outcome.stderr


@BEFORE_FFMPEG
def test_unrepresentable_frame_rate_is_refused_up_front(tmp_path, make_frames):
    make_frames(tmp_path / "ep", 2)
    outcome = run_encodectl("encode", tmp_path / "ep", "--fps", "29.9700299700")
    assert outcome.exit_code == 2 and "cannot be stored exactly" in outcome.stderr


@BEFORE_FFMPEG
def test_relative_output_folder_still_catches_collisions(tmp_path, make_frames, monkeypatch):
    make_frames(tmp_path / "ep1", 2)
    make_frames(tmp_path / "gen2" / "ep1", 2)
    monkeypatch.chdir(tmp_path)
    outcome = run_encodectl("encode", "ep1", "gen2", "-o", "outdir3")
    assert outcome.exit_code == 2 and "would both be written to" in outcome.stderr


def test_a_stray_preview_image_does_not_make_a_root_an_episode(tmp_path, make_frames, decoded):
    make_frames(tmp_path / "root" / "ep", 3)
    make_frames(tmp_path / "root", 1, prefix="preview", padding=0)
    (tmp_path / "root" / "preview0.png").rename(tmp_path / "root" / "preview.png")
    outcome = run_encodectl("encode", tmp_path / "root")
    assert outcome.exit_code == 0, outcome.stderr
    assert decoded(tmp_path / "root" / "ep.mp4").frames == 3


@BEFORE_FFMPEG
def test_stale_temp_files_of_dead_runs_are_swept_but_live_ones_kept(tmp_path):
    output = tmp_path / "ep.mp4"
    dead = tmp_path / ".ep.mp4.999999999-abcdef.partial"
    dead_staging = tmp_path / ".ep.mp4.999999999-abcdef.frames"
    live = tmp_path / f".ep.mp4.{os.getpid()}-abcdef.partial"
    other = tmp_path / ".other.mp4.999999999-abcdef.partial"
    stream = tmp_path / ".ep.mp4.999999999-abcdef.stream.mp4"  # maybe a recording's only copy: recover's to take
    for path in (dead, live, other, stream):
        path.write_bytes(b"x")
    dead_staging.mkdir()
    assert sorted(remove_stale_temp_files(output)) == sorted([dead, dead_staging])
    assert live.exists() and other.exists() and stream.exists() and not dead.exists()


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_a_zombie_is_not_alive():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 60
    while process_state(child.pid) != "Z" and time.monotonic() < deadline:
        time.sleep(0.02)  # it exits, and stays a zombie until we reap it
    try:
        assert process_state(child.pid) == "Z"
        assert not process_alive(child.pid)
    finally:
        child.wait()


@pytest.mark.parametrize(
    ("version", "option"), [("5.0.1", "-vsync"), ("n5.1.2", "-fps_mode"), ("N-112233-gabcdef", "-fps_mode")]
)
def test_frame_timing_option_fits_the_ffmpeg_version(job, version, option):
    binary = FFmpegBinary(path=Path("/usr/bin/ffmpeg"), version=version, source="PATH")
    argv = build_encode_command(job, binary, Path("/tmp/out.partial"))
    assert argv[argv.index(option) + 1] == "passthrough"


@pytest.mark.parametrize("encoder", list(ENCODERS))
def test_a_target_bitrate_replaces_constant_quality_on_every_encoder(ffmpeg_binary, tmp_path, make_frames, encoder):
    make_frames(tmp_path / "ep", 2)

    def argv(**options: object) -> list[str]:
        settings = encoder_settings(ENCODERS[encoder], EncodeOptions(bitrate="5M", **options))
        return encoder_argv(ffmpeg_binary, tmp_path / "ep", tmp_path / "ep.mp4", settings)

    at_bitrate = argv(quality=10)
    assert ("b:v", "5M") in output_options(at_bitrate)
    assert argv(quality=45) == at_bitrate  # --quality no longer reaches the encoder
    if encoder_options(ffmpeg_binary, encoder) is not None:  # the rate control it is switched to exists
        assert unknown_options(ffmpeg_binary, encoder, at_bitrate) == []


@pytest.mark.parametrize("encoder", [name for name, spec in ENCODERS.items() if not spec.hardware])
def test_every_software_encoder_encodes_at_a_target_bitrate(ffmpeg_binary, tmp_path, make_frames, decoded, encoder):
    skip_unless_runnable(ffmpeg_binary, encoder)
    make_frames(tmp_path / "ep", 3, (64, 64))  # SVT-AV1 before 2.0 refuses anything under 64 lines
    settings = encoder_settings(ENCODERS[encoder], EncodeOptions(bitrate="200k"))
    argv = encoder_argv(ffmpeg_binary, tmp_path / "ep", tmp_path / "ep.mp4", settings)
    completed = subprocess.run(argv, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    assert decoded(tmp_path / "ep.mp4").frames == 3


def test_input_errors_are_not_retried_on_the_cpu(tmp_path, make_frames, fake_gpu):
    frames = make_frames(tmp_path / "ep", 5)
    garble_after_header(frames[2])
    outcome = run_encodectl("encode", tmp_path / "ep", "--ffmpeg", fake_gpu.path, "--json")
    result = json.loads(outcome.stdout)["results"][0]
    assert (result["failure"], result["encoder"], result["fallback"]) == ("input", "h264_nvenc", None)
    assert "frame_000002.png cannot be decoded" in result["reason"]
    assert not any(name.endswith(".mp4") for name in files_in(tmp_path))


@BEFORE_FFMPEG
def test_binary_encoder_config_file_is_one_line(tmp_path):
    (tmp_path / "ep").mkdir()
    (tmp_path / "cfg.json").write_bytes(b"\xff\xfe\x00\x81")
    outcome = run_encodectl("encode", tmp_path / "ep", "--encoder-config", f"@{tmp_path / 'cfg.json'}")
    assert outcome.exit_code == 2 and "is not a text (JSON) file" in outcome.stderr
    assert "Traceback" not in outcome.stderr


@BEFORE_FFMPEG
@pytest.mark.parametrize("kind", ["device", "fifo", "folder", "huge"])
def test_encoder_config_file_is_capped_and_must_be_a_regular_file(tmp_path, kind):
    # /dev/zero used to be read until memory ran out, and a FIFO blocked the open for ever.
    (tmp_path / "ep").mkdir()
    paths = {"device": Path("/dev/zero"), "fifo": tmp_path / "fifo", "folder": tmp_path, "huge": tmp_path / "h.json"}
    path = paths[kind]
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "huge":
        path.write_text('{"codec": "h264"}' + " " * 70_000)  # valid JSON, but no configuration is 64 KiB
    outcome = run_encodectl("encode", tmp_path / "ep", "--encoder-config", f"@{path}", timeout=30)
    expected = "is over 64 KiB" if kind == "huge" else "is not a regular file"
    assert_one_line_error(outcome, f"--encoder-config file {path} {expected}")


def test_long_folder_names_fit_their_hidden_temporary_names(tmp_path, make_frames, decoded):
    # 245 bytes for the video's name (é is two bytes): the hidden names add about 25, over 255.
    name = "x" * 41 + "é" * 100
    make_frames(tmp_path / name, 3)
    outcome = run_encodectl("encode", tmp_path / name)
    assert outcome.exit_code == 0, outcome.stderr
    assert decoded(tmp_path / f"{name}.mp4").frames == 3
    assert files_in(tmp_path) == sorted([*(f"{name}/frame_{n:06d}.png" for n in range(3)), f"{name}.mp4"])
    output = tmp_path / f"{name}.mp4"
    prefix = hidden_prefix(output)
    assert prefix.startswith(".xxx") and prefix.endswith(".mp4.")
    assert prefix.encode("utf-8").decode("utf-8") == prefix  # shortened between characters, not inside one
    longest = [f"{prefix}9999999-abcdef.stream.mp4", f"{prefix}detached-abcdef.stream.mp4"]
    assert max(len(n.encode()) for n in longest) <= 255
    dead = tmp_path / f"{prefix}999999999-abcdef.partial"  # what a killed run left: the sweep knows it
    dead.write_bytes(b"x")
    assert remove_stale_temp_files(output) == [dead]


def test_a_stream_with_a_long_name_is_finished_too(tmp_path):
    np = pytest.importorskip("numpy")
    from encodectl import StreamEncoder

    output = tmp_path / ("s" * 245 + ".mp4")
    encoder = StreamEncoder(output, 64, 48, device="cpu")
    for value in range(5):
        encoder.add_frame(np.full((48, 64, 3), value * 40, dtype=np.uint8))
    result = encoder.close()
    assert (result.status.value, result.frames) == ("done", 5), result.reason
    assert files_in(tmp_path) == [output.name]


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_video_that_appears_meanwhile_is_kept_unless_overwrite(tmp_path, make_frames, ffmpeg_binary, overwrite):
    make_frames(tmp_path / "ep", 3)
    output = tmp_path / "ep.mp4"
    another_run = At("verifying", lambda: output.write_bytes(b"another run's verified video"))
    result = encode_one_episode(tmp_path, ffmpeg_binary, another_run, overwrite=overwrite)
    if overwrite:
        assert result.status.value == "done" and output.read_bytes() != b"another run's verified video"
    else:
        assert (result.status.value, result.reason) == (
            "skipped",
            "appeared meanwhile: another run made this video first; it is kept, this one removed",
        )
        assert output.read_bytes() == b"another run's verified video"
    assert [name for name in files_in(tmp_path) if name.startswith(".")] == []


def test_a_frame_replaced_by_one_of_another_size_during_the_encode_fails_it(tmp_path, make_frames, ffmpeg_binary):
    frames = make_frames(tmp_path / "ep", 8)
    make_frames(tmp_path / "other", 1, size=(32, 24))
    # After the frames were checked, before ffmpeg reads them: the recorder rewrites one at another size.
    replace = At("started", lambda: (tmp_path / "other" / "frame_000000.png").replace(frames[6]))
    result = encode_one_episode(tmp_path, ffmpeg_binary, replace)
    assert result.status.value == "failed", "the frame was rescaled into the video"
    assert result.failure.value == "input"
    assert result.reason == (
        f"{frames[6]} changed while it was encoded: it is now 32x24, the other frames 64x48 (ffmpeg would "
        "silently rescale it); no video kept"
    )
    assert files_in(tmp_path) == sorted(f"ep/{frame.name}" for frame in frames)


@BEFORE_FFMPEG
@pytest.mark.parametrize("how", ["renameat2", "link"])
def test_rename_without_replacing(tmp_path, monkeypatch, how):
    from encodectl import syscalls

    if how == "link":  # a C library or kernel without renameat2
        monkeypatch.setattr(syscalls, "_libc_function", lambda name: None)
    (tmp_path / "a").write_text("new")
    (tmp_path / "b").write_text("old")
    with pytest.raises(FileExistsError):
        syscalls.rename_noreplace(tmp_path / "a", tmp_path / "b")
    assert ((tmp_path / "a").read_text(), (tmp_path / "b").read_text()) == ("new", "old")
    syscalls.rename_noreplace(tmp_path / "a", tmp_path / "c")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "c"]
