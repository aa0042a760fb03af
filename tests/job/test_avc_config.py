"""encodectl/job/avc_config.py, through mp4_table.py on H.264: the sample table against ffmpeg's own listing.

Each file is made by the ffmpeg under test (the bundled build, then Debian's 5.1 on CI's second pass) with
libx264, as encodectl makes them and in the forms the reader must leave to ffmpeg. Where the table answers,
its frames, times, size and pixel format must be ffmpeg's to the tick; where it does not, it says None."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import encodectl
from encodectl.job.avc_config import avc_format
from encodectl.job.mp4_table import packet_times
from encodectl.job.verify import read_frame_times

# name -> (frames, extra ffmpeg options, whether the table vouches for the file)
CASES: dict[str, tuple[int, list[str], bool]] = {
    "b-frames": (9, [], True),
    "one frame": (1, [], True),
    "two frames": (2, [], True),
    "no b-frames": (7, ["-bf", "0"], True),
    "b-pyramid": (12, ["-bf", "3", "-b_strategy", "2"], True),
    "no faststart": (7, ["-movflags", "-faststart"], True),
    "4:4:4": (6, ["-pix_fmt", "yuv444p"], True),
    "4:2:2": (6, ["-pix_fmt", "yuv422p"], True),
    "10 bits": (6, ["-pix_fmt", "yuv420p10le"], True),
    "odd size": (6, ["-vf", "scale=66:50"], True),
    "millisecond clock": (6, ["-video_track_timescale", "1000"], False),  # B-frames at uneven times: 5.1
    "25 fps clock": (6, ["-video_track_timescale", "25"], False),  # and 9.0 end the last frame apart
    "millisecond clock, no b-frames": (6, ["-video_track_timescale", "1000", "-bf", "0"], True),
    "full range": (6, ["-color_range", "pc"], False),
    "identity matrix (RGB)": (6, ["-pix_fmt", "yuv444p", "-colorspace", "rgb"], False),
    "colour box": (6, ["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
                       "-movflags", "+faststart+write_colr"], False),
    "no edit list": (9, ["-use_editlist", "0"], False),  # B-frames: the first frame shows at 2 frames in
    "interlaced": (6, ["-flags", "+ildct+ilme", "-x264-params", "tff=1"], False),
}  # fmt: skip


def _encode(ffmpeg_binary, frames_dir: Path, count: int, extra: list[str], out: Path) -> None:
    argv = [
        str(ffmpeg_binary.path), "-hide_banner", "-loglevel", "error", "-y", "-framerate", "30",
        "-i", str(frames_dir / "frame_%06d.png"), "-frames:v", str(count), "-c:v", "libx264", "-preset", "fast",
        "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-video_track_timescale", "15360", *extra, str(out),
    ]  # fmt: skip
    completed = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr


@pytest.mark.parametrize("case", list(CASES))
def test_the_h264_table_says_what_ffmpeg_lists(case, ffmpeg_binary, make_frames, tmp_path):
    count, extra, vouched = CASES[case]
    make_frames(tmp_path / "frames", 12)
    video = tmp_path / "video.mp4"
    _encode(ffmpeg_binary, tmp_path / "frames", count, extra, video)
    fast = packet_times(video)
    listed = read_frame_times(ffmpeg_binary, video)
    assert listed.video.frames == count
    if not vouched:
        assert fast is None
        return
    assert fast is not None
    assert (fast.pts, fast.end, fast.time_base) == (listed.pts, listed.end, listed.time_base)
    assert fast.video == listed.video


def test_encodectls_own_videos_read_from_their_table(ffmpeg_binary, make_frames, tmp_path):
    """What `encode` writes by default (libx264 with B-frames in MP4) is read without ffmpeg, as ffmpeg reads it."""
    make_frames(tmp_path / "episode", 11)
    [result] = encodectl.encode(tmp_path / "episode")
    fast = packet_times(result.output)
    assert fast is not None and fast.video.codec == "h264" and fast.video.frames == 11
    listed = read_frame_times(ffmpeg_binary, result.output)
    assert (fast.pts, fast.end, fast.video) == (listed.pts, listed.end, listed.video)


def test_a_configuration_it_cannot_read_whole_is_none(ffmpeg_binary, make_frames, tmp_path):
    make_frames(tmp_path / "frames", 2)
    _encode(ffmpeg_binary, tmp_path / "frames", 2, [], tmp_path / "video.mp4")
    data = (tmp_path / "video.mp4").read_bytes()
    at = data.index(b"avcC")
    avcc = data[at + 4 : at - 4 + int.from_bytes(data[at - 4 : at], "big")]
    assert avc_format(avcc) == (64, 48, "yuv420p")
    sps_length = int.from_bytes(avcc[6:8], "big")
    for cut in range(8, 8 + sps_length):  # an SPS cut short anywhere: its length no longer matches
        assert avc_format(avcc[:cut]) is None
    short = avcc[:6] + (5).to_bytes(2, "big") + avcc[8:13]  # an SPS that says 5 bytes and ends there
    assert avc_format(short) is None
    assert avc_format(avcc[:5] + bytes([0xE2]) + avcc[6:]) is None  # two SPS: not read
    assert avc_format(b"\x02" + avcc[1:]) is None  # another configuration version
