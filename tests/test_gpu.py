"""Hardware encoders: probing, choice, command lines, fallback and session caps.

No GPU exists here. "Listed but unusable" runs against the real ffmpeg; the
working and failing-mid-run paths use the TEST DOUBLE tests/fake_gpu_ffmpeg.py,
which plays an ffmpeg with a working NVENC by encoding with libx264 instead.
"""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from encodectl.errors import EncodeError, UsageError
from encodectl.ffmpeg.binary import find_ffmpeg
from encodectl.ffmpeg.encoder_choice import GpuEncoderConfig, parse_encoder_config, plan_encoder
from encodectl.ffmpeg.encoders import ENCODERS, encoder_settings, native_quality
from encodectl.ffmpeg.gpu_probe import listed_encoders, probe_hardware
from encodectl.frames.layout import EpisodeSource
from encodectl.job.planning import plan_job
from encodectl.job.runner import run_with_fallback
from encodectl.job.sessions import SessionLimiter
from encodectl.models import Codec, Device, EncodeOptions, JobStatus

from .conftest import BEFORE_FFMPEG, assert_one_line_error, files_in, run_encodectl
from .encoder_check import encoder_argv, encoder_options, output_options, skip_unless_runnable, unknown_options

GUIDE_CONFIG = '{"encoder_type": "nvenc", "codec": "h264", "preset": "fast"}'
GUIDE_CONFIG_WITH_QUALITY = '{"encoder_type": "nvenc", "codec": "h264", "preset": "fast", "quality": 23}'


# ---- the real ffmpeg: listed is not working -------------------------------------------------


def test_real_ffmpeg_lists_nvenc_but_the_probe_says_it_does_not_work(ffmpeg_binary):
    if "h264_nvenc" not in listed_encoders(ffmpeg_binary):
        pytest.skip("this ffmpeg build does not list h264_nvenc")
    report = probe_hardware(ffmpeg_binary, refresh=True)
    nvenc = report.find("h264_nvenc")
    assert nvenc is not None and nvenc.listed and not nvenc.works
    assert nvenc.reason and "\n" not in nvenc.reason
    assert not nvenc.reason.lower().startswith("error while opening encoder")
    assert report.working(Codec.h264) == []
    plan = plan_encoder(EncodeOptions(), ffmpeg_binary, probe=lambda _: report)
    assert plan.primary.encoder == "libx264"
    assert plan.reason == "no working hardware encoder" and "h264_nvenc" in (plan.detail or "")


def test_probe_gpu_command_tells_the_truth(ffmpeg_binary):
    outcome = run_encodectl("probe-gpu", "--json", "--refresh")
    assert outcome.exit_code == 0, outcome.stderr
    report = json.loads(outcome.stdout)
    rows = {row["encoder"]: row for row in report["encoders"]}
    assert {"h264_nvenc", "h264_qsv", "h264_amf", "h264_vaapi", "h264_videotoolbox"} <= set(rows)
    assert not any(row["works"] for row in rows.values())
    for row in rows.values():
        assert row["reason"], row
    assert report["auto_choice"]["h264"]["encoder"] == "libx264"
    assert report["auto_choice"]["av1"]["encoder"] == "libsvtav1"
    assert (report["ffmpeg"]["path"], report["ffmpeg"]["reason"]) == (str(ffmpeg_binary.path), ffmpeg_binary.reason)
    assert isinstance(report["other_ffmpeg"], list)

    table = run_encodectl("probe-gpu")
    assert table.exit_code == 0
    assert "encode --codec h264 would use libx264: no working hardware encoder" in table.stdout
    assert "cached" in table.stdout  # the second call read the cache


def test_device_gpu_falls_back_visibly(tmp_path, make_frames, decoded):
    make_frames(tmp_path / "ep", 6)
    outcome = run_encodectl("encode", tmp_path / "ep", "--device", "gpu")
    assert outcome.exit_code == 0, outcome.stderr
    assert "no working GPU encoder for h264" in outcome.stderr
    assert "encoding on the CPU with libx264" in outcome.stderr
    assert "[fallback: no working GPU encoder" in outcome.stdout
    assert decoded(tmp_path / "ep.mp4").frames == 6


def test_device_gpu_strict_fails_with_the_reason(tmp_path, make_frames):
    make_frames(tmp_path / "ep", 6)
    outcome = run_encodectl("encode", tmp_path / "ep", "--device", "gpu", "--strict")
    assert_one_line_error(outcome, "encodectl: error: no working GPU encoder for h264 here:", code=1)
    assert files_in(tmp_path) == [f"ep/frame_{i:06d}.png" for i in range(6)]


@pytest.mark.parametrize("config", [GUIDE_CONFIG, GUIDE_CONFIG_WITH_QUALITY])
def test_the_guides_encoder_config_is_accepted_as_printed(tmp_path, make_frames, config):
    make_frames(tmp_path / "ep", 4)
    outcome = run_encodectl("encode", tmp_path / "ep", "--encoder-config", config, "--json")
    assert outcome.exit_code == 0, outcome.stderr
    result = json.loads(outcome.stdout)["results"][0]
    assert result["status"] == "done" and result["encoder"] == "libx264"
    assert result["fallback"].startswith("no working nvidia encoder for h264")


@BEFORE_FFMPEG
def test_encoder_config_from_a_file_and_lerobots_extra_keys(tmp_path):
    path = tmp_path / "gpu.json"
    path.write_text(json.dumps({"encoder_type": "qsv", "codec": "hevc", "preset": "hq", "quality": 20,
                                "bitrate": "5M", "gpu_id": 1, "enable_logging": False}))  # fmt: skip
    config = parse_encoder_config(f"@{path}")
    assert config == GpuEncoderConfig(encoder_type="qsv", codec=Codec.hevc, preset="hq", quality=20, bitrate="5M",
                                      gpu_id=1, enable_logging=False)  # fmt: skip
    options = EncodeOptions(**config.as_options())
    assert (options.device, options.vendor, options.codec) == (Device.gpu, "intel", Codec.hevc)
    settings = encoder_settings(ENCODERS["hevc_qsv"], options)
    assert settings.arguments["b:v"] == "5M" and settings.arguments["preset"] == "slow"
    assert "global_quality" not in settings.arguments
    assert settings.global_args == ["-qsv_device", "/dev/dri/renderD129"]


@BEFORE_FFMPEG
@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            '{"encoder_type": "nvenc", "codek": "h264"}',
            "unknown key(s) codek; allowed: encoder_type, codec, preset",
        ),
        ('{"encoder_type": "cuda"}', "encoder_type: Input should be 'auto', 'software', 'cpu', 'nvenc'"),
        ('{"quality": 99}', "quality: Input should be less than or equal to 51"),
        ('{"encoder_type": "nvenc",}', "is not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ("@/no/such/file.json", "cannot read --encoder-config file"),
    ],
)
def test_bad_encoder_config_gets_one_line_listing_what_is_allowed(tmp_path, config, message):
    (tmp_path / "ep").mkdir()
    outcome = run_encodectl("encode", tmp_path / "ep", "--encoder-config", config)
    assert_one_line_error(outcome, message)


def test_forcing_an_encoder_this_ffmpeg_lacks(tmp_path, make_frames, ffmpeg_binary):
    if "h264_videotoolbox" in listed_encoders(ffmpeg_binary):
        pytest.skip("this ffmpeg has videotoolbox")
    make_frames(tmp_path / "ep", 3)
    outcome = run_encodectl("encode", tmp_path / "ep", "--encoder", "h264_videotoolbox")
    assert outcome.exit_code == 2
    assert "h264_videotoolbox is not compiled into this ffmpeg" in outcome.stderr


# ---- one quality and preset scale ---------------------------------------------------------

SOFTWARE = [name for name, spec in ENCODERS.items() if not spec.hardware]


def scale_variants(name: str) -> dict[str, EncodeOptions]:
    """Both ends of --quality, every generic preset, the encoder's native presets' ends, LeRobot's profile."""
    spec = ENCODERS[name]
    variants = {
        "quality 23 fast": EncodeOptions(),
        "quality 0 slow": EncodeOptions(quality=0, preset="slow"),
        "quality 51 medium": EncodeOptions(quality=51, preset="medium"),
        "lerobot": EncodeOptions(profile="lerobot"),
    }
    for native in dict.fromkeys(spec.native_presets[:1] + spec.native_presets[-1:]):
        variants[f"preset {native}"] = EncodeOptions(preset=native)
    return variants


@pytest.fixture
def square_frames(tmp_path, make_frames):
    """3 frames of 64x64: SVT-AV1 before 2.0 refuses anything under 64 lines."""
    make_frames(tmp_path / "ep", 3, (64, 64))
    return tmp_path / "ep"


@pytest.mark.parametrize(
    ("encoder", "variant"), [(name, variant) for name in SOFTWARE for variant in scale_variants(name)]
)
def test_every_software_encoder_takes_every_quality_and_preset(ffmpeg_binary, square_frames, decoded, encoder,
                                                                variant):  # fmt: skip
    skip_unless_runnable(ffmpeg_binary, encoder)
    settings = encoder_settings(ENCODERS[encoder], scale_variants(encoder)[variant])
    video = square_frames.parent / "ep.mp4"
    argv = encoder_argv(ffmpeg_binary, square_frames, video, settings)
    completed = subprocess.run(argv, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    assert decoded(video).frames == 3
    assert unknown_options(ffmpeg_binary, encoder, argv) == []  # ffmpeg would take an option another encoder has


@pytest.mark.parametrize("encoder", SOFTWARE)
def test_a_better_quality_makes_a_bigger_video_on_every_software_encoder(ffmpeg_binary, square_frames, encoder):
    skip_unless_runnable(ffmpeg_binary, encoder)
    sizes = []
    for quality in (10, 45):
        video = square_frames.parent / f"q{quality}.mp4"
        argv = encoder_argv(ffmpeg_binary, square_frames, video, encoder_settings(ENCODERS[encoder],
                            EncodeOptions(quality=quality)))  # fmt: skip
        assert subprocess.run(argv, capture_output=True).returncode == 0
        sizes.append(video.stat().st_size)
    assert sizes[0] > sizes[1] * 1.2, sizes


@pytest.mark.parametrize("encoder", list(ENCODERS))
@pytest.mark.parametrize(
    "options",
    [EncodeOptions(), EncodeOptions(quality=0, preset="slow"), EncodeOptions(gpu_id=1)],
    ids=["quality 23 fast", "quality 0 slow", "gpu 1"],
)
def test_every_encoders_options_are_ones_its_ffmpeg_lists(ffmpeg_binary, tmp_path, make_frames, encoder, options):
    """Hardware encoders cannot run here; where this build knows one, its -h encoder= listing still says
    which options it takes and which values: every option of the argv must be there, with a value it takes."""
    make_frames(tmp_path / "ep", 2)
    argv = encoder_argv(ffmpeg_binary, tmp_path / "ep", tmp_path / "ep.mp4", encoder_settings(ENCODERS[encoder],
                        options))  # fmt: skip
    if encoder_options(ffmpeg_binary, encoder) is not None:
        # This check found av1_vaapi given a -qp it does not have (now -global_quality).
        assert unknown_options(ffmpeg_binary, encoder, argv) == []
        return
    # This build lacks the encoder: only the command's shape can be checked.
    assert argv[argv.index("-c:v") + 1] == encoder and argv.count("-c:v") == 1
    assert all(value for _, value in output_options(argv) if value is not None)
    better = encoder_settings(ENCODERS[encoder], options.model_copy(update={"quality": options.quality + 20}))
    assert encoder_argv(ffmpeg_binary, tmp_path / "ep", tmp_path / "ep.mp4", better) != argv  # --quality reaches it


def test_quality_scale_ends_and_native_presets():
    assert [native_quality(ENCODERS["libx264"], q) for q in (0, 51)] == [0, 51]
    assert [native_quality(ENCODERS["libsvtav1"], q) for q in (0, 51)] == [0, 63]
    assert [native_quality(ENCODERS["h264_videotoolbox"], q) for q in (0, 51)] == [100, 1]
    slow = encoder_settings(ENCODERS["h264_nvenc"], EncodeOptions(preset="p7"))
    assert slow.arguments["preset"] == "p7"
    vaapi = encoder_settings(ENCODERS["h264_vaapi"], EncodeOptions())
    assert vaapi.global_args == ["-vaapi_device", "/dev/dri/renderD128"]
    assert (vaapi.input_pix_fmt, vaapi.upload_filter) == ("nv12", "hwupload")
    with pytest.raises(UsageError, match="preset 'p7' does not fit libx264; use one of: fast, medium, slow"):
        encoder_settings(ENCODERS["libx264"], EncodeOptions(preset="p7"))


# ---- the test double: a working NVENC, and one that fails mid-run --------------------------


def test_working_gpu_is_chosen_and_its_command_line_is_right(tmp_path, make_frames, fake_gpu, decoded):
    make_frames(tmp_path / "ep", 9)
    outcome = run_encodectl("encode", tmp_path / "ep", "--ffmpeg", fake_gpu.path, "--json")
    assert outcome.exit_code == 0, outcome.stderr
    result = json.loads(outcome.stdout)["results"][0]
    assert (result["status"], result["encoder"], result["fallback"]) == ("done", "h264_nvenc", None)
    encode = [argv for argv in fake_gpu.nvenc_commands() if "lavfi" not in argv]
    assert len(encode) == 1
    argv = encode[0]
    for option, value in [
        ("-c:v", "h264_nvenc"),
        ("-cq", "23"),
        ("-rc", "vbr"),
        ("-b:v", "0"),
        ("-preset", "p2"),
    ]:
        assert argv[argv.index(option) + 1] == value
    assert decoded(tmp_path / "ep.mp4").frames == 9


def test_probe_is_cached_per_binary_and_refresh_probes_again(fake_gpu, monkeypatch):
    binary = find_ffmpeg(fake_gpu.path)
    first = probe_hardware(binary)
    assert first.working(Codec.h264) == ["h264_nvenc"] and not first.cached
    probes_run = len(fake_gpu.nvenc_commands())
    again = probe_hardware(binary)
    assert again.cached and len(fake_gpu.nvenc_commands()) == probes_run
    probe_hardware(binary, refresh=True)
    assert len(fake_gpu.nvenc_commands()) > probes_run
    os.utime(fake_gpu.path, ns=(1, 1))  # a changed binary is probed anew
    assert not probe_hardware(find_ffmpeg(fake_gpu.path)).cached


def test_gpu_failing_mid_run_falls_back_to_cpu(tmp_path, make_frames, fake_gpu, monkeypatch, decoded):
    monkeypatch.setenv("FAKE_NVENC_MODE", "fail-at-run")
    make_frames(tmp_path / "ep", 7)
    outcome = run_encodectl("encode", tmp_path / "ep", "--ffmpeg", fake_gpu.path, "--json")
    assert outcome.exit_code == 0, outcome.stderr
    result = json.loads(outcome.stdout)["results"][0]
    assert result["encoder"] == "libx264"
    assert result["fallback"] == "h264_nvenc failed (exit 1): Cannot load libcuda.so.1"
    assert decoded(tmp_path / "ep.mp4").frames == 7
    assert files_in(tmp_path).count("ep.mp4") == 1 and not any(".partial" in f for f in files_in(tmp_path))

    strict = run_encodectl("encode", tmp_path / "ep", "--ffmpeg", fake_gpu.path, "--strict", "--overwrite", "--json")
    assert strict.exit_code == 1
    failed = json.loads(strict.stdout)["results"][0]
    assert failed["status"] == "failed" and "Cannot load libcuda.so.1" in failed["reason"]
    assert failed["fallback"] is None


def test_session_limit_lowers_the_cap_instead_of_failing_job_after_job(tmp_path, make_frames, fake_gpu, monkeypatch):
    # The "card" allows one NVENC session; four jobs start at once under a cap of 3.
    monkeypatch.setenv("FAKE_NVENC_MODE", "sessions:1")
    binary = find_ffmpeg(fake_gpu.path)
    options = EncodeOptions(device="gpu", gpu_sessions=3)
    plan = plan_encoder(options, binary)
    assert plan.primary.encoder == "h264_nvenc"
    limiter = SessionLimiter(options.gpu_sessions)
    jobs = []
    for index in range(4):
        make_frames(tmp_path / f"ep{index}", 5)
        source = EpisodeSource(
            directory=tmp_path / f"ep{index}", output=tmp_path / f"ep{index}.mp4", episode=f"ep{index}"
        )
        jobs.append(plan_job(source, options, plan.primary))
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(lambda job: run_with_fallback(job, binary, fallback=plan.fallback, limiter=limiter), jobs)
        )
    assert [r.status for r in results] == [JobStatus.done] * 4
    assert limiter.cap("h264_nvenc") == 1
    assert any("hit its session limit" in note for r in results for note in r.notes)
    # After the cap came down, the retried jobs ran on the "GPU", not the CPU fallback.
    assert sum(r.encoder == "h264_nvenc" for r in results) >= 3


def test_strict_plan_without_any_hardware_raises(ffmpeg_binary):
    with pytest.raises(EncodeError, match="no working GPU encoder for hevc here"):
        plan_encoder(EncodeOptions(device="gpu", codec="hevc", strict=True), ffmpeg_binary)
