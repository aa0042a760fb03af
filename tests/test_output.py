"""What people and programs see: the closing table, the live view and every --help, at 80 and 120 columns,
compared with snapshots in tests/snapshots/ (ENCODECTL_UPDATE_SNAPSHOTS=1 rewrites them; read the diff), and
checked for what a snapshot cannot show by itself: no line over the width, no word split, no trailing space
in a pipe, no colour where colour is not wanted.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from encodectl.benchmarking.measures import BenchMode, BenchOptions, BenchReport, EpisodeMeasure, ModeResult
from encodectl.benchmarking.quality import QualityScore
from encodectl.cli import command_names
from encodectl.ffmpeg.encoder_choice import CodecChoice, HardwareReport
from encodectl.ffmpeg.gpu_probe import EncoderProbe
from encodectl.frames.synthetic import write_dataset
from encodectl.job.progress import JobState, JobView, RunSnapshot
from encodectl.models import Codec, FFmpegBinary, JobResult, JobStatus, RunReport
from encodectl.report.bench import bench_lines, bench_notes, bench_tables
from encodectl.report.live import live_view
from encodectl.report.probe import print_probe
from encodectl.report.results import print_report, summarize, summary_line
from encodectl.report.text import human_size

from .conftest import run_encodectl

SNAPSHOTS = Path(__file__).parent / "snapshots"
WIDTHS = (80, 120)
RENDERING = pytest.mark.same_on_every_ffmpeg("rendered from fixed values or help texts: no ffmpeg decides them")

ROOT = Path("/data/lerobot/me/pick_cube")
CAMERAS = ("observation.images.top", "observation.images.wrist")

RENDERED_BY_ENCODECTL = pytest.mark.same_on_every_ffmpeg(
    "what is printed, and how, is encodectl's rendering of its results; the encodes are incidental"
)


def fixed_results() -> list[JobResult]:
    """A dataset's run as a user meets it: two cameras, a failed episode, a skipped one, a fallback."""
    results = [
        JobResult(
            source=ROOT / "images" / camera / f"episode_{episode:06d}",
            output=ROOT / "videos" / camera / f"episode_{episode:06d}.mp4",
            episode=f"episode_{episode:06d}",
            camera=camera,
            status=JobStatus.done,
            frames=300,
            source_frames=300,
            fps="30000/1001",
            encoder="libsvtav1" if episode else "h264_nvenc",
            seconds=4.96 + episode,
            size_bytes=3_687_424 + 1000 * episode,
        )
        for camera in CAMERAS
        for episode in range(3)
    ]
    results[1].fallback = "h264_nvenc failed: OpenEncodeSessionEx failed: out of memory (10)"
    results.append(
        JobResult(
            source=ROOT / "images" / CAMERAS[1] / "episode_000003",
            output=ROOT / "videos" / CAMERAS[1] / "episode_000003.mp4",
            episode="episode_000003",
            camera=CAMERAS[1],
            status=JobStatus.failed,
            reason="frame_000004.png is 64x40, the others are 64x48",
        )
    )
    results.append(
        JobResult(
            source=ROOT / "images" / CAMERAS[0] / "episode_000003",
            output=ROOT / "videos" / CAMERAS[0] / "episode_000003.mp4",
            episode="episode_000003",
            camera=CAMERAS[0],
            status=JobStatus.skipped,
            reason="the video exists (--overwrite redoes it)",
        )
    )
    return results


def fixed_report() -> RunReport:
    binary = FFmpegBinary(path=Path("/usr/bin/ffmpeg"), version="9.0.2", source="imageio-ffmpeg")
    results = fixed_results()
    return RunReport(encodectl="0.1.0", ffmpeg=binary, results=results, summary=summarize(results, 12.5))


def fixed_snapshot() -> RunSnapshot:
    views = [
        JobView(camera=CAMERAS[0], episode="episode_000004", state=JobState.running, encoder="libsvtav1",
                frames_done=37, frames_total=300, fps=61.4, speed=2.05),
        JobView(camera=CAMERAS[1], episode="episode_000004", state=JobState.verifying, encoder="h264_nvenc",
                frames_done=300, frames_total=300, fps=412.0, speed=13.7),
        JobView(camera=CAMERAS[0], episode="episode_000005", state=JobState.fallback, encoder="libx264",
                frames_done=12, frames_total=300, fps=30.5, speed=1.02),
        JobView(camera=CAMERAS[1], episode="episode_000005"),
    ]  # fmt: skip
    return RunSnapshot(active=views, queued=7, running=3, done=8, skipped=1, failed=1, frames_encoded=2449,
                       elapsed=75.0)  # fmt: skip


def rendered(renderable_or_report: object, width: int) -> str:
    console = Console(width=width, record=True, color_system=None, force_terminal=True, file=io.StringIO())
    if isinstance(renderable_or_report, RunReport):
        print_report(console, renderable_or_report, table=True)
    else:
        console.print(renderable_or_report)
    return console.export_text()


def matches_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("ENCODECTL_UPDATE_SNAPSHOTS"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"no snapshot {path}: run with ENCODECTL_UPDATE_SNAPSHOTS=1 and read it"
    assert text == path.read_text(), f"{name} changed; ENCODECTL_UPDATE_SNAPSHOTS=1 rewrites it (read the diff)"


def vocabulary(*texts: str) -> set[str]:
    return {word for text in texts for word in re.split(r'[\s/",:{}\[\]]+', text) if word}


def assert_fits_and_splits_no_word(text: str, width: int, allowed: set[str]) -> None:
    """Every line within `width`; every word shown is a whole word of the data (a word cut in two by a
    wrap would show as two words neither of which is one), or a path's tail after an ellipsis."""
    for line in text.splitlines():
        assert len(line) <= width, line
    for word in vocabulary(text):
        if word in allowed or set(word) <= set("─━"):
            continue
        assert word.startswith("…") and any(known.endswith(word[1:]) for known in allowed), word


def report_vocabulary(report: RunReport) -> set[str]:
    words = vocabulary(
        "status camera episode frames encoder time size fps video videos under",
        "done failed skipped s MiB KiB top wrist fallback: jobs",
        *(json.dumps(result.model_dump(mode="json")) for result in report.results),
        *(f"{result.status.value} {result.label}: {result.reason} {result.fallback}" for result in report.results),
        *(
            f"{result.seconds:.2f} {result.frames / result.seconds:.0f} {human_size(result.size_bytes)}"
            for result in report.results
            if result.seconds
        ),
        f"{report.summary} ffmpeg {report.ffmpeg.version} frames in {report.summary.wall_seconds}",
        summary_line(report.summary),
    )
    return words | {"·", "(imageio-ffmpeg)", "(144"}


@RENDERING
@pytest.mark.parametrize("width", WIDTHS)
def test_the_closing_table_fits_and_matches_its_snapshot(width):
    report = fixed_report()
    text = rendered(report, width)
    summary = "6 done, 1 skipped, 1 on the CPU after a GPU fallback, 1 failed of 8 job(s)"
    assert_fits_and_splits_no_word(text, width, report_vocabulary(report) | vocabulary(summary, "1800 (144 fps) 21.1"))
    assert "episode_000002" in text and "libsvtav1" in text and "episode_000003" in text
    assert "frame_000004.png is 64x40, the others are 64x48" in " ".join(text.split())  # why it failed, whole
    matches_snapshot(f"closing-table-{width}.txt", text)


@RENDERING
def test_the_closing_table_keeps_the_essential_columns_when_narrow_and_gains_some_when_wide():
    report = fixed_report()
    header = {width: rendered(report, width).splitlines()[0].split() for width in (40, 80, 120)}
    assert header[40][:2] == ["status", "camera"] and "episode" in header[40]
    assert {"frames", "encoder", "time", "size"} <= set(header[80])
    assert header[120][-1] == "video" and "video" not in header[80]


@RENDERING
@pytest.mark.parametrize("width", WIDTHS)
def test_the_live_view_fits_and_matches_its_snapshot(width):
    snapshot = fixed_snapshot()
    text = rendered(live_view(snapshot, width=width), width)
    allowed = vocabulary(
        "camera episode encoder progress frames fps speed eta state top wrist queued running verifying fallback",
        "done skipped failed · (+6 queued) 1:15 37/300 300/300 12/300 61 412 30 2.05x 13.70x 1.02x 0:04 0:09",
        "queue 7 · running 3 · done 8 · skipped 1 · failed 1 · 92 fps",
        *(view.model_dump_json() for view in snapshot.active),
    )
    assert_fits_and_splits_no_word(text.replace("━", " "), width, allowed)
    assert len(text.splitlines()) == 1 + len(snapshot.active) + 1  # a row each and the footer: nothing wrapped
    matches_snapshot(f"live-view-{width}.txt", text)


@RENDERING
def test_the_live_footer_counts_frames_being_encoded_now():
    # The running jobs' rates from ffmpeg's progress, not only what finished jobs encoded.
    snapshot = fixed_snapshot()
    # A job being verified encodes no more: its rate is not counted.
    assert snapshot.live_fps == pytest.approx(61.4 + 30.5)
    assert f"{61.4 + 30.5:.0f} fps" in rendered(live_view(snapshot, width=80), 80)
    idle = snapshot.model_copy(update={"active": [], "running": 0})
    assert idle.live_fps == pytest.approx(2449 / 75.0)


COMMANDS = ["", *command_names()]  # a new command gets its snapshot with ENCODECTL_UPDATE_SNAPSHOTS=1


@RENDERING
@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_every_command(command):
    outcome = run_encodectl(*command.split(), "--help", env={"COLUMNS": "80", "TERM": "dumb"})
    assert outcome.exit_code == 0, outcome.stderr
    text = outcome.stdout
    usage = text.splitlines()[0]
    assert usage.startswith(f"Usage: encodectl {command}".rstrip()), usage
    for type_name in ("<list[", "<str>", "<int>", "<float>", "<path>", "{"):
        assert type_name not in usage and type_name not in text.replace('{"encoder_type"', ""), type_name
    for line in text.splitlines():
        assert len(line) <= 80 and line == line.rstrip(), line
    assert "the guide's" not in text.lower() or command == "bench"
    matches_snapshot(f"help-{command or 'encodectl'}.txt", text)


@RENDERING
def test_bare_encodectl_prints_the_help():
    outcome = run_encodectl()
    assert outcome.exit_code in (0, 2)
    assert outcome.stdout.startswith("Usage: encodectl") and "Commands:" in outcome.stdout


@RENDERING
def test_bench_help_describes_bench():
    text = run_encodectl("bench", "--help", env={"COLUMNS": "200"}).stdout
    fps = next(line for line in text.splitlines() if line.lstrip().startswith("--fps"))
    assert "simulated recording" in fps and "LeRobot dataset" not in fps
    assert "--quick" in text and "win" in text


@RENDERING
@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["watch", "x", "--overwrite"], "No such option: --overwrite: `watch` has none; watch redoes a video itself"),
        (["watch", "x", "--dry-run"], "`watch` has none; `encodectl encode DIRECTORY --dry-run` prints the commands"),
        (["encode", "x", "--refresh"], "No such option: --refresh: `encode` has none (probe-gpu has)"),
    ],
)
def test_an_option_of_another_command_is_explained_not_guessed(args, fragment):
    outcome = run_encodectl(*args)
    assert outcome.exit_code == 2
    assert fragment in outcome.stderr and "Possible options" not in outcome.stderr and "path that" not in outcome.stderr


SGR_COLOUR = re.compile(r"\x1b\[[0-9;]*(3[0-9]|4[0-9]|9[0-7]|38;|48;)[0-9;]*m")


@RENDERED_BY_ENCODECTL
@pytest.mark.parametrize(("env", "coloured"), [({}, True), ({"NO_COLOR": "1"}, False), ({"TERM": "dumb"}, False)])
def test_colour_only_where_wanted(tmp_path, ffmpeg_binary, env, coloured):
    write_dataset(ffmpeg_binary, tmp_path, cameras=1, episodes=2, frames=3, size=(64, 48))
    # FORCE_COLOR makes Rich take the pipe for a terminal, as a CI log viewer's does.
    base = {"FORCE_COLOR": "1", "TERM": "xterm-256color", "COLUMNS": "80"}
    outcome = run_encodectl("encode", tmp_path, env={**base, **env})
    assert outcome.exit_code == 0, outcome.stderr
    assert bool(SGR_COLOUR.search(outcome.stdout)) is coloured


@RENDERED_BY_ENCODECTL
def test_pipe_output_is_plain_lines(tmp_path, ffmpeg_binary):
    write_dataset(ffmpeg_binary, tmp_path, cameras=2, episodes=2, frames=3, size=(64, 48))
    outcome = run_encodectl("encode", tmp_path, env={"COLUMNS": "80"})
    assert outcome.exit_code == 0, outcome.stderr
    lines = outcome.stdout.splitlines()
    assert len(lines) == 4 + 1  # a line per job, then the summary: no table, no padding
    for line in lines:
        assert line == line.rstrip() and "\x1b" not in line and "━" not in line and "─" not in line
    assert all(line.startswith("done ") for line in lines[:4])
    assert lines[-1].startswith("4 done, 0 failed of 4 job(s)")


@RENDERED_BY_ENCODECTL
def test_json_numbers_are_numbers(tmp_path, make_frames):
    make_frames(tmp_path / "ep", 3)
    outcome = run_encodectl("encode", tmp_path / "ep", "--fps", "29.97", "--json")
    assert outcome.exit_code == 0, outcome.stderr
    (result,) = json.loads(outcome.stdout)["results"]
    assert result["fps"] == pytest.approx(30000 / 1001) and isinstance(result["fps"], float)
    assert result["fps_exact"] == "30000/1001"
    assert isinstance(result["frames"], int) and isinstance(result["seconds"], float)
    again = json.loads(run_encodectl("encode", tmp_path / "ep", "--fps", "25", "--json", "--overwrite").stdout)
    assert again["results"][0]["fps"] == 25 and again["results"][0]["fps_exact"] == "25/1"


def fixed_probe() -> HardwareReport:
    binary = FFmpegBinary(path=Path("/usr/bin/ffmpeg"), version="9.0.2", source="PATH")
    reasons = {"nvidia": "Cannot load libcuda.so.1", "intel": "Error creating a MFX session: -9.",
               "vaapi": "no render device /dev/dri/renderD128"}  # fmt: skip
    encoders = [
        EncoderProbe(encoder=f"{codec.value}_{suffix}", vendor=vendor, codec=codec, listed=True,
                     works=vendor == "intel", seconds=0.11, reason="" if vendor == "intel" else reasons[vendor])
        for vendor, suffix in (("nvidia", "nvenc"), ("intel", "qsv"), ("vaapi", "vaapi"))
        for codec in Codec
    ]  # fmt: skip
    encoders.append(EncoderProbe(encoder="hevc_videotoolbox", vendor="apple", codec=Codec.hevc, listed=False,
                                 works=False, reason="not compiled into this ffmpeg"))  # fmt: skip
    return HardwareReport(
        ffmpeg=binary, driver="", probed_at=datetime(2026, 12, 6, 8, 0, tzinfo=UTC), encoders=encoders, cached=True,
        auto_choice={"h264": CodecChoice(encoder=None, reason="h264_qsv works here")}, other_ffmpeg=[],
    )  # fmt: skip


@RENDERING
@pytest.mark.parametrize("width", WIDTHS)
def test_the_probe_table_fits_and_matches_its_snapshot(width):
    report = fixed_probe()
    console = Console(width=width, record=True, color_system=None, force_terminal=True, file=io.StringIO())
    print_probe(console, report, table=True)
    text = console.export_text()
    allowed = vocabulary(
        "hardware encoders in ffmpeg 9.0.2 encoder vendor codec listed works time reason yes no 0.11 s",
        "cached 2026-12-06 08:00 UTC (--refresh to probe again) at /usr/bin/ffmpeg (found via PATH) encodectl",
        "encode --codec h264 would refuse: h264_qsv works here",
        *(probe.model_dump_json() for probe in report.encoders),
    )
    assert_fits_and_splits_no_word(text, width, allowed)
    assert "no render device /dev/dri/renderD128" in " ".join(text.split())
    matches_snapshot(f"probe-gpu-{width}.txt", text)


def fixed_bench() -> BenchReport:
    measured = [
        ModeResult(mode=BenchMode(mode), available=True, encoder="libx264", blocked_total_s=blocked, episodes=[
            EpisodeMeasure(episode=0, blocked_s=blocked / 2, encode_s=21.0, missed_deadlines=0),
            EpisodeMeasure(episode=1, blocked_s=blocked / 2, encode_s=21.0, missed_deadlines=0)],
            encode_per_episode_s=encode, until_verified_s=verified, episode_seconds=10.0, frames_encoded=1200,
            encode_fps=fps, speed_x=speed, bytes=10_000_000, bitrate_kbps=4021, missed_deadlines=0, frames_due=600,
            quality=QualityScore(psnr_db=40.4, ssim=0.942))
        for mode, blocked, encode, verified, fps, speed in (("sync-cpu", 42.0, 21.0, 0.0, 29, 0.95),
                                                            ("async-cpu", 0.00024, 25.9, 30.0, 16, 0.77))
    ]  # fmt: skip
    unavailable = [
        ModeResult(mode=BenchMode(mode), available=False, reason="no working GPU encoder for h264 here: h264_nvenc: "
                   "Cannot load libcuda.so.1")
        for mode in ("sync-gpu", "async-gpu")
    ]  # fmt: skip
    return BenchReport(date=datetime(2026, 11, 25, tzinfo=UTC), machine="Linux x86_64, 2 cores", cores=2,
                       ffmpeg="n9.0.2", options=BenchOptions(), results=measured + unavailable)  # fmt: skip


@RENDERING
@pytest.mark.parametrize("width", WIDTHS)
def test_the_bench_tables_fit_and_match_their_snapshot(width):
    report = fixed_bench()
    console = Console(width=width, record=True, color_system=None, force_terminal=True, file=io.StringIO())
    for part in bench_tables(report, width=width):
        console.print(part)
    text = console.export_text()
    for line in text.splitlines():
        assert len(line) <= width, line
    words = vocabulary(text)
    assert {"~45-60s", "Blocks", "recording", "~135-150s", "sync-cpu", "async-gpu", "unavailable"} <= words
    assert "0.12 ms" in text and "21.0 s (~189 s / 90 s)" in text
    matches_snapshot(f"bench-{width}.txt", text)


@RENDERING
def test_the_bench_in_a_pipe_is_plain_lines():
    report = fixed_bench()
    lines = bench_lines(report) + bench_notes(report)
    assert all(line == line.strip() and "  " not in line for line in lines)
    assert lines[1] == (
        "sync-cpu: libx264; per episode blocked 21.0 s, encode 21.0 s; all verified 0.00 ms after the recording; "
        "29 fps, 0.95x real time, 4021 kb/s; PSNR 40.4 dB, SSIM 0.942; missed deadlines 0 of 600"
    )
    assert "sync-gpu: unavailable; the guide claims ~15-25s · Blocks recording · ~105-115s" in lines
    assert (
        "sync-cpu: encoding 21.0 s (~189 s / 90 s); blocks recording (21.0 s); total 31.0 s; the guide claims "
        "~45-60s · Blocks recording · ~135-150s" in lines
    )
    matches_snapshot("bench-pipe.txt", "\n".join(lines) + "\n")


@RENDERING
def test_the_command_reference_in_the_docs_is_the_cli_help():
    script = Path(__file__).parent.parent / "scripts" / "command_reference.py"
    outcome = subprocess.run([sys.executable, script, "--check"], capture_output=True, text=True, check=False)
    assert outcome.returncode == 0, outcome.stderr


@RENDERED_BY_ENCODECTL
def test_explicit_options_win_over_bench_quick():
    outcome = run_encodectl("bench", "--quick", "--modes", "sync-cpu", "--episodes", "1", "--seconds", "0.5",
                            "--cameras", "1", "--json", timeout=240)  # fmt: skip
    assert outcome.exit_code == 0, outcome.stderr
    options = json.loads(outcome.stdout)["options"]
    # --episodes and --seconds given: they stay; --size not given: --quick's 320x240.
    assert (options["episodes"], options["seconds"], options["size"]) == (1, 0.5, [320, 240])
    assert options["fps"] == 30 and options["fps_exact"] == "30/1"


@RENDERED_BY_ENCODECTL
def test_a_watch_rerun_counts_the_videos_in_its_ledger(tmp_path, ffmpeg_binary):
    write_dataset(ffmpeg_binary, tmp_path, cameras=1, episodes=2, frames=3, size=(64, 48))
    first = run_encodectl("watch", tmp_path, "--once", "--settle", "0")
    assert first.exit_code == 0, first.stderr
    assert first.stdout.splitlines()[-1].startswith("2 done (0 redone after late frames)")
    again = run_encodectl("watch", tmp_path, "--once", "--settle", "0")
    assert again.exit_code == 0, again.stderr
    assert again.stdout.splitlines()[-1] == (
        "0 done (0 redone after late frames), 0 found already encoded, 0 failed, 0 still being recorded; "
        "2 verified video(s) in the ledger"
    )
    summary = json.loads(run_encodectl("watch", tmp_path, "--once", "--settle", "0", "--json").stdout)
    assert (summary["done"], summary["done_in_ledger"]) == (0, 2)


@RENDERING
@pytest.mark.parametrize(("once", "expected"), [
    (False, "behind the recording: 1 episode(s), 30 frames waiting; about 1 s to catch up at 30 fps"),
    (True, "queued 1 episode(s), 30 frames waiting; about 1 s to finish at 30 fps"),
])  # fmt: skip
def test_watch_once_speaks_of_a_queue_not_of_a_recording(tmp_path, once, expected):
    # `watch --once` encodes what a recording left, often with none running: its queue is work, not lag.
    from types import SimpleNamespace

    from encodectl.job.progress import RunTracker
    from encodectl.models import EncodeOptions
    from encodectl.watching.watcher import Watcher, WatchOptions

    said: list[str] = []
    tracker = RunTracker()
    job = tracker.add("episode_000000")
    tracker.listener(job).started("libx264", 30)
    tracker.listener(job).progress(SimpleNamespace(frame=15, fps=30.0, speed=1.0))  # type: ignore[arg-type]
    watcher = Watcher(WatchOptions(root=tmp_path, once=once), EncodeOptions(), None, None, tracker, said.append)  # type: ignore[arg-type]
    watcher._queue_since = time.monotonic() - 60  # queued long enough to be said
    actor = SimpleNamespace(queued=lambda: (1, 30))  # one episode of 30 frames waiting in the pool's queue
    watcher._report_backlog(actor, SimpleNamespace(queue_depth=1))  # type: ignore[arg-type]
    assert said == [expected]
    watcher._report_backlog(actor, SimpleNamespace(queue_depth=0))  # type: ignore[arg-type]
    assert said[1:] == ([] if once else ["caught up with the recording"])


@RENDERING
def test_verbose_shows_every_detail_of_each_job_wrapped_between_words():
    report = fixed_report()
    console = Console(width=80, record=True, color_system=None, force_terminal=True, file=io.StringIO())
    print_report(console, report, table=True, verbose=True)
    text = console.export_text()
    flat = " ".join(text.split())
    for result in report.results:
        assert result.label in flat
    assert str(report.results[0].output) in flat  # the full path, which the table leaves out at 80 columns
    assert "[fallback: h264_nvenc failed: OpenEncodeSessionEx failed: out of memory (10)]" in flat
    assert_fits_and_splits_no_word(text, 80, report_vocabulary(report) | vocabulary("-> [300 frames, 60 fps, 50 43"))
