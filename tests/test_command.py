"""The ffmpeg command lines that --dry-run does not show: read-back, probes, streams, copies, quality and
frame making. Each is pinned argument for argument (as encodectl built it before the builders moved into
encodectl/ffmpeg/), and each is run on the real ffmpeg on tiny frames, which must take it."""

from __future__ import annotations

import os
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from encodectl.ffmpeg.command import build_encode_command, build_probe_command, build_stream_command
from encodectl.ffmpeg.command_line import command_line, encoders_command, flags, version_command
from encodectl.ffmpeg.copy_command import build_join_command, build_remux_command, concat_list
from encodectl.ffmpeg.encoders import ENCODERS, depth_settings, encoder_settings
from encodectl.ffmpeg.frames_command import (
    build_decode_images_command,
    build_depth_frames_command,
    build_test_frames_command,
)
from encodectl.ffmpeg.readback_command import (
    build_decodable_frames_command,
    build_depth_check_command,
    build_hash_command,
    build_quality_command,
    build_read_command,
)
from encodectl.frames.layout import EpisodeSource
from encodectl.frames.sequence import scan_frames
from encodectl.frames.synthetic import depth_maps, write_depth_frames, write_frames
from encodectl.job.planning import plan_job
from encodectl.models import DepthMode, EncodeJob, EncodeOptions, EncoderSettings, FFmpegBinary

from .conftest import BEFORE_FFMPEG, decode

FAKE = FFmpegBinary(path=Path("/opt/ffmpeg"), version="9.0.2", source="PATH")  # the pinned argvs' binary
OLD = FFmpegBinary(path=Path("/opt/ffmpeg"), version="5.0.1", source="PATH")
X264 = encoder_settings(ENCODERS["libx264"], EncodeOptions())
FFV1 = depth_settings(DepthMode.lossless, X264, EncodeOptions(), None)
FRAMES = 4


def _job(frames: Path, settings: EncoderSettings) -> EncodeJob:
    source = EpisodeSource(directory=frames, output=frames.with_suffix(".video"), episode=frames.name)
    return plan_job(source, EncodeOptions(device="cpu"), settings)


def _run(argv: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    completed = subprocess.run(argv, input=stdin, capture_output=True, timeout=60)
    assert completed.returncode == 0, completed.stderr.decode(errors="replace")
    return completed


def _lines(completed: subprocess.CompletedProcess[bytes]) -> list[str]:
    """The frame lines of framecrc/framemd5 output (not its # header)."""
    return [line for line in completed.stdout.decode().splitlines() if line and not line.startswith("#")]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory, ffmpeg_binary: FFmpegBinary) -> Path:
    """4 colour frames of 64x48 in ep/, 4 depth frames in depth/, ep.mp4 and depth.mkv encoded from them."""
    folder = tmp_path_factory.mktemp("command")
    write_frames(ffmpeg_binary, folder / "ep", FRAMES)
    write_depth_frames(ffmpeg_binary, folder / "depth", FRAMES)
    _run(build_encode_command(_job(folder / "ep", X264), ffmpeg_binary, folder / "ep.mp4", progress=False))
    _run(build_encode_command(_job(folder / "depth", FFV1), ffmpeg_binary, folder / "depth.mkv", progress=False))
    return folder


# ---- the one way: groups in order -----------------------------------------------------------


@BEFORE_FFMPEG
def test_command_line_keeps_the_groups_and_options_in_the_order_given():
    assert command_line(FAKE, ["-y"], flags({"z": "1", "a": "2"}), ("-i", "x")) == [
        "/opt/ffmpeg", "-y", "-z", "1", "-a", "2", "-i", "x",
    ]  # fmt: skip
    assert command_line("/somewhere/ffmpeg") == ["/somewhere/ffmpeg"]


def test_a_path_that_is_not_utf8_reaches_ffmpeg_unchanged(clip, ffmpeg_binary):
    odd = clip / os.fsdecode(b"caf\xe9")  # ffmpeg-python hashes its arguments as UTF-8: placeholders keep it out
    odd.mkdir(exist_ok=True)
    (odd / "ep.mp4").write_bytes((clip / "ep.mp4").read_bytes())
    argv = build_read_command(ffmpeg_binary, odd / "ep.mp4", decode=False)
    assert str(odd / "ep.mp4") in argv
    assert len(_lines(_run(argv))) == FRAMES


# ---- asking the binary ------------------------------------------------------------------------


@BEFORE_FFMPEG
def test_questions_to_the_binary_are_pinned():
    assert version_command("/opt/ffmpeg") == ["/opt/ffmpeg", "-hide_banner", "-version"]
    assert encoders_command("/opt/ffmpeg") == ["/opt/ffmpeg", "-hide_banner", "-nostdin", "-encoders"]


def test_the_binary_answers_its_questions(ffmpeg_binary):
    assert _run(version_command(str(ffmpeg_binary.path))).stdout.startswith(b"ffmpeg version ")
    assert b" libx264 " in _run(encoders_command(str(ffmpeg_binary.path))).stdout


# ---- read-back --------------------------------------------------------------------------------


@BEFORE_FFMPEG
def test_read_back_commands_are_pinned(tmp_path):
    video = tmp_path / "x.mp4"
    assert (
        build_hash_command(FAKE, video, "gray16le")
        == (
            f"/opt/ffmpeg -hide_banner -nostdin -xerror -i {video} -map 0:v:0 -f framemd5 -fps_mode passthrough "
            "-pix_fmt gray16le -"
        ).split()
    )
    assert (
        build_read_command(FAKE, video, decode=False)
        == (f"/opt/ffmpeg -hide_banner -nostdin -i {video} -map 0:v:0 -f framecrc -c copy -").split()
    )
    assert (
        build_read_command(FAKE, video, decode=True)
        == (
            f"/opt/ffmpeg -hide_banner -nostdin -xerror -i {video} -map 0:v:0 -f framecrc -enc_time_base demux "
            "-fps_mode passthrough -"
        ).split()
    )
    assert (
        build_read_command(OLD, video, decode=True)
        == (  # before 5.1 and 7.0: the older spellings
            f"/opt/ffmpeg -hide_banner -nostdin -xerror -i {video} -map 0:v:0 -f framecrc -enc_time_base -1 "
            "-vsync passthrough -"
        ).split()
    )


@BEFORE_FFMPEG
def test_the_checks_against_the_source_frames_are_pinned(clip):
    pattern = f"{clip}/depth/frame_%06d.png"
    assert (
        build_depth_check_command(FAKE, _job(clip / "depth", FFV1), clip / "d.mkv", None)
        == (
            f"/opt/ffmpeg -hide_banner -nostdin -xerror -i {clip}/d.mkv -f image2 -framerate 30 -start_number 0 "
            f"-i {pattern} -filter_complex [1:v]format=gray16le[s0] -map 0:v:0 -map [s0] -f framemd5 "
            "-enc_time_base demux -fps_mode passthrough -frames:1 4 -pix_fmt gray16le -"
        ).split()
    )
    assert (
        build_decodable_frames_command(FAKE, pattern, 0, Fraction(30), ".png")
        == (
            "/opt/ffmpeg -hide_banner -nostdin -loglevel error -err_detect explode -f image2 -framerate 30 "
            f"-start_number 0 -i {pattern} -map 0:v:0 -f framecrc -"
        ).split()
    )
    tiff = f"{clip}/tif/f%06d.tiff"  # TIFF frames are decoded leniently
    assert (
        build_decodable_frames_command(FAKE, tiff, 3, Fraction(30000, 1001), ".tiff")
        == (
            "/opt/ffmpeg -hide_banner -nostdin -loglevel error -f image2 -framerate 30000/1001 -start_number 3 "
            f"-i {tiff} -map 0:v:0 -f framecrc -"
        ).split()
    )
    graph = (
        "[1:v]scale=out_range=tv,format=yuv420p,pad=ceil(iw/2)*2:ceil(ih/2)*2,split[r1][r2];"
        "[0:v][r1]psnr=shortest=1[m];[m][r2]ssim=shortest=1"
    )
    assert build_quality_command(FAKE, "v.mp4", scan_frames(clip / "ep"), Fraction(30)) == [
        "/opt/ffmpeg", "-hide_banner", "-nostdin", "-i", "v.mp4", "-f", "image2", "-framerate", "30",
        "-start_number", "0", "-i", f"{clip}/ep/frame_%06d.png", "-lavfi", graph, "-f", "null", "-",
    ]  # fmt: skip


def test_read_back_commands_run(clip, ffmpeg_binary):
    assert len(_lines(_run(build_read_command(ffmpeg_binary, clip / "ep.mp4", decode=False)))) == FRAMES
    assert len(_lines(_run(build_read_command(ffmpeg_binary, clip / "ep.mp4", decode=True)))) == FRAMES
    assert len(_lines(_run(build_hash_command(ffmpeg_binary, clip / "ep.mp4", "yuv420p")))) == FRAMES


def test_the_depth_check_hashes_video_and_frames_alike(clip, ffmpeg_binary):
    lines = _lines(_run(build_depth_check_command(ffmpeg_binary, _job(clip / "depth", FFV1), clip / "depth.mkv",
                                                  None)))  # fmt: skip
    hashes = {stream: [line.split(",")[-1] for line in lines if line.startswith(stream)] for stream in "01"}
    assert len(hashes["0"]) == FRAMES and hashes["0"] == hashes["1"]  # lossless: the same pixels


def test_the_decodable_frames_are_listed(clip, ffmpeg_binary):
    pattern = f"{clip}/ep/frame_%06d.png"
    assert len(_lines(_run(build_decodable_frames_command(ffmpeg_binary, pattern, 0, Fraction(30), ".png")))) == 4


def test_quality_is_measured(clip, ffmpeg_binary):
    from encodectl.benchmarking.quality import measure_quality

    # The video against its own frames: close; against other frames (the depth clip's, as grey pictures): far.
    own = measure_quality(ffmpeg_binary, str(clip / "ep.mp4"), scan_frames(clip / "ep"), Fraction(30))
    assert 30 < own.psnr_db <= 99 and 0.9 < own.ssim <= 1
    write_frames(ffmpeg_binary, clip / "other", FRAMES, seed=7)
    other = measure_quality(ffmpeg_binary, str(clip / "ep.mp4"), scan_frames(clip / "other"), Fraction(30))
    assert other.psnr_db < own.psnr_db - 10 and other.ssim < own.ssim


# ---- probes and streams -----------------------------------------------------------------------


@BEFORE_FFMPEG
def test_probe_commands_are_pinned():
    head = "/opt/ffmpeg -hide_banner -nostdin -y -loglevel error -xerror"
    source = "-f lavfi -i testsrc2=size=256x256:rate=30 -filter_complex"
    assert (
        build_probe_command(FAKE, X264)
        == (
            f"{head} {source} [0:v]scale=out_range=tv[s0];[s0]format=yuv420p[s1] -map [s1] -f null -c:v libx264 "
            "-crf 23 -frames:v 10 -g 30 -preset fast -"
        ).split()
    )
    vaapi = encoder_settings(ENCODERS["h264_vaapi"], EncodeOptions())
    assert (
        build_probe_command(FAKE, vaapi)
        == (
            f"{head} -vaapi_device /dev/dri/renderD128 {source} [0:v]scale=out_range=tv[s0];[s0]format=nv12[s1];"
            "[s1]hwupload[s2] -map [s2] -f null -c:v h264_vaapi -frames:v 10 -g 30 -qp 23 -rc_mode CQP -"
        ).split()
    )


def test_the_probe_of_a_software_encoder_succeeds(ffmpeg_binary):
    # The probe encodes 10 frames to nowhere: what it did shows in ffmpeg's own count, not only in its exit code.
    argv = build_probe_command(ffmpeg_binary, X264)
    stats = [*argv[:-1], "-stats", "-loglevel", "info", argv[-1]]
    completed = _run(stats)
    assert completed.returncode == 0
    assert b"frame=   10" in completed.stderr or b"frame=10" in completed.stderr.replace(b" ", b""), completed.stderr


@BEFORE_FFMPEG
def test_stream_commands_are_pinned(tmp_path):
    head = "/opt/ffmpeg -hide_banner -nostdin -y -loglevel error -xerror"
    fragmented = "-movflags +frag_keyframe+empty_moov+default_base_moof"
    assert (
        build_stream_command(FAKE, X264, 64, 48, Fraction(30), tmp_path / "s.mp4")
        == (
            f"{head} -f rawvideo -framerate 30 -pix_fmt rgb24 -s 64x48 -i pipe:0 -filter_complex "
            "[0:v]scale=out_range=tv[s0];[s0]format=yuv420p[s1] -map [s1] -f mp4 -an -c:v libx264 -crf 23 "
            f"-flush_packets 1 -fps_mode passthrough -g 30 {fragmented} -preset fast -rc-lookahead 15 "
            f"-video_track_timescale 15360 {tmp_path}/s.mp4"
        ).split()
    )
    assert (
        build_stream_command(FAKE, X264, 65, 47, Fraction(30000, 1001), tmp_path / "s.mp4", images=True)
        == (
            f"{head} -f image2pipe -err_detect explode -framerate 30000/1001 -i pipe:0 -filter_complex "
            "[0:v]pad=66:48:0:0[s0];[s0]scale=out_range=tv[s1];[s1]format=yuv420p[s2] -map [s2] -f mp4 -an "
            f"-c:v libx264 -crf 23 -flush_packets 1 -fps_mode passthrough -g 30 {fragmented} -preset fast "
            f"-rc-lookahead 15 -video_track_timescale 30000 {tmp_path}/s.mp4"
        ).split()
    )
    depth = build_stream_command(FAKE, FFV1, 64, 48, Fraction(30), tmp_path / "s.mkv", raw_format="gray16le")
    assert (
        depth
        == (
            f"{head} -f rawvideo -framerate 30 -pix_fmt gray16le -s 64x48 -i pipe:0 -filter_complex "
            "[0:v]format=gray16le[s0] -map [s0] -f matroska -an -c:v ffv1 -cluster_time_limit 1000 -context 0 "
            f"-flush_packets 1 -fps_mode passthrough -g 1 -level 3 -live 1 -slicecrc 1 -slices 4 {tmp_path}/s.mkv"
        ).split()
    )


def _rgb(clip: Path, ffmpeg_binary: FFmpegBinary) -> bytes:
    pngs = b"".join(path.read_bytes() for path in sorted((clip / "ep").iterdir()))
    return _run(build_decode_images_command(ffmpeg_binary), stdin=pngs).stdout


def test_stream_commands_take_frames_on_stdin(clip, ffmpeg_binary, tmp_path):
    raw = tmp_path / "raw.mp4"
    _run(build_stream_command(ffmpeg_binary, X264, 64, 48, Fraction(30), raw), stdin=_rgb(clip, ffmpeg_binary))
    images = tmp_path / "images.mp4"
    pngs = b"".join(path.read_bytes() for path in sorted((clip / "ep").iterdir()))
    _run(build_stream_command(ffmpeg_binary, X264, 64, 48, Fraction(30), images, images=True), stdin=pngs)
    depth = tmp_path / "depth.mkv"
    values = b"".join(frame.tobytes() for frame in depth_maps(FRAMES, (64, 48)))
    _run(build_stream_command(ffmpeg_binary, FFV1, 64, 48, Fraction(30), depth, raw_format="gray16le"), stdin=values)
    assert [decode(video).frames for video in (raw, images, depth)] == [FRAMES] * 3


# ---- copies -----------------------------------------------------------------------------------


@BEFORE_FFMPEG
def test_copy_commands_are_pinned(tmp_path):
    head = "/opt/ffmpeg -hide_banner -nostdin -y -loglevel error"
    listing, joined = tmp_path / "list.txt", tmp_path / "joined"
    assert (
        build_join_command(FAKE, listing, joined, 15360)
        == (
            f"{head} -xerror -f concat -safe 0 -i {listing} -map 0:v:0 -f mp4 -c copy -movflags +faststart "
            f"-video_track_timescale 15360 {joined}"
        ).split()
    )
    assert (
        build_join_command(FAKE, listing, joined, 15360, matroska=True)
        == (
            f"{head} -xerror -f concat -safe 0 -i {listing} -map 0:v:0 -f matroska -c copy -cues_to_front 1 {joined}"
        ).split()
    )
    assert (
        build_remux_command(FAKE, Path("f.mp4"), Path("t.mp4"), matroska=False)
        == (f"{head} -i f.mp4 -map 0:v:0 -c copy -movflags +faststart -f mp4 t.mp4").split()
    )
    assert (
        build_remux_command(FAKE, Path("f.mp4"), Path("t.mkv"), matroska=True)
        == (f"{head} -i f.mp4 -map 0:v:0 -c copy -cues_to_front 1 -f matroska t.mkv").split()
    )


def test_copy_commands_keep_every_frame(clip, ffmpeg_binary, tmp_path):
    fragmented = tmp_path / "fragmented.mp4"
    _run(build_stream_command(ffmpeg_binary, X264, 64, 48, Fraction(30), fragmented), _rgb(clip, ffmpeg_binary))
    for matroska, name in ((False, "plain.mp4"), (True, "plain.mkv")):
        _run(build_remux_command(ffmpeg_binary, fragmented, tmp_path / name, matroska))
        assert decode(tmp_path / name).frames == FRAMES
    listing = tmp_path / "list.txt"
    listing.write_text(concat_list([(clip / "ep.mp4", Fraction(FRAMES, 30))] * 2))
    _run(build_join_command(ffmpeg_binary, listing, tmp_path / "joined.mp4", 15360))
    assert decode(tmp_path / "joined.mp4").frames == 2 * FRAMES


# ---- making frames ----------------------------------------------------------------------------


@BEFORE_FFMPEG
def test_frame_making_commands_are_pinned(tmp_path):
    head = "/opt/ffmpeg -hide_banner -nostdin -loglevel error -y"
    png = build_test_frames_command(FAKE, tmp_path, 4, (64, 48), start_number=0, prefix="frame_", padding=6,
                                    extension=".png", pix_fmt=None, seed=0, noise=12)  # fmt: skip
    assert (
        png
        == (
            f"{head} -f lavfi -i testsrc2=size=64x48:rate=30,hue=h=0,noise=alls=12:allf=t+u:all_seed=1,format=rgb24,"
            f"crop=64:48:0:0 -frames:v 4 -start_number 0 -f image2 {tmp_path}/frame_%06d.png"
        ).split()
    )
    jpeg = build_test_frames_command(FAKE, tmp_path, 3, (65, 47), start_number=3, prefix="f", padding=0,
                                     extension=".jpg", pix_fmt="yuvj420p", seed=2, noise=0)  # fmt: skip
    assert (
        jpeg
        == (
            f"{head} -f lavfi -i testsrc2=size=66x48:rate=30,hue=h=94,format=rgb24,crop=65:47:0:0 -frames:v 3 "
            f"-start_number 3 -pix_fmt yuvj420p -q:v 3 -f image2 {tmp_path}/f%d.jpg"
        ).split()
    )
    depth = build_depth_frames_command(FAKE, tmp_path, (64, 48), prefix="frame_", padding=6, extension=".png",
                                       tiff_compression="raw")  # fmt: skip
    assert (
        depth
        == (
            f"{head} -f rawvideo -pix_fmt gray16le -s 64x48 -framerate 30 -i pipe:0 -pix_fmt gray16be -start_number 0 "
            f"-f image2 {tmp_path}/frame_%06d.png"
        ).split()
    )
    tiff = build_depth_frames_command(FAKE, tmp_path, (64, 48), prefix="frame_", padding=6, extension=".tif",
                                      tiff_compression="deflate")  # fmt: skip
    tiff_output = f"-pix_fmt gray16le -compression_algo deflate -start_number 0 -f image2 {tmp_path}/frame_%06d.tif"
    assert tiff[-9:] == tiff_output.split()
    decode_images = "/opt/ffmpeg -v error -f image2pipe -i pipe:0 -f rawvideo -pix_fmt rgb24 pipe:1"
    assert build_decode_images_command(FAKE) == decode_images.split()


def test_frame_making_commands_run(clip, ffmpeg_binary, tmp_path):
    (tmp_path / "jpg").mkdir()
    _run(build_test_frames_command(ffmpeg_binary, tmp_path / "jpg", 3, (65, 47), start_number=3, prefix="f",
                                   padding=0, extension=".jpg", pix_fmt=None, seed=2, noise=0))  # fmt: skip
    assert sorted(path.name for path in (tmp_path / "jpg").iterdir()) == ["f3.jpg", "f4.jpg", "f5.jpg"]
    (tmp_path / "tif").mkdir()
    values = b"".join(frame.tobytes() for frame in depth_maps(2, (64, 48)))
    _run(build_depth_frames_command(ffmpeg_binary, tmp_path / "tif", (64, 48), prefix="d", padding=2,
                                    extension=".tif", tiff_compression="deflate"), stdin=values)  # fmt: skip
    assert sorted(path.name for path in (tmp_path / "tif").iterdir()) == ["d00.tif", "d01.tif"]
    assert len(_rgb(clip, ffmpeg_binary)) == FRAMES * 64 * 48 * 3
