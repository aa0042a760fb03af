"""Bad input: one clear line, a non-zero exit, and nothing at the output path (never a wrong video)."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import pytest

from .conftest import BEFORE_FFMPEG, assert_one_line_error, files_in, run_encodectl
from .corrupt import (
    damage_jpeg_huffman_table,
    garble_after_header,
    garble_jpeg_scan,
    garble_png_image_data,
    png_bad_bit_depth,
)


@BEFORE_FFMPEG
def test_gap_in_numbering_is_an_error_listing_the_missing_frames(tmp_path, make_frames):
    frames = make_frames(tmp_path / "ep", 13)
    for path in frames[5:10]:
        path.unlink()

    outcome = run_encodectl("encode", tmp_path / "ep")

    assert_one_line_error(outcome, "5 frame(s) missing from the numbering (5-9)", "--on-gap hold")
    assert not (tmp_path / "ep.mp4").exists()
    assert files_in(tmp_path) == sorted(f"ep/{p.name}" for p in frames[:5] + frames[10:])


def test_on_gap_hold_keeps_the_timeline(tmp_path, make_frames, cli, decoded):
    frames = make_frames(tmp_path / "ep", 13)
    for path in frames[5:10]:
        path.unlink()

    outcome = cli("encode", tmp_path / "ep", "--on-gap", "hold", "--json")

    assert outcome.exit_code == 0, outcome.stderr
    result = outcome.json()["results"][0]
    assert result["frames"] == 13 and result["source_frames"] == 8
    assert result["held_frames"] == [5, 6, 7, 8, 9]
    video = decoded(tmp_path / "ep.mp4")
    assert video.frames == 13
    assert video.timestamps[-1] == Fraction(12, 30)
    assert not any(p.name.endswith((".partial", ".frames")) for p in tmp_path.iterdir())


@BEFORE_FFMPEG
@pytest.mark.parametrize("kind", ["folder", "broken link", "FIFO"])
def test_something_else_in_place_of_a_frame_is_named_and_never_held_over(tmp_path, make_frames, cli, kind):
    frames = make_frames(tmp_path / "ep", 5)
    frames[2].unlink()
    if kind == "folder":
        frames[2].mkdir()
    elif kind == "broken link":
        frames[2].symlink_to(tmp_path / "gone.png")
    else:
        os.mkfifo(frames[2])
    outcome = cli("encode", tmp_path / "ep", "--on-gap", "hold")
    what = f"a broken link (to {tmp_path / 'gone.png'})" if kind == "broken link" else f"a {kind}"
    assert_one_line_error(outcome, f"{frames[2]} is {what}, not a frame file")
    assert not (tmp_path / "ep.mp4").exists()


@BEFORE_FFMPEG
@pytest.mark.parametrize("command", ["encode", "check"])
def test_a_path_that_is_a_link_loop_or_a_broken_link_says_so(tmp_path, cli, command):
    """Not "does not exist" (nor, for watch, "create it"): the path is there, a link that cannot be followed."""
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert_one_line_error(cli(command, tmp_path / "a"), f"{tmp_path / 'a'} is a symbolic link that loops")
    (tmp_path / "broken").symlink_to(tmp_path / "gone")
    assert_one_line_error(
        cli(command, tmp_path / "broken"), f"{tmp_path / 'broken'} is a broken link (to {tmp_path / 'gone'})"
    )
    assert_one_line_error(cli(command, tmp_path / "absent"), f"{tmp_path / 'absent'} does not exist")


@BEFORE_FFMPEG
def test_watch_on_a_link_that_loops_says_so(tmp_path, cli):
    (tmp_path / "a").symlink_to(tmp_path / "a")
    outcome = cli("watch", tmp_path / "a")
    assert outcome.exit_code != 0
    assert outcome.stderr.strip() == f"encodectl: error: {tmp_path / 'a'} is a symbolic link that loops"


@BEFORE_FFMPEG
def test_frame_of_another_size_is_named(tmp_path, make_frames):
    make_frames(tmp_path / "ep", 6)
    make_frames(tmp_path / "other", 1, size=(32, 24), start_number=3)
    (tmp_path / "other" / "frame_000003.png").replace(tmp_path / "ep" / "frame_000003.png")

    outcome = run_encodectl("encode", tmp_path / "ep")

    assert_one_line_error(outcome, "frame_000003.png is 32x24 but the first frame is 64x48")
    assert not (tmp_path / "ep.mp4").exists()


@BEFORE_FFMPEG
def test_truncated_frame_is_named(tmp_path, make_frames):
    frames = make_frames(tmp_path / "ep", 6)
    data = frames[2].read_bytes()
    frames[2].write_bytes(data[: len(data) // 2])

    outcome = run_encodectl("encode", tmp_path / "ep")

    assert_one_line_error(outcome, "frame_000002.png is truncated")
    assert not (tmp_path / "ep.mp4").exists()


def test_corrupt_frame_with_intact_header_and_tail_fails_the_encode(tmp_path, make_frames):
    # Header and end chunk intact, compressed data garbled: only decoding can tell, so ffmpeg's
    # decode error must fail the job instead of yielding a video with a bad frame.
    frames = make_frames(tmp_path / "ep", 6)
    garble_after_header(frames[3])

    outcome = run_encodectl("encode", tmp_path / "ep", "--json")

    assert outcome.exit_code == 2
    result = outcome.json()["results"][0]
    assert result["status"] == "failed" and result["failure"] == "input"
    # ffmpeg does not say which file was bad; encodectl finds and names it.
    assert result["reason"].startswith(f"{tmp_path / 'ep' / 'frame_000003.png'} cannot be decoded: png: ")
    assert files_in(tmp_path) == sorted(f"ep/{p.name}" for p in frames)

    plain = run_encodectl("encode", tmp_path / "ep", "--on-gap", "hold")
    assert_one_line_error(plain, "frame_000003.png cannot be decoded")


def test_a_corrupt_frame_held_over_a_gap_is_named_once(tmp_path, make_frames):
    frames = make_frames(tmp_path / "ep", 8)
    garble_after_header(frames[3])
    frames[4].unlink()
    frames[5].unlink()  # frame 3 is held over 4 and 5: three undecodable pictures, one bad file
    outcome = run_encodectl("encode", tmp_path / "ep", "--on-gap", "hold")
    assert_one_line_error(outcome, "frame_000003.png cannot be decoded")
    assert "more)" not in outcome.stderr


@pytest.mark.parametrize(
    ("extension", "damage", "message"),
    [
        (".png", garble_after_header, "png: chunk too big"),
        (".png", garble_png_image_data, "png: inflate returned error -3"),
        (".png", png_bad_bit_depth, "png: Invalid bit depth"),
        (".jpg", damage_jpeg_huffman_table, "mjpeg: huffman table decode error"),
        # Its words depend on the bytes and the build: "error count: 64", "mjpeg_decode_dc: bad vlc: 0", ...
        (".jpg", garble_jpeg_scan, "mjpeg: "),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_every_kind_of_undecodable_frame_is_named_with_the_decoders_words(
    tmp_path, make_frames, cli, extension, damage, message
):
    # ffmpeg 4.x and 5.x print only the decoder's line ("[png @ 0x…] chunk too big"), 6 and later add
    # generic lines after it; the same frame must be named, with the same words, on every build.
    # The garbled JPEG scan is one the decoder would hide (exit 0, a smeared picture) unless told not to.
    frames = make_frames(tmp_path / "ep", 5, extension=extension)
    damage(frames[2])

    outcome = cli("encode", tmp_path / "ep", "--json")

    assert outcome.exit_code == 2, outcome.stdout
    result = outcome.json()["results"][0]
    assert (result["status"], result["failure"]) == ("failed", "input")
    assert result["reason"].startswith(f"{frames[2]} cannot be decoded: {message}"), result["reason"]
    assert files_in(tmp_path) == sorted(f"ep/{p.name}" for p in frames)


@BEFORE_FFMPEG
def test_file_that_is_not_an_image(tmp_path, make_frames):
    make_frames(tmp_path / "ep", 4)
    (tmp_path / "ep" / "frame_000004.png").write_text("not a picture")

    outcome = run_encodectl("encode", tmp_path / "ep")

    assert_one_line_error(outcome, "frame_000004.png is not a PNG, JPEG or TIFF image")


@BEFORE_FFMPEG
def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    assert_one_line_error(run_encodectl("encode", tmp_path / "empty"), "no frames found in", "empty")


@BEFORE_FFMPEG
def test_folder_with_only_other_files(tmp_path):
    (tmp_path / "ep").mkdir()
    (tmp_path / "ep" / "notes.txt").write_text("hello")
    assert_one_line_error(run_encodectl("encode", tmp_path / "ep"), "no frames found")


@BEFORE_FFMPEG
def test_missing_path(tmp_path):
    assert_one_line_error(run_encodectl("encode", tmp_path / "nope"), "nope does not exist")


@BEFORE_FFMPEG
def test_mixed_sequences_and_duplicate_numbers(tmp_path, make_frames):
    make_frames(tmp_path / "ep", 3)
    make_frames(tmp_path / "ep", 3, prefix="left_")
    assert_one_line_error(run_encodectl("encode", tmp_path / "ep"), "mixes several frame sequences")

    make_frames(tmp_path / "dup", 3)
    (tmp_path / "dup" / "frame_000001.png").rename(tmp_path / "dup" / "frame_1.png")
    make_frames(tmp_path / "dup", 1, start_number=1)
    assert_one_line_error(run_encodectl("encode", tmp_path / "dup"), "frame number 1 appears twice")


@BEFORE_FFMPEG
def test_empty_episode_in_a_dataset_is_reported(tmp_path, ffmpeg_binary, cli):
    from encodectl.frames.synthetic import write_dataset

    write_dataset(ffmpeg_binary, tmp_path / "ds", cameras=1, episodes=1, frames=3)
    (tmp_path / "ds/images/observation.images.top/episode_000001").mkdir()
    outcome = cli("encode", tmp_path / "ds", "--json")
    assert outcome.exit_code == 1
    failed = [r for r in outcome.json()["results"] if r["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["failure"] == "input"
    assert "no frames in" in failed[0]["reason"]


@BEFORE_FFMPEG
@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--fps", "abc"], "invalid --fps"),
        (["--fps", "0"], "invalid --fps"),
        (["--quality", "80"], "invalid --quality"),
        (["--encoder", "h263_magic"], "unknown encoder 'h263_magic'"),
        (["--preset", "ludicrous"], "preset 'ludicrous' does not fit libx264"),
        (["--ffmpeg", "/no/such/ffmpeg"], "does not exist"),
        (["--profile", "lerobot", "--device", "gpu"], "--profile lerobot fixes LeRobot's encoder settings"),
        (["--profile", "lerobot", "--quality", "20", "--preset", "slow"], "drop --preset, --quality or the profile"),
        (["--codec", "hevc", "--encoder", "libx264"], "--encoder libx264 makes h264, but --codec hevc was asked"),
        (["-o", "clip.avi"], "encodectl writes .mp4 videos (.mkv for depth frames kept exactly)"),
        (["-o", "clip.mkv"], "these frames become an MP4; name a .mp4 file"),
        (["--depth", "exact"], "'exact' is not one of 'lossless', 'lerobot', 'lossy'"),
        (["--workers", "many"], "invalid --workers"),
        (["--fps", "0"], "frame rate must be above 0 and at most 1000, not 0"),
    ],
)
def test_bad_options_give_one_line(tmp_path, make_frames, args, fragment):
    make_frames(tmp_path / "ep", 3)
    outcome = run_encodectl("encode", tmp_path / "ep", *args)
    assert_one_line_error(outcome, fragment)
    assert not (tmp_path / "ep.mp4").exists()


@BEFORE_FFMPEG
@pytest.mark.parametrize("workers", ["0", "-3", "100000"])
def test_workers_outside_the_allowed_range_is_a_usage_error(tmp_path, make_frames, workers):
    # 0 and -3 used to hang for ever, 100000 to start as many threads before a dry run printed anything.
    make_frames(tmp_path / "ep", 3)
    outcome = run_encodectl("encode", tmp_path / "ep", "--dry-run", "--workers", workers, timeout=30)
    assert_one_line_error(outcome, f"invalid --workers: must be auto or a number from 1 to 256, not {workers}")


@BEFORE_FFMPEG
def test_debug_shows_the_traceback(tmp_path):
    outcome = run_encodectl("--debug", "encode", tmp_path / "nope")
    assert outcome.exit_code == 2
    assert "Traceback" in outcome.stderr


def test_verification_rejects_a_video_that_does_not_match(tmp_path, make_frames, ffmpeg_binary):
    from encodectl.errors import VerificationError
    from encodectl.ffmpeg.encoder_choice import plan_encoder
    from encodectl.frames.layout import EpisodeSource
    from encodectl.job.planning import plan_job
    from encodectl.job.runner import run_job
    from encodectl.job.verify import check_video, read_video
    from encodectl.models import EncodeOptions

    make_frames(tmp_path / "ep", 6)
    options = EncodeOptions(device="cpu")
    source = EpisodeSource(directory=tmp_path / "ep", output=tmp_path / "ep.mp4", episode="ep")
    job = plan_job(source, options, plan_encoder(options, ffmpeg_binary).primary)
    assert run_job(job, ffmpeg_binary).status.value == "done"

    info = read_video(ffmpeg_binary, tmp_path / "ep.mp4")
    assert (info.frames, info.fps, info.timestamps_exact) == (6, Fraction(30), True)
    longer = job.model_copy(update={"fps": Fraction(25)})
    with pytest.raises(VerificationError, match="frame rate 30 instead of 25"):
        check_video(info, longer, Path("ep.mp4"))
    make_frames(tmp_path / "ep", 2, start_number=6)
    more = plan_job(source, options, plan_encoder(options, ffmpeg_binary).primary)
    with pytest.raises(VerificationError, match="6 frames instead of 8"):
        check_video(info, more, Path("ep.mp4"))
