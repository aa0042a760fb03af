"""Depth frames (16-bit single-channel PNG and TIFF) kept exactly, checked by an independent decoder (PyAV).

The frames come from encodectl.frames.synthetic.depth_maps, which has the zero holes real depth has; every
round trip is compared value for value with those arrays, not with what ffmpeg reads of the files.
"""

from __future__ import annotations

import json
import math
import shutil
import struct
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from encodectl.frames.synthetic import depth_maps, write_depth_frames

from .conftest import assert_one_line_error, files_in, run_encodectl

SIZE = (64, 48)
FIXTURES = Path(__file__).parent / "fixtures" / "lerobot"
DEPTH_KEY = "observation.images.depth"


def decoded_depth(path: Path, pix_fmt: str = "gray16le") -> tuple[list[np.ndarray], list[Fraction], str, str]:
    """Every frame of a video as PyAV decodes it (its own libav, not our ffmpeg), with timestamps in seconds."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames, stamps = [], []
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format=pix_fmt))
            stamps.append(frame.pts * stream.time_base)
        return frames, stamps, stream.codec_context.name, container.format.name


def lerobot_codes(depth: np.ndarray, low: float = 0.01, high: float = 10.0, shift: float = 3.5) -> np.ndarray:
    """LeRobot 0.6's quantize_depth (lerobot/datasets/depth_utils.py), in double precision."""
    log_low, log_high = math.log(low * 1000 + shift * 1000), math.log(high * 1000 + shift * 1000)
    norm = (np.log(depth.astype(np.float64) + shift * 1000) - log_low) / (log_high - log_low)
    return np.clip(np.rint(norm * 4095), 0, 4095).astype(np.uint16)


def write_tiff(path: Path, depth: np.ndarray, big_endian: bool, rows_per_strip: int = 16) -> None:
    """An uncompressed 16-bit grayscale TIFF written by hand, in either byte order."""
    order = ">" if big_endian else "<"
    height, width = depth.shape
    data = depth.astype(f"{order}u2").tobytes()
    strip_bytes = rows_per_strip * width * 2
    strips = [data[start : start + strip_bytes] for start in range(0, len(data), strip_bytes)]
    count = len(strips)
    entries = [
        (256, 4, [width]), (257, 4, [height]), (258, 3, [16]), (259, 3, [1]), (262, 3, [1]), (273, 4, None),
        (277, 3, [1]), (278, 4, [rows_per_strip]), (279, 4, [len(strip) for strip in strips]),
    ]  # fmt: skip
    directory = 8
    arrays = directory + 2 + 12 * len(entries) + 4
    offsets_at, counts_at = arrays, arrays + 4 * count
    first_strip = counts_at + 4 * count
    offsets = [first_strip + sum(len(s) for s in strips[:index]) for index in range(count)]
    table = b""
    for tag, kind, values in entries:
        values = offsets if tag == 273 else values
        if len(values) == 1:
            field = struct.pack(order + ("H" if kind == 3 else "I"), values[0]).ljust(4, b"\0")
        else:
            field = struct.pack(order + "I", offsets_at if tag == 273 else counts_at)
        table += struct.pack(order + "HHI", tag, kind, len(values)) + field
    head = (b"MM\x00*" if big_endian else b"II*\x00") + struct.pack(order + "I", directory)
    body = struct.pack(order + "H", len(entries)) + table + struct.pack(order + "I", 0)
    arrays_bytes = struct.pack(f"{order}{count}I", *offsets) + struct.pack(f"{order}{count}I", *map(len, strips))
    path.write_bytes(head + body + arrays_bytes + b"".join(strips))


def test_depth_pngs_come_back_value_for_value(tmp_path, cli, ffmpeg_binary):
    episode = tmp_path / "episode_000000"
    write_depth_frames(ffmpeg_binary, episode, 12, SIZE, seed=3)
    source = list(depth_maps(12, SIZE, seed=3))
    assert all((frame == 0).any() for frame in source)  # holes, as real depth has

    outcome = cli("encode", episode, "--json")

    assert outcome.exit_code == 0, outcome.stdout
    (result,) = outcome.json()["results"]
    assert result["output"] == str(tmp_path / "episode_000000.mkv")
    assert result["depth"] == {"mode": "lossless", "lossless": True, "container": "matroska", "hashed_frames": 12,
                               "quantization": None}  # fmt: skip
    assert result["encoder"] == "ffv1" and result["source_format"] == "png gray 16-bit"
    frames, stamps, codec, container = decoded_depth(tmp_path / "episode_000000.mkv")
    assert (codec, container) == ("ffv1", "matroska,webm")
    assert len(frames) == 12 and all(np.array_equal(got, want) for got, want in zip(frames, source, strict=True))
    # Matroska counts in milliseconds: frame i sits on the millisecond nearest to i/fps.
    assert all(abs(stamp - Fraction(i, 30)) <= Fraction(1, 2000) for i, stamp in enumerate(stamps))
    assert files_in(tmp_path) == sorted([*(f"episode_000000/frame_{n:06d}.png" for n in range(12)),
                                         "episode_000000.mkv"])  # fmt: skip

    again = cli("encode", episode, "--json")  # the .mkv is found: a rerun skips it
    assert again.json()["results"][0]["status"] == "skipped"


@pytest.mark.parametrize("kind", ["ffmpeg-raw", "ffmpeg-lzw", "big-endian", "little-endian"])
def test_tiff_depth_frames_are_read_in_either_byte_order(tmp_path, ffmpeg_binary, kind):
    episode = tmp_path / "ep"
    if kind.startswith("ffmpeg"):  # little-endian, as ffmpeg (and PIL, for LeRobot) write them
        compression = kind.removeprefix("ffmpeg-")
        write_depth_frames(ffmpeg_binary, episode, 6, SIZE, extension=".tif", tiff_compression=compression)
    else:
        episode.mkdir()
        for index, frame in enumerate(depth_maps(6, SIZE)):
            write_tiff(episode / f"frame-{index:06d}.tiff", frame, big_endian=kind == "big-endian")
    outcome = run_encodectl("encode", episode, "--json")
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    (result,) = json.loads(outcome.stdout)["results"]
    assert result["source_format"] == "tiff gray 16-bit" and result["depth"]["hashed_frames"] == 6
    frames, _, _, _ = decoded_depth(tmp_path / "ep.mkv")
    assert all(np.array_equal(got, want) for got, want in zip(frames, depth_maps(6, SIZE), strict=True))


def test_a_truncated_tiff_is_named(tmp_path, ffmpeg_binary):
    paths = write_depth_frames(ffmpeg_binary, tmp_path / "ep", 5, SIZE, extension=".tiff")
    data = paths[3].read_bytes()
    paths[3].write_bytes(data[: len(data) - 100])  # cut off while written
    outcome = run_encodectl("encode", tmp_path / "ep")
    assert_one_line_error(outcome, "frame_000003.tiff is truncated or still being written")
    assert not (tmp_path / "ep.mkv").exists() and not (tmp_path / "ep.mp4").exists()


@pytest.mark.parametrize("odd_one", ["depth", "picture"])
def test_a_16_bit_frame_among_8_bit_ones_is_named(tmp_path, make_frames, ffmpeg_binary, odd_one):
    episode = tmp_path / "ep"
    if odd_one == "depth":
        make_frames(episode, 6, pix_fmt="gray")
        write_depth_frames(ffmpeg_binary, tmp_path / "depth", 1, SIZE)
    else:
        write_depth_frames(ffmpeg_binary, episode, 6, SIZE)
        make_frames(tmp_path / "depth", 1, pix_fmt="gray")
    shutil.copy(tmp_path / "depth" / "frame_000000.png", episode / "frame_000004.png")
    outcome = run_encodectl("encode", episode)
    kind = "a 16-bit single-channel (depth) frame" if odd_one == "depth" else "an image (png gray 8-bit)"
    assert_one_line_error(outcome, "frame_000004.png is " + kind)
    assert not (tmp_path / "ep.mp4").exists() and not (tmp_path / "ep.mkv").exists()


def test_lossy_codecs_touch_depth_only_when_asked(tmp_path, cli, ffmpeg_binary):
    write_depth_frames(ffmpeg_binary, tmp_path / "ep", 6, SIZE)

    kept = cli("encode", tmp_path / "ep", "--codec", "hevc", "--quality", "35", "--json")
    (result,) = kept.json()["results"]
    assert result["encoder"] == "ffv1" and result["depth"]["lossless"] is True
    assert any("--codec, --quality apply to colour frames, not to depth frames" in n for n in result["notes"])
    assert not (tmp_path / "ep.mp4").exists()

    lossy = cli("encode", tmp_path / "ep", "--depth", "lossy", "--codec", "h264", "--json")
    (result,) = lossy.json()["results"]
    assert result["status"] == "done" and result["output"] == str(tmp_path / "ep.mp4")
    assert result["depth"]["mode"] == "lossy" and result["depth"]["lossless"] is False
    assert any("8-bit colour video (--depth lossy): the depth values are not kept" in n for n in result["notes"])
    _, _, codec, _ = decoded_depth(tmp_path / "ep.mp4", "gray")
    assert codec == "h264"


def test_dry_run_says_what_becomes_of_depth(tmp_path, cli, ffmpeg_binary):
    write_depth_frames(ffmpeg_binary, tmp_path / "ep", 4, SIZE)
    before = files_in(tmp_path)
    outcome = cli("encode", tmp_path / "ep", "--dry-run")
    assert outcome.exit_code == 0 and files_in(tmp_path) == before
    assert "# 16-bit depth kept exactly: FFV1 gray16le in Matroska" in outcome.stdout
    assert "-c:v ffv1" in outcome.stdout and "-f matroska" in outcome.stdout and ".ep.mkv." in outcome.stdout


def test_values_changed_under_the_encode_fail_verification(tmp_path, ffmpeg_binary):
    from encodectl.ffmpeg.encoder_choice import plan_encoder
    from encodectl.frames.layout import EpisodeSource
    from encodectl.job.planning import prepare_job
    from encodectl.job.runner import run_job
    from encodectl.models import EncodeOptions, JobStatus

    paths = write_depth_frames(ffmpeg_binary, tmp_path / "ep", 5, SIZE)
    other = write_depth_frames(ffmpeg_binary, tmp_path / "other", 5, SIZE, seed=9)
    options = EncodeOptions()
    source = EpisodeSource(directory=tmp_path / "ep", output=tmp_path / "ep.mp4", episode="ep")
    job = prepare_job(source, options, plan_encoder(options, ffmpeg_binary).primary)

    class RewriteBeforeVerifying:  # a recorder rewriting frame 2 in place while it was encoded
        def started(self, *args: object) -> None: ...
        def progress(self, *args: object) -> None: ...
        def verifying(self) -> None:
            shutil.copy(other[2], paths[2])

    result = run_job(job, ffmpeg_binary, listener=RewriteBeforeVerifying())  # type: ignore[arg-type]
    assert result.status is JobStatus.failed
    assert result.reason == "ep.mkv failed verification: frame 2 does not decode to its values in frame_000002.png"
    assert not (tmp_path / "ep.mkv").exists() and files_in(tmp_path / "ep") == [p.name for p in paths]


def test_lerobot_depth_mode_keeps_lerobots_codes(tmp_path, cli, ffmpeg_binary):
    write_depth_frames(ffmpeg_binary, tmp_path / "ep", 6, SIZE)
    outcome = cli("encode", tmp_path / "ep", "--depth", "lerobot", "--json")
    (result,) = outcome.json()["results"]
    assert result["status"] == "done", result["reason"]
    assert result["depth"]["mode"] == "lerobot" and result["depth"]["lossless"] is False
    assert result["depth"]["hashed_frames"] == 6
    assert any("a zero (no reading) reads back as 0.01 m" in note for note in result["notes"])
    frames, stamps, codec, _ = decoded_depth(tmp_path / "ep.mp4", "gray12le")  # as LeRobot's reader decodes it
    assert codec == "hevc" and stamps == [Fraction(i, 30) for i in range(6)]
    assert all(np.array_equal(got, lerobot_codes(want)) for got, want in zip(frames, depth_maps(6, SIZE), strict=True))


def lerobot_depth_dataset(tmp_path: Path, binary, depth_info: dict | None) -> Path:
    """LeRobot's v3.0 fixture with its colour cameras replaced by one depth camera, as LeRobot 0.6 records it:
    features[key]["info"] = {"is_depth_map": true, "depth_unit": "mm"}, frames in images/<key>/episode-XXXXXX/
    frame-XXXXXX.tiff (uncompressed 16-bit, as PIL writes them for LeRobot)."""
    root = tmp_path / "ds"
    shutil.copytree(FIXTURES / "v30_pending", root)
    shutil.rmtree(root / "images")
    info = json.loads((root / "meta" / "info.json").read_text())
    for key in ("observation.images.top", "observation.images.wrist"):
        del info["features"][key]
    feature = {"dtype": "video", "shape": [SIZE[1], SIZE[0], 1], "names": ["height", "width", "channels"]}
    if depth_info is not None:
        feature["info"] = depth_info
    info["features"] = {DEPTH_KEY: feature, **info["features"]}
    (root / "meta" / "info.json").write_text(json.dumps(info, indent=4))
    for episode, length in enumerate((5, 6, 4)):
        write_depth_frames(binary, root / "images" / DEPTH_KEY / f"episode-{episode:06d}", length, SIZE,
                           extension=".tiff", prefix="frame-", seed=episode)  # fmt: skip
    return root


def test_lerobot_dataset_depth_camera_is_encoded_as_lerobot_does(tmp_path, cli, ffmpeg_binary):
    import pyarrow.parquet as pq

    root = lerobot_depth_dataset(tmp_path, ffmpeg_binary, {"is_depth_map": True, "depth_unit": "mm"})
    outcome = cli("encode", root, "--json")
    assert outcome.exit_code == 0, outcome.stdout
    done = [r for r in outcome.json()["results"] if r["status"] == "done"]
    assert len(done) == 3 and {r["encoder"] for r in done} == {"libx265"}
    assert all(r["depth"]["mode"] == "lerobot" and r["depth"]["hashed_frames"] == r["frames"] for r in done)

    info = json.loads((root / "meta" / "info.json").read_text())["features"][DEPTH_KEY]["info"]
    assert info == {
        "is_depth_map": True, "depth_unit": "mm", "video.height": 48, "video.width": 64, "video.codec": "hevc",
        "video.pix_fmt": "gray12le", "video.fps": 30, "video.channels": 1, "has_audio": False, "video.g": 1,
        "video.crf": 30, "video.preset": None, "video.fast_decode": 0, "video.video_backend": "pyav",
        "video.extra_options": {"x265-params": "lossless=1"}, "video.depth_min": 0.01, "video.depth_max": 10.0,
        "video.shift": 3.5, "video.use_log": True,
    }  # fmt: skip
    rows = {
        row["episode_index"]: row
        for row in pq.read_table(next((root / "meta" / "episodes").rglob("*.parquet"))).to_pylist()
    }
    frames, stamps, codec, _ = decoded_depth(root / "videos" / DEPTH_KEY / "chunk-000" / "file-000.mp4", "gray12le")
    assert codec == "hevc"
    for episode, length in enumerate((5, 6, 4)):
        start = rows[episode][f"videos/{DEPTH_KEY}/from_timestamp"]
        for index, want in enumerate(depth_maps(length, SIZE, seed=episode)):
            # LeRobot's reader: the frame within 1e-4 s of from_timestamp + i/fps, its codes dequantized.
            (at,) = [n for n, stamp in enumerate(stamps) if abs(float(stamp) - (start + index / 30)) < 1e-4]
            assert np.array_equal(frames[at], lerobot_codes(want))


def test_an_unmarked_16_bit_lerobot_camera_is_refused(tmp_path, ffmpeg_binary):
    root = lerobot_depth_dataset(tmp_path, ffmpeg_binary, None)
    outcome = run_encodectl("encode", root)
    assert outcome.exit_code == 2, outcome.stderr
    assert "does not mark observation.images.depth as a depth map (is_depth_map)" in outcome.stderr
    assert "Traceback" not in outcome.stderr and not (root / "videos").exists()


def test_watch_keeps_depth_exactly_and_knows_its_mkv_after_a_restart(tmp_path, ffmpeg_binary):
    from encodectl.job.ledger import Ledger

    episode = tmp_path / "images" / DEPTH_KEY / "episode_000000"
    write_depth_frames(ffmpeg_binary, episode, 8, SIZE, extension=".tiff")
    video = tmp_path / "videos" / DEPTH_KEY / "episode_000000.mkv"
    first = run_encodectl("watch", tmp_path, "--once", "--settle", "0", "--stream", "--json")
    assert first.exit_code == 0 and json.loads(first.stdout)["done"] == 1, first.stderr
    frames, _, codec, _ = decoded_depth(video)
    assert codec == "ffv1" and all(np.array_equal(a, b) for a, b in zip(frames, depth_maps(8, SIZE), strict=True))
    ledger = Ledger(tmp_path / ".encodectl" / "state.sqlite")
    assert [record.output for record in ledger.all()] == [video]
    ledger.close()

    again = run_encodectl("watch", tmp_path, "--once", "--settle", "0", "--json")  # a restart: nothing to redo
    assert json.loads(again.stdout)["done"] == 0 and "missing" not in again.stderr
    (tmp_path / ".encodectl" / "state.sqlite").unlink()  # a lost ledger: the video is checked, value for value
    adopted = run_encodectl("watch", tmp_path, "--once", "--settle", "0", "--json")
    assert json.loads(adopted.stdout)["adopted"] == 1, adopted.stderr
    assert sorted(p.name for p in video.parent.iterdir()) == ["episode_000000.mkv"]


def test_recover_gives_a_mkv_video_matroska(tmp_path, ffmpeg_binary):
    # What an interrupted stream of a video named .mkv would leave: a fragmented MP4 under the hidden name.
    stream = tmp_path / ".episode.mkv.4194303-abcdef.stream.mp4"
    subprocess.run(
        [str(ffmpeg_binary.path), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
         "testsrc2=size=64x48:rate=30", "-frames:v", "20", "-c:v", "libx264", "-g", "5",
         "-movflags", "+frag_keyframe+empty_moov+default_base_moof", "-video_track_timescale", "15360",
         "-f", "mp4", str(stream)], check=True,
    )  # fmt: skip
    outcome = run_encodectl("recover", tmp_path, "--json")
    (recovered,) = json.loads(outcome.stdout)
    assert recovered["status"] == "recovered" and recovered["frames"] == 20, outcome.stdout
    assert recovered["output"] == str(tmp_path / "episode.mkv")
    assert (tmp_path / "episode.mkv").read_bytes()[:4] == b"\x1a\x45\xdf\xa3"  # EBML: a Matroska file
    assert files_in(tmp_path) == ["episode.mkv"]


def test_the_encode_hashes_the_source_frames_so_the_check_decodes_only_the_video(tmp_path, ffmpeg_binary, monkeypatch):
    from encodectl.ffmpeg.encoder_choice import plan_encoder
    from encodectl.frames.layout import EpisodeSource
    from encodectl.job import verify
    from encodectl.job.planning import prepare_job
    from encodectl.job.runner import run_job
    from encodectl.models import EncodeOptions, JobStatus

    paths = write_depth_frames(ffmpeg_binary, tmp_path / "ep", 5, SIZE)
    options = EncodeOptions()
    source = EpisodeSource(directory=tmp_path / "ep", output=tmp_path / "ep.mp4", episode="ep")
    job = prepare_job(source, options, plan_encoder(options, ffmpeg_binary).primary)

    def read_again(*args: object) -> list[str]:
        raise AssertionError("the source frames were read again after the encode")

    monkeypatch.setattr(verify, "build_depth_check_command", read_again)
    result = run_job(job, ffmpeg_binary)
    assert result.status is JobStatus.done, result.reason
    assert "-f framehash" in " ".join(result.command or []) and "-hash murmur3" in " ".join(result.command or [])
    assert result.depth is not None and result.depth.hashed_frames == 5
    decoded, _, _, _ = decoded_depth(tmp_path / "ep.mkv")
    assert [frame.tolist() for frame in decoded] == [frame.tolist() for frame in depth_maps(5, SIZE)]
    assert files_in(tmp_path) == ["ep.mkv", *(f"ep/{p.name}" for p in paths)]  # no hashes left behind


def test_a_video_frame_unlike_the_hash_the_encode_took_fails_verification(tmp_path, ffmpeg_binary):
    from encodectl.errors import VerificationError
    from encodectl.ffmpeg.encoder_choice import plan_encoder
    from encodectl.frames.layout import EpisodeSource
    from encodectl.job.planning import prepare_job
    from encodectl.job.runner import run_job
    from encodectl.job.verify import verify_output
    from encodectl.models import EncodeOptions, JobStatus

    write_depth_frames(ffmpeg_binary, tmp_path / "ep", 5, SIZE)
    options = EncodeOptions()
    source = EpisodeSource(directory=tmp_path / "ep", output=tmp_path / "ep.mp4", episode="ep")
    job = prepare_job(source, options, plan_encoder(options, ffmpeg_binary).primary)
    assert run_job(job, ffmpeg_binary).status is JobStatus.done
    listing = subprocess.run(
        [str(ffmpeg_binary.path), "-hide_banner", "-i", str(tmp_path / "ep.mkv"), "-f", "framehash", "-hash",
         "murmur3", "-pix_fmt", "gray16le", "-"], check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    hashes = tmp_path / "hashes"
    hashes.write_text(listing)
    assert verify_output(ffmpeg_binary, job, tmp_path / "ep.mkv", source_hashes=hashes)[1] == 5
    frame_lines = [line for line in listing.splitlines() if not line.startswith("#")]
    frame_lines[2] = frame_lines[2][:-4] + ("0000" if not frame_lines[2].endswith("0000") else "1111")
    hashes.write_text("\n".join(line for line in listing.splitlines() if line.startswith("#")) + "\n"
                      + "\n".join(frame_lines) + "\n")  # fmt: skip
    with pytest.raises(VerificationError, match=r"frame 2 does not decode to its values in frame_000002\.png"):
        verify_output(ffmpeg_binary, job, tmp_path / "ep.mkv", source_hashes=hashes)
