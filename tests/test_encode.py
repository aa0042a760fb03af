"""`encodectl encode` on real frames with the real ffmpeg, checked by an independent decoder (PyAV)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from encodectl import JobStatus, encode
from encodectl.benchmarking.quality import measure_quality
from encodectl.frames.sequence import scan_frames
from encodectl.frames.synthetic import write_dataset
from encodectl.job.ledger import Ledger
from encodectl.models import VerifyMode

from .conftest import files_in, run_encodectl, run_encodectl_process


def expected_timestamps(count: int, fps: Fraction) -> list[Fraction]:
    return [i / fps for i in range(count)]


def test_episode_becomes_verified_video_beside_it(tmp_path, make_frames, cli, decoded, ffmpeg_binary):
    episode = tmp_path / "episode_000000"
    make_frames(episode, 12)

    outcome = cli("encode", episode)

    assert outcome.exit_code == 0, outcome.stderr
    video = decoded(tmp_path / "episode_000000.mp4")
    assert video.frames == 12
    assert (video.width, video.height) == (64, 48)
    assert video.pix_fmt == "yuv420p"
    assert video.codec == "h264"
    assert video.timestamps == expected_timestamps(12, Fraction(30))
    assert video.keyframes[:2] == [0]  # one keyframe a second: 12 frames at 30 fps hold only the first
    assert "1 done, 0 failed of 1 job(s)" in outcome.stdout
    assert f" · ffmpeg {ffmpeg_binary.version} ({ffmpeg_binary.source})\n" in outcome.stdout


@pytest.mark.parametrize("fps", ["25", "30000/1001", "12.5"])
def test_every_frame_sits_at_exactly_i_over_fps(tmp_path, make_frames, cli, decoded, fps):
    make_frames(tmp_path / "ep", 10)
    outcome = cli("encode", tmp_path / "ep", "--fps", fps)
    assert outcome.exit_code == 0, outcome.stderr
    assert decoded(tmp_path / "ep.mp4").timestamps == expected_timestamps(10, Fraction(fps))


def test_dataset_root_becomes_videos_per_camera_and_episode(tmp_path, ffmpeg_binary, cli, decoded):
    write_dataset(ffmpeg_binary, tmp_path / "ds", cameras=2, episodes=2, frames=6)

    outcome = cli("encode", tmp_path / "ds", "--json")

    assert outcome.exit_code == 0, outcome.stderr
    report = outcome.json()
    assert [r["status"] for r in report["results"]] == ["done"] * 4
    assert report["summary"]["frames"] == 24
    for camera in ("observation.images.top", "observation.images.wrist"):
        for episode in ("episode_000000", "episode_000001"):
            video = tmp_path / "ds" / "videos" / camera / f"{episode}.mp4"
            assert decoded(video).frames == 6
    # Nothing but the videos was written: no temporary or staging leftovers.
    assert files_in(tmp_path / "ds" / "videos") == sorted(
        f"{c}/{e}.mp4"
        for c in ("observation.images.top", "observation.images.wrist")
        for e in ("episode_000000", "episode_000001")
    )


def test_output_option_names_a_file_or_a_folder(tmp_path, make_frames, ffmpeg_binary, cli, decoded):
    make_frames(tmp_path / "ep", 5)
    assert cli("encode", tmp_path / "ep", "-o", tmp_path / "out" / "named.mp4").exit_code == 0
    assert decoded(tmp_path / "out" / "named.mp4").frames == 5

    write_dataset(ffmpeg_binary, tmp_path / "ds", cameras=1, episodes=2, frames=4)
    assert cli("encode", tmp_path / "ds", "-o", tmp_path / "elsewhere").exit_code == 0
    assert decoded(tmp_path / "elsewhere/videos/observation.images.top/episode_000001.mp4").frames == 4
    assert not (tmp_path / "ds" / "videos").exists()


def test_unpadded_numbers_are_ordered_numerically(tmp_path, make_frames, cli, ffmpeg_binary):
    # The same 12 frames, once zero-padded and once as frame_0 … frame_11 (where a text sort
    # would put frame_10 before frame_2): the two videos must decode to identical pictures.
    make_frames(tmp_path / "padded", 12, noise=0)
    make_frames(tmp_path / "plain", 12, noise=0, padding=0)
    assert (tmp_path / "plain" / "frame_10.png").exists()
    for name in ("padded", "plain"):
        assert cli("encode", tmp_path / name, "--threads", "1").exit_code == 0
    assert _decoded_crcs(ffmpeg_binary, tmp_path / "padded.mp4") == _decoded_crcs(ffmpeg_binary, tmp_path / "plain.mp4")


def _decoded_crcs(ffmpeg_binary, video: Path) -> list[str]:
    import subprocess

    out = subprocess.run(
        [str(ffmpeg_binary.path), "-v", "error", "-i", str(video), "-f", "framecrc", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line.rsplit(",", 1)[1].strip() for line in out.splitlines() if not line.startswith("#")]


def test_any_prefix_start_number_and_jpeg(tmp_path, make_frames, cli, decoded):
    make_frames(tmp_path / "cam", 7, prefix="img-", start_number=40, padding=4, extension=".jpg")
    outcome = cli("encode", tmp_path / "cam")
    assert outcome.exit_code == 0, outcome.stderr
    video = decoded(tmp_path / "cam.mp4")
    assert video.frames == 7
    assert video.timestamps[0] == 0


@pytest.mark.parametrize("name", ["with space", "ünïcødé 相机", "-leading-dash", "100%_done"])
def test_awkward_folder_names(tmp_path, make_frames, name, decoded):
    episode = tmp_path / name
    make_frames(episode, 4)
    # Run as a real process: a leading dash must survive real argument parsing too.
    outcome = run_encodectl_process("encode", "--", episode)
    assert outcome.exit_code == 0, outcome.stderr
    assert decoded(tmp_path / f"{name}.mp4").frames == 4


def test_a_folder_name_that_is_not_utf8_encodes_and_the_others_go_on(tmp_path, make_frames):
    # Linux names are bytes. This one sorts first, and used to abort encode and watch before anything was done.
    odd = tmp_path / "images" / "cam" / os.fsdecode(b"episode_0\xff")
    make_frames(odd, 4)
    make_frames(tmp_path / "images" / "cam" / "episode_1", 4)
    strict = {"PYTHONIOENCODING": "utf-8:strict"}  # as under a UTF-8 locale other than C.UTF-8
    outcome = run_encodectl("encode", tmp_path, "--json", env=strict)
    assert outcome.exit_code == 0, outcome.stderr
    results = outcome.json()["results"]
    assert [(r["episode"], r["status"], r["frames"]) for r in results] == [
        ("episode_0\ufffd", "done", 4), ("episode_1", "done", 4)
    ]  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "videos" / "cam").iterdir()) == sorted(
        ["episode_1.mp4", f"{odd.name}.mp4"]
    )
    watched = run_encodectl("watch", tmp_path, "--once", "--settle", "0", env=strict)  # and its ledger
    assert watched.exit_code == 0, watched.stderr
    assert "0 done (0 redone after late frames), 2 found already encoded" in watched.stdout
    ledger = Ledger(tmp_path / ".encodectl" / "state.sqlite")  # read back: the name kept exactly
    assert sorted(record.source.name for record in ledger.all()) == sorted([odd.name, "episode_1"])
    ledger.close()


def test_odd_size_is_padded_by_one_pixel_not_rescaled(tmp_path, make_frames, cli, decoded):
    make_frames(tmp_path / "odd", 5, size=(63, 47))
    outcome = cli("encode", tmp_path / "odd", "--json")
    assert outcome.exit_code == 0, outcome.stderr
    result = outcome.json()["results"][0]
    assert result["padded_from"] == "63x47"
    assert (result["width"], result["height"]) == (64, 48)
    assert "padded 63x47 to 64x48" in result["notes"][0]
    video = decoded(tmp_path / "odd.mp4")
    assert (video.width, video.height, video.frames) == (64, 48, 5)


# 16-bit grayscale is depth, kept exactly instead (tests/test_depth.py); 16-bit colour is still a picture.
@pytest.mark.parametrize("pix_fmt", ["rgba", "rgb48be", "gray", "pal8"])
def test_other_pixel_formats_convert_to_yuv420p(tmp_path, make_frames, cli, decoded, pix_fmt):
    make_frames(tmp_path / "ep", 4, pix_fmt=pix_fmt)
    outcome = cli("encode", tmp_path / "ep", "--json")
    assert outcome.exit_code == 0, outcome.stderr
    video = decoded(tmp_path / "ep.mp4")
    assert (video.frames, video.pix_fmt) == (4, "yuv420p")


def test_quality_against_source_frames_is_above_35_db(tmp_path, make_frames, cli, ffmpeg_binary):
    import re
    import subprocess

    make_frames(tmp_path / "ep", 30, size=(160, 120))
    assert cli("encode", tmp_path / "ep").exit_code == 0
    log = subprocess.run(
        [
            str(ffmpeg_binary.path),
            "-hide_banner",
            "-i",
            str(tmp_path / "ep.mp4"),
            "-framerate",
            "30",
            "-start_number",
            "0",
            "-i",
            str(tmp_path / "ep" / "frame_%06d.png"),
            "-lavfi",
            "[1:v]format=yuv420p[ref];[0:v][ref]psnr",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    match = re.search(r"PSNR .*average:([\d.]+)", log)
    assert match is not None, log
    assert float(match.group(1)) > 35


def test_quality_is_read_from_ffmpegs_own_psnr_and_ssim(tmp_path, make_frames, cli, ffmpeg_binary):
    # The bench's PSNR/SSIM columns parse what each build's psnr and ssim filters print.
    make_frames(tmp_path / "ep", 6)
    assert cli("encode", tmp_path / "ep", "--quality", "0").exit_code == 0
    assert cli("encode", tmp_path / "ep", "--quality", "45", "-o", tmp_path / "worse.mp4").exit_code == 0
    frames = scan_frames(tmp_path / "ep")
    best = measure_quality(ffmpeg_binary, str(tmp_path / "ep.mp4"), frames, Fraction(30))
    worse = measure_quality(ffmpeg_binary, str(tmp_path / "worse.mp4"), frames, Fraction(30))
    assert best.psnr_db > 45 and 0.99 < best.ssim <= 1
    assert 15 < worse.psnr_db < best.psnr_db and 0 < worse.ssim < best.ssim


def test_lerobot_profile_reproduces_lerobot_defaults(tmp_path, make_frames, cli, decoded):
    make_frames(tmp_path / "ep", 8, size=(64, 64))  # SVT-AV1 before 2.0 (Debian 12's 1.4.1) needs 64 high
    outcome = cli("encode", tmp_path / "ep", "--profile", "lerobot", "--json")
    assert outcome.exit_code == 0, outcome.stderr
    result = outcome.json()["results"][0]
    assert result["encoder"] == "libsvtav1"
    command = result["command"]
    assert command[command.index("-crf") + 1] == "30"
    assert command[command.index("-g") + 1] == "2"
    assert command[command.index("-preset") + 1] == "12"  # LeRobot 0.4's SVT-AV1 preset when none is given
    video = decoded(tmp_path / "ep.mp4")
    assert (video.codec, video.pix_fmt, video.frames) in {("av1", "yuv420p", 8), ("libdav1d", "yuv420p", 8)}


def test_an_encoder_that_refuses_the_frames_says_why_not_its_banner(tmp_path, make_frames, cli, decoded, ffmpeg_binary):
    # SVT-AV1 1.x (Debian 12's ffmpeg 5.1) refuses frames under 64 pixels high, after a banner of info lines;
    # the bundled build's SVT-AV1 4.x takes them. Which one is expected is known from the build, so each
    # build checks its own branch, and a build that behaved like the other one fails.
    refuses = _svt_av1_major(ffmpeg_binary) < 2
    make_frames(tmp_path / "ep", 4, size=(64, 48))
    outcome = cli("encode", tmp_path / "ep", "--profile", "lerobot", "--json")
    result = outcome.json()["results"][0]
    if not refuses:
        assert (outcome.exit_code, result["status"]) == (0, "done"), result["reason"]
        assert decoded(tmp_path / "ep.mp4").frames == 4
    else:
        assert (outcome.exit_code, result["status"], result["failure"]) == (1, "failed", "encode")
        assert result["reason"].startswith("libsvtav1 failed (exit "), result["reason"]
        assert result["reason"].endswith("): SVT-AV1: Source Height must be at least 64"), result["reason"]


def _svt_av1_major(ffmpeg_binary) -> int:
    """The SVT-AV1 library's major version in this ffmpeg, from the banner it prints when it encodes."""
    completed = subprocess.run(
        [str(ffmpeg_binary.path), "-hide_banner", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=30",
         "-frames:v", "1", "-c:v", "libsvtav1", "-f", "null", "-"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    match = re.search(r"SVT-AV1 Encoder Lib v(\d+)\.", completed.stderr)
    assert match is not None, completed.stderr
    return int(match.group(1))


def test_existing_output_is_skipped_unless_overwrite(tmp_path, make_frames, cli):
    make_frames(tmp_path / "ep", 4)
    assert cli("encode", tmp_path / "ep").exit_code == 0
    first = (tmp_path / "ep.mp4").stat().st_mtime_ns

    again = cli("encode", tmp_path / "ep", "--json")
    assert again.exit_code == 0
    assert again.json()["results"][0]["status"] == "skipped"
    assert (tmp_path / "ep.mp4").stat().st_mtime_ns == first

    redo = cli("encode", tmp_path / "ep", "--overwrite", "--json")
    assert redo.json()["results"][0]["status"] == "done"
    assert (tmp_path / "ep.mp4").stat().st_mtime_ns != first


def test_dry_run_prints_quoted_commands_and_writes_nothing(tmp_path, make_frames, cli):
    make_frames(tmp_path / "my ep", 4)
    before = files_in(tmp_path)
    outcome = cli("encode", tmp_path / "my ep", "--dry-run")
    assert outcome.exit_code == 0
    assert files_in(tmp_path) == before
    assert f"'{tmp_path}/my ep/frame_%06d.png'" in outcome.stdout
    assert "-c:v libx264" in outcome.stdout and "-crf 23" in outcome.stdout and "-preset fast" in outcome.stdout


def test_verify_decode_mode(tmp_path, make_frames, cli, monkeypatch):
    import encodectl.job.verify

    modes, real_read_video = [], encodectl.job.verify.read_video

    def spy(binary, path, mode=VerifyMode.packets, fps=None):  # the real read-back, noting how it was asked to read
        modes.append(mode)
        return real_read_video(binary, path, mode, fps)

    monkeypatch.setattr(encodectl.job.verify, "read_video", spy)
    make_frames(tmp_path / "ep", 6)
    outcome = cli("encode", tmp_path / "ep", "--verify", "decode", "--json")
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.json()["results"][0]["frames"] == 6
    assert modes == [VerifyMode.decode]


def test_python_api_returns_job_results(tmp_path, make_frames):
    make_frames(tmp_path / "ep", 5)
    results = encode(tmp_path / "ep", quality=30, output=tmp_path / "api.mp4")
    assert [r.status for r in results] == [JobStatus.done]
    assert results[0].frames == 5 and results[0].output == (tmp_path / "api.mp4").absolute()
    assert results[0].size_bytes == (tmp_path / "api.mp4").stat().st_size


def test_one_bad_episode_does_not_stop_the_others(tmp_path, ffmpeg_binary, cli):
    write_dataset(ffmpeg_binary, tmp_path / "ds", cameras=1, episodes=3, frames=5)
    bad = tmp_path / "ds/images/observation.images.top/episode_000001"
    (bad / "frame_000002.png").unlink()

    outcome = cli("encode", tmp_path / "ds", "--json")

    assert outcome.exit_code == 1
    statuses = {Path(r["source"]).name: r["status"] for r in outcome.json()["results"]}
    assert statuses == {"episode_000000": "done", "episode_000001": "failed", "episode_000002": "done"}
    assert not (tmp_path / "ds/videos/observation.images.top/episode_000001.mp4").exists()


def test_copying_frames_keeps_the_sources_untouched(tmp_path, make_frames, cli):
    frames = make_frames(tmp_path / "ep", 5)
    snapshot = {p.name: p.read_bytes() for p in frames}
    assert cli("encode", tmp_path / "ep").exit_code == 0
    assert {p.name: p.read_bytes() for p in (tmp_path / "ep").iterdir()} == snapshot
    shutil.rmtree(tmp_path / "ep")
