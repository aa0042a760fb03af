"""The library and the command line are one engine: each command run both ways on the same input gives the
same results (the CLI's --json against the function's pydantic result), timings and temporary names aside."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

import encodectl
from encodectl import api
from encodectl.frames.synthetic import write_dataset
from encodectl.report.text import to_json

pytestmark = pytest.mark.same_on_every_ffmpeg(
    "the CLI and the library run the same engine: whether they agree is encodectl's, whichever ffmpeg encodes"
)

# What differs between two runs of the same work: how long it took, which worker, the temporary names.
VARIABLE = {"seconds", "latency_s", "worker", "command", "wall_seconds", "probed_at", "date", "frames_digest"}
MEASURED = {"blocked_total_s", "encode_per_episode_s", "until_verified_s", "encode_fps", "speed_x", "bytes",
            "bitrate_kbps", "quality", "add_frame_p99_ms", "add_frame_max_ms", "episodes", "missed_deadlines",
            "frames_due"}  # fmt: skip


def comparable(data: Any, root: Path, drop: set[str] = VARIABLE) -> Any:
    """`data` with the variable fields dropped and the run's own folder named ROOT."""
    if isinstance(data, dict):
        return {key: comparable(value, root, drop) for key, value in data.items() if key not in drop}
    if isinstance(data, list):
        return [comparable(value, root, drop) for value in data]
    if isinstance(data, str):
        return re.sub(r"\.\d+-[0-9a-f]+\.partial", ".TEMPORARY.partial", data.replace(str(root), "ROOT"))
    return data


def as_json(result: Any) -> Any:
    """A result as the CLI's --json writes it (frame rates as numbers and exact fractions)."""
    return json.loads(to_json(result))


@pytest.fixture
def twins(tmp_path: Path, ffmpeg_binary) -> tuple[Path, Path]:
    """Two identical recordings (2 cameras x 2 episodes of 5 frames), one for each way of running."""
    write_dataset(ffmpeg_binary, tmp_path / "cli", cameras=2, episodes=2, frames=5)
    shutil.copytree(tmp_path / "cli", tmp_path / "api", symlinks=True)
    return tmp_path / "cli", tmp_path / "api"


def test_encode_gives_the_same_results_both_ways(twins, cli):
    by_cli, by_api = twins
    outcome = cli("encode", by_cli, "--quality", "30", "--json")
    results = encodectl.encode(by_api, quality=30)
    assert outcome.exit_code == 0, outcome.stderr
    assert [result.status.value for result in results] == ["done"] * 4
    assert comparable(outcome.json()["results"], by_cli) == comparable(as_json(results), by_api)


def test_encode_dry_run_plans_the_same_commands_both_ways(twins, cli):
    by_cli, by_api = twins
    outcome = cli("encode", by_cli, "--sync", "--dry-run", "--json")
    results = api.encode(by_api, mode="sync", dry_run=True)
    commands = [comparable(result["command"], by_cli) for result in outcome.json()["results"]]
    assert commands == [comparable(result.command, by_api) for result in results]
    assert len(commands) == 4 and all("-frames:v" in command for command in commands)


def test_a_bad_option_is_the_same_error_both_ways(twins, cli):
    by_cli, by_api = twins
    outcome = cli("encode", by_cli, "--quality", "99")
    with pytest.raises(encodectl.UsageError) as refused:
        api.encode(by_api, quality=99)
    assert outcome.exit_code == refused.value.exit_code == 2
    assert outcome.stderr.strip() == f"encodectl: error: {refused.value}"


def test_watch_once_gives_the_same_summary_both_ways(twins, cli):
    by_cli, by_api = twins
    outcome = cli("watch", by_cli, "--once", "--settle", "0", "--json")
    summary = encodectl.watch(by_api, once=True, settle=0)
    assert outcome.exit_code == 0, outcome.stderr
    assert summary.done == 4 and summary.failed == 0
    assert outcome.json() == as_json(summary)
    videos = sorted(path.relative_to(by_api) for path in by_api.rglob("*.mp4"))
    assert videos == sorted(path.relative_to(by_cli) for path in by_cli.rglob("*.mp4")) and len(videos) == 4


def test_check_gives_the_same_report_both_ways(twins, cli):
    by_cli, by_api = twins
    for root in twins:
        assert [r.status.value for r in encodectl.encode(root, quality=30)] == ["done"] * 4
    (by_cli / "videos" / "observation.images.top" / "episode_000001.mp4").write_bytes(b"not a video")
    (by_api / "videos" / "observation.images.top" / "episode_000001.mp4").write_bytes(b"not a video")
    outcome = cli("check", by_cli, "--json")
    report = encodectl.check(by_api)
    assert outcome.exit_code == 1 and not report.ok and report.problems == 1
    drop = VARIABLE | {"encodectl"}
    assert comparable(outcome.json(), by_cli, drop) == comparable(as_json(report), by_api, drop)


def test_recover_gives_the_same_results_both_ways(tmp_path, cli):
    (tmp_path / "empty").mkdir()
    outcome = cli("recover", tmp_path / "empty", "--json")
    assert outcome.exit_code == 0 and outcome.json() == as_json(encodectl.recover(tmp_path / "empty")) == []
    missing = cli("recover", tmp_path / "missing")
    with pytest.raises(encodectl.UsageError) as refused:
        encodectl.recover(tmp_path / "missing")
    assert missing.exit_code == refused.value.exit_code == 2
    assert missing.stderr.strip() == f"encodectl: error: {refused.value}"


def test_probe_gpu_gives_the_same_report_both_ways(cli):
    report = encodectl.probe_gpu()  # probes (or reads the session's cache); both below read the cache
    outcome = cli("probe-gpu", "--json")
    assert outcome.exit_code == 0, outcome.stderr
    again = encodectl.probe_gpu()
    assert set(again.auto_choice) == {"h264", "hevc", "av1"} and again.cached
    assert outcome.json() == as_json(again)
    assert report.auto_choice["h264"].encoder == again.auto_choice["h264"].encoder


def test_bench_gives_the_same_modes_both_ways(tmp_path, cli):
    common = {"episodes": 1, "seconds": 0.2, "cameras": 1}
    outcome = cli("bench", "--modes", "sync-cpu,sync-gpu", "--episodes", "1", "--seconds", "0.2", "--cameras", "1",
                  "--size", "64x48", "--json")  # fmt: skip
    report = encodectl.bench(modes=["sync-cpu", "sync-gpu"], size=(64, 48), **common)
    assert outcome.exit_code == 0, outcome.stderr
    drop = VARIABLE | MEASURED | {"machine", "cores"}
    by_cli, by_api = comparable(outcome.json(), tmp_path, drop), comparable(as_json(report), tmp_path, drop)
    assert by_cli == by_api
    assert [(r["mode"], r["available"], r["frames_encoded"]) for r in by_api["results"]] == [
        ("sync-cpu", True, 6),
        ("sync-gpu", False, 0),
    ]


def test_every_command_is_a_function_of_the_package():
    import encodectl.benchmarking.benchmark
    import encodectl.watching.watcher

    for name in ("encode", "watch", "check", "recover", "probe_gpu", "bench"):
        assert getattr(encodectl, name) is getattr(api, name), name


def test_a_bad_value_is_one_line_naming_the_option_both_ways(tmp_path, cli):
    # Options of watch and bench are validated as encode's are: one UsageError line, never pydantic's report.
    outcome = cli("bench", "--fps", "abc", "--modes", "sync-cpu")
    with pytest.raises(encodectl.UsageError) as refused:
        encodectl.bench(fps="abc", modes=["sync-cpu"])
    assert outcome.exit_code == refused.value.exit_code == 2
    assert outcome.stderr.strip() == f"encodectl: error: {refused.value}"
    assert str(refused.value) == "invalid --fps: not a frame rate: 'abc' (use e.g. 30, 29.97 or 30000/1001)"
    with pytest.raises(encodectl.UsageError, match=r"^invalid --settle: Input should be greater than or equal to 0$"):
        encodectl.watch(tmp_path, settle=-1, once=True)
