"""The one line that says why ffmpeg failed, from the logs each build really prints.

The logs below were recorded from Debian 12's ffmpeg 5.1 (SVT-AV1 1.4.1) and the
bundled n9.0.2 (SVT-AV1 4.2) on the same inputs: the end-to-end tests cannot show
both sides of a difference on one build (the bundled SVT-AV1 takes what 1.4.1 refuses).
"""

from __future__ import annotations

from encodectl.ffmpeg.log import encoder_failure, is_decoder_failure, meaningful_error

# libsvtav1 at 64x48 on Debian 12's ffmpeg 5.1.9: a banner, the cause, then ffmpeg's own lines.
SVT_1_4_REFUSES_48_HIGH = [
    "Svt[info]: -------------------------------------------",
    "Svt[info]: SVT [version]:\tSVT-AV1 Encoder Lib v1.4.1",
    "Svt[info]: SVT [build]  :\tGCC 12.2.0\t 64 bit",
    "Svt[info]: -------------------------------------------",
    "Svt[error]: Instance 1: Source Height must be at least 64",
    "Svt[error]: Instance 1: Forced Max Height must be at least 64",
    "[libsvtav1 @ 0x563a0f5d9240] Error setting encoder parameters: bad parameter (0x80001005)",
    "Error initializing output stream 0:0 -- Error while opening encoder for output stream #0:0 - maybe incorrect "
    "parameters such as bit_rate, rate, width or height",
]
# A corrupt PNG frame: 5.1 (and 4.2) print only the decoder's line ...
PNG_5_1 = ["[png @ 0x5611b8cfd6c0] chunk too big"]
# ... n9.0.2 adds the generic ones after it.
PNG_9_0 = [
    "[png @ 0x559a6db43080] chunk too big",
    "[vist#0:0/png @ 0x559a6db28700] [dec:png @ 0x559a6db3f0c0] Error submitting packet to decoder: Invalid data "
    "found when processing input",
    "[vist#0:0/png @ 0x559a6db28700] [dec:png @ 0x559a6db3f0c0] Task finished with error code: -1094995529 "
    "(Invalid data found when processing input)",
]
NVENC_WITHOUT_DRIVER = [
    "[h264_nvenc @ 0x5581] Cannot load libcuda.so.1",
    "[vost#0:0/h264_nvenc @ 0x5582] Error while opening encoder",
]


def test_an_encoder_librarys_banner_is_not_the_cause():
    assert meaningful_error(SVT_1_4_REFUSES_48_HIGH) == "SVT-AV1: Source Height must be at least 64"
    assert (
        encoder_failure("libsvtav1", 1, SVT_1_4_REFUSES_48_HIGH)
        == "libsvtav1 failed (exit 1): SVT-AV1: Source Height must be at least 64"
    )


def test_library_warnings_and_settings_are_skipped_whatever_the_library():
    # x265's start-up lines (Debian 12's libx265 3.5) before a refusal (the bundled build's, crf=99).
    log = [
        "x265 [info]: HEVC encoder version 3.5+1-f0c1022b6",
        "x265 [warning]: Too few rows/columns, --wpp disabled",
        "x265 [info]: Thread pool created using 2 threads",
        "x265 [error]: Valid quality based range: -qpBDOffsetY to 51",
        "[libx265 @ 0x55cc626626c0] Cannot open libx265 encoder.",
        "[vost#0:0/libx265 @ 0x55cc62661b40] [enc:libx265 @ 0x55cc62662580] Error while opening encoder - maybe "
        "incorrect parameters such as bit_rate, rate, width or height.",
    ]
    assert meaningful_error(log) == "x265: Valid quality based range: -qpBDOffsetY to 51"
    assert meaningful_error(log[:3] + log[4:]) == "libx265: Cannot open libx265 encoder."
    assert meaningful_error(SVT_1_4_REFUSES_48_HIGH[:4]) == "no error message from ffmpeg"


def test_a_corrupt_frame_is_a_decoder_failure_on_every_build():
    for log in (PNG_5_1, PNG_9_0):
        assert is_decoder_failure(log, "png")
        assert meaningful_error(log) == "png: chunk too big"
    assert not is_decoder_failure(PNG_5_1, "mjpeg")  # another decoder's frames: not this one's line
    assert is_decoder_failure(PNG_9_0)  # 6.0 and later say it in words, whatever the decoder


def test_an_encoder_failure_is_not_a_decoder_failure():
    assert not is_decoder_failure(NVENC_WITHOUT_DRIVER, "png")
    assert not is_decoder_failure(SVT_1_4_REFUSES_48_HIGH, "png")
    assert meaningful_error(NVENC_WITHOUT_DRIVER) == "h264_nvenc: Cannot load libcuda.so.1"
