"""Which ffmpeg is used: --ffmpeg / ENCODECTL_FFMPEG, then the bundled build, then PATH; and which are too old."""

from __future__ import annotations

import os
from pathlib import Path

import imageio_ffmpeg
import pytest

from encodectl.errors import FFmpegNotFoundError, UsageError
from encodectl.ffmpeg import binary as binary_module
from encodectl.ffmpeg.binary import find_ffmpeg, other_ffmpegs
from encodectl.ffmpeg.encoder_choice import plan_encoder
from encodectl.models import EncodeOptions, FFmpegBinary

from .conftest import assert_one_line_error, run_encodectl

WHEEL_FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
NO_CHOICE = {"ENCODECTL_FFMPEG": ""}  # for run_encodectl: as if the variable were not set


def an_ffmpeg(folder: Path, version: str | None = None) -> Path:
    """An `ffmpeg` in `folder`: the bundled binary under another name, or (with `version`) a TEST DOUBLE
    that only answers `-version` as a build of that version would."""
    folder.mkdir(exist_ok=True)
    script = folder / "ffmpeg"
    if version is None:
        script.write_text(f'#!/bin/sh\nexec "{WHEEL_FFMPEG}" "$@"\n')
    else:
        script.write_text(f"#!/bin/sh\necho 'ffmpeg version {version} Copyright (c) 2000-2023 the FFmpeg developers'\n")
    script.chmod(0o755)
    return script


@pytest.fixture
def no_choice(monkeypatch):
    monkeypatch.delenv("ENCODECTL_FFMPEG", raising=False)


@pytest.fixture
def no_bundled_build(monkeypatch):
    """imageio-ffmpeg as on a platform it has no binary for."""

    def missing() -> str:
        raise RuntimeError("No ffmpeg exe could be found")

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", missing)
    monkeypatch.setattr(binary_module, "_wheel_ffmpeg", lambda: None)  # the wheel's file, found without a search


def test_explicit_path_wins(monkeypatch, tmp_path):
    on_path = an_ffmpeg(tmp_path / "bin")
    monkeypatch.setenv("PATH", str(on_path.parent))
    monkeypatch.setenv("ENCODECTL_FFMPEG", str(on_path))
    binary = find_ffmpeg(WHEEL_FFMPEG)
    assert (binary.source, str(binary.path), binary.reason) == ("--ffmpeg", WHEEL_FFMPEG, "given with --ffmpeg")


def test_environment_variable_before_the_bundled_build_and_path(monkeypatch, tmp_path):
    on_path = an_ffmpeg(tmp_path / "bin")
    monkeypatch.setenv("PATH", str(on_path.parent))
    monkeypatch.setenv("ENCODECTL_FFMPEG", str(on_path))
    binary = find_ffmpeg()
    assert (binary.source, binary.path, binary.reason) == ("ENCODECTL_FFMPEG", on_path, "set in ENCODECTL_FFMPEG")


def test_the_bundled_build_before_path_and_path_is_named_as_the_other_choice(monkeypatch, tmp_path, no_choice):
    on_path = an_ffmpeg(tmp_path / "bin")
    monkeypatch.setenv("PATH", str(on_path.parent))
    binary = find_ffmpeg()
    assert (binary.source, str(binary.path)) == ("imageio-ffmpeg", WHEEL_FFMPEG)
    assert "the one encodectl is tested against" in binary.reason
    assert [(other.source, other.path) for other in other_ffmpegs(binary)] == [("PATH", on_path)]


def test_path_when_there_is_no_bundled_build(monkeypatch, tmp_path, no_choice, no_bundled_build):
    on_path = an_ffmpeg(tmp_path / "bin")
    monkeypatch.setenv("PATH", str(on_path.parent))
    binary = find_ffmpeg()
    assert (binary.source, binary.path) == ("PATH", on_path)
    assert binary.reason == "ffmpeg on PATH, since no bundled build is installed (pip install imageio-ffmpeg)"
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FFmpegNotFoundError, match="no ffmpeg found: no bundled build is installed"):
        find_ffmpeg()


def test_a_bundled_build_that_does_not_run_gives_way_to_path(monkeypatch, tmp_path, no_choice):
    broken = tmp_path / "broken"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setattr(binary_module, "_wheel_ffmpeg", lambda: broken)
    on_path = an_ffmpeg(tmp_path / "bin")
    monkeypatch.setenv("PATH", str(on_path.parent))
    binary = find_ffmpeg()
    assert (binary.source, binary.path) == ("PATH", on_path)
    assert binary.reason.startswith("ffmpeg on PATH, since the bundled build cannot be used (")
    assert "does not answer like ffmpeg" in binary.reason


def test_not_executable_or_not_ffmpeg(tmp_path):
    script = tmp_path / "ffmpeg"
    script.write_text("#!/bin/sh\necho hello\n")
    with pytest.raises(FFmpegNotFoundError, match="not executable"):
        find_ffmpeg(script)
    script.chmod(0o755)
    with pytest.raises(FFmpegNotFoundError, match="does not answer like ffmpeg"):
        find_ffmpeg(script)


@pytest.mark.parametrize("version", ["4.2.2-static", "4.4.2-0ubuntu0.22.04.1", "5.1.9-0+deb12u1", "n9.0.2", "7.1"])
def test_supported_releases_are_accepted(tmp_path, version):
    assert find_ffmpeg(an_ffmpeg(tmp_path, version)).version == version


@pytest.mark.parametrize("version", ["N-118045-g3b3a321a5c-20250101", "2024-03-07-git-97beb63a66-full_build"])
def test_git_builds_are_accepted(tmp_path, version):
    assert find_ffmpeg(an_ffmpeg(tmp_path, version)).version == version


def test_a_release_older_than_4_2_is_one_line_that_says_how_to_choose_another(tmp_path, make_frames):
    make_frames(tmp_path / "ep", 2)
    old = an_ffmpeg(tmp_path / "old", "4.1.11-0+deb10u1")
    for outcome in (
        run_encodectl("encode", tmp_path / "ep", "--ffmpeg", old),
        run_encodectl("encode", tmp_path / "ep", env={"ENCODECTL_FFMPEG": str(old)}),
    ):
        assert_one_line_error(
            outcome,
            f"ffmpeg 4.1.11-0+deb10u1 at {old} (",
            "is older than 4.2, the oldest encodectl supports; --ffmpeg PATH or ENCODECTL_FFMPEG=PATH picks another",
        )
    assert not (tmp_path / "ep.mp4").exists()


def test_an_old_ffmpeg_on_path_without_a_bundled_build_says_so(monkeypatch, tmp_path, no_choice, no_bundled_build):
    monkeypatch.setenv("PATH", str(an_ffmpeg(tmp_path / "bin", "3.4.11").parent))
    with pytest.raises(FFmpegNotFoundError, match=r"\(PATH\) is older than 4.2.*or pip install imageio-ffmpeg"):
        find_ffmpeg()


@pytest.mark.parametrize(
    ("version", "refused"),
    [("4.4.2-0ubuntu0.22.04.1", True), ("5.0.3", True), ("5.1.9-0+deb12u1", False), ("N-112233-gabcdef0", False)],
)
def test_libsvtav1_needs_a_wrapper_that_takes_crf(version, refused):
    # Before 5.1, -crf went to no option of libsvtav1's (a warning, hidden at -loglevel error): the video
    # came out at SVT-AV1's default qp 50, whatever quality was asked.
    binary = FFmpegBinary(path=Path("/usr/bin/ffmpeg"), version=version, source="PATH")
    assert plan_encoder(EncodeOptions(device="cpu"), binary).primary.encoder == "libx264"  # h264 is fine on 4.4
    for options in (EncodeOptions(codec="av1", device="cpu"), EncodeOptions(profile="lerobot")):
        if refused:
            with pytest.raises(UsageError, match=r"^libsvtav1 needs ffmpeg 5\.1 or newer, .*; this is ffmpeg "):
                plan_encoder(options, binary)
        else:
            assert plan_encoder(options, binary).primary.encoder == "libsvtav1"


def test_av1_on_an_ffmpeg_before_5_1_is_one_line(tmp_path, make_frames):
    make_frames(tmp_path / "ep", 2)
    old = an_ffmpeg(tmp_path / "old", "4.4.2-0ubuntu0.22.04.1")
    outcome = run_encodectl("encode", tmp_path / "ep", "--codec", "av1", "--device", "cpu", "--ffmpeg", old)
    assert_one_line_error(
        outcome, "libsvtav1 needs ffmpeg 5.1 or newer", f"this is ffmpeg 4.4.2-0ubuntu0.22.04.1 at {old}; --ffmpeg PATH"
    )


def test_probe_gpu_on_an_ffmpeg_before_5_1_says_av1_would_be_refused_and_goes_on(tmp_path):
    old = an_ffmpeg(tmp_path / "old", "4.4.2-0ubuntu0.22.04.1")  # lists no encoder at all: nothing to test-encode
    outcome = run_encodectl("probe-gpu", "--ffmpeg", old, "--json")
    assert outcome.exit_code == 0, outcome.stderr
    choice = outcome.json()["auto_choice"]
    assert choice["h264"] == {"encoder": "libx264", "reason": "no working hardware encoder"}
    assert choice["av1"]["encoder"] is None
    assert choice["av1"]["reason"].startswith("libsvtav1 needs ffmpeg 5.1 or newer")


def test_version_command_says_which_ffmpeg_why_and_what_else_there_is(tmp_path):
    on_path = an_ffmpeg(tmp_path / "bin")
    outcome = run_encodectl("version", env={**NO_CHOICE, "PATH": f"{on_path.parent}{os.pathsep}{os.environ['PATH']}"})
    assert outcome.exit_code == 0, outcome.stderr
    lines = outcome.stdout.splitlines()
    assert lines[0] == "encodectl 0.1.0"
    assert lines[1].startswith("ffmpeg ") and lines[1].endswith(f" at {WHEEL_FFMPEG} (found via imageio-ffmpeg)")
    assert lines[2] == "  chosen: the bundled build (imageio-ffmpeg), the one encodectl is tested against"
    wheel_version = find_ffmpeg(WHEEL_FFMPEG).version
    assert lines[3] == f"  PATH also has ffmpeg {wheel_version} at {on_path}; --ffmpeg {on_path} uses it"
    assert lines[-1] == "encodectl supports ffmpeg 4.2 and newer, and git builds"

    flag = run_encodectl("--version", env={"ENCODECTL_FFMPEG": str(on_path)})
    assert flag.exit_code == 0
    assert f"at {on_path} (found via ENCODECTL_FFMPEG)\n  chosen: set in ENCODECTL_FFMPEG\n" in flag.stdout
    assert f"  the bundled build is ffmpeg {wheel_version} at {WHEEL_FFMPEG};" in flag.stdout


def test_every_result_names_the_ffmpeg_that_ran_it(tmp_path, make_frames, ffmpeg_binary):
    make_frames(tmp_path / "ep", 3)
    make_frames(tmp_path / "bad", 2)
    (tmp_path / "bad" / "frame_000001.png").write_text("not a picture")
    outcome = run_encodectl("encode", tmp_path / "ep", tmp_path / "bad", "--json", "-o", tmp_path / "out")
    report = outcome.json()
    assert [r["status"] for r in report["results"]] == ["done", "failed"]
    assert report["ffmpeg"]["path"] == str(ffmpeg_binary.path) and report["ffmpeg"]["reason"]
    for result in report["results"]:  # the encoded one and the rejected one alike
        assert (result["ffmpeg_path"], result["ffmpeg_version"]) == (str(ffmpeg_binary.path), ffmpeg_binary.version)


def test_the_bundled_build_is_found_without_imageio_ffmpeg_running_it(monkeypatch, no_choice):
    def searched() -> str:
        raise AssertionError("imageio-ffmpeg's search runs every candidate with -version")

    monkeypatch.delenv("IMAGEIO_FFMPEG_EXE", raising=False)
    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", searched)
    assert str(find_ffmpeg().path) == WHEEL_FFMPEG


def test_the_version_is_asked_once_per_binary_across_runs_and_again_when_the_binary_changes(tmp_path):
    log = tmp_path / "runs"
    script = tmp_path / "bin" / "ffmpeg"
    script.parent.mkdir()
    script.write_text(
        f"#!/bin/sh\necho run >> '{log}'\necho 'ffmpeg version 7.1 Copyright (c) the FFmpeg developers'\n"
    )
    script.chmod(0o755)

    def a_new_run() -> str:
        binary_module._version.cache_clear()  # what a new process starts with: only the cache folder
        return find_ffmpeg(script).version

    assert (a_new_run(), a_new_run()) == ("7.1", "7.1")
    assert log.read_text().splitlines() == ["run"]
    script.write_text(script.read_text().replace("7.1", "7.10"))  # another size, whatever the mtime
    assert a_new_run() == "7.10"
    assert log.read_text().splitlines() == ["run", "run"]
