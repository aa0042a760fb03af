"""What an MP4's H.264 configuration (its avcC box) says ffmpeg will call the video: size and pixel format.

ffmpeg names the pixel format from the sequence parameter set (SPS): its chroma format and bit depth, and
its colour range ("yuvj420p" or "yuv420p(pc)" for full range, depending on the build). This reads the
SPS for the streams libx264 writes, progressive, limited range, 8 or 10 bits, 4:2:0, 4:2:2 or 4:4:4, and
answers None for anything else (full range, an identity matrix, interlaced, scaling matrices, monochrome,
several SPS), which ffmpeg then reads itself. The sample entry's own colour box (colr), which ffmpeg also
reads, is refused in mp4_table.py. tests/job/test_avc_config.py compares the answers with ffmpeg's on both
builds.
"""

from __future__ import annotations

# Profiles whose SPS carries chroma format and bit depth (H.264 7.3.2.1.1); the others are 4:2:0, 8 bits.
_HIGH_PROFILES = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}
_LAYOUT = {1: "yuv420p", 2: "yuv422p", 3: "yuv444p"}
_DEPTH = {8: "", 10: "10le"}


class _Bits:
    """An RBSP read bit by bit, with the exp-Golomb codes of the H.264 syntax."""

    def __init__(self, rbsp: bytes) -> None:
        self.value = int.from_bytes(rbsp, "big")
        self.left = len(rbsp) * 8

    def bits(self, count: int) -> int:
        if count > self.left:
            raise ValueError("the SPS ends early")
        self.left -= count
        return (self.value >> self.left) & ((1 << count) - 1)

    def ue(self) -> int:
        zeros = 0
        while self.bits(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("an exp-Golomb code too long")
        return (1 << zeros) - 1 + self.bits(zeros)


def _rbsp(nal: bytes) -> bytes:
    """The NAL unit's payload without its emulation-prevention bytes (00 00 03 -> 00 00)."""
    return nal.replace(b"\x00\x00\x03", b"\x00\x00")


def avc_format(avcc: bytes) -> tuple[int, int, str] | None:
    """(width, height, ffmpeg's pixel format name) from an avcC payload, or None when not vouched for."""
    if len(avcc) < 8 or avcc[0] != 1 or avcc[5] & 0x1F != 1:  # version 1, exactly one SPS
        return None
    length = int.from_bytes(avcc[6:8], "big")
    sps = avcc[8 : 8 + length]
    if len(sps) != length or length < 4 or sps[0] & 0x1F != 7:
        return None
    try:
        return _sps_format(_Bits(_rbsp(sps[1:])))
    except ValueError:  # the SPS ends before what is read of it
        return None


def _sps_format(sps: _Bits) -> tuple[int, int, str] | None:
    profile = sps.bits(8)
    sps.bits(16)  # constraint flags, level
    sps.ue()  # seq_parameter_set_id
    chroma, depth = 1, 8
    if profile in _HIGH_PROFILES:
        chroma = sps.ue()
        if chroma == 3 and sps.bits(1):  # separate colour planes
            return None
        depth = sps.ue() + 8
        if sps.ue() + 8 != depth:  # chroma's depth other than luma's
            return None
        sps.bits(1)  # qpprime_y_zero_transform_bypass
        if sps.bits(1):  # scaling matrices: not parsed
            return None
    if chroma not in _LAYOUT or depth not in _DEPTH:
        return None
    sps.ue()  # log2_max_frame_num_minus4
    order_type = sps.ue()  # picture order count: libx264 writes type 0 with B-frames, 2 without
    if order_type == 0:
        sps.ue()  # log2_max_pic_order_cnt_lsb_minus4
    elif order_type != 2:
        return None
    sps.ue()  # max_num_ref_frames
    sps.bits(1)  # gaps_in_frame_num_value_allowed
    width_mbs, height_units = sps.ue() + 1, sps.ue() + 1
    if not sps.bits(1):  # not frame_mbs_only: interlaced
        return None
    sps.bits(1)  # direct_8x8_inference
    crop = [sps.ue() for _ in range(4)] if sps.bits(1) else [0, 0, 0, 0]
    # Crop units (7.4.2.1.1): 2 luma samples across for 4:2:0 and 4:2:2, 1 for 4:4:4; 2 down for 4:2:0 only.
    unit_x, unit_y = (1 if chroma == 3 else 2), (2 if chroma == 1 else 1)
    width = width_mbs * 16 - unit_x * (crop[0] + crop[1])
    height = height_units * 16 - unit_y * (crop[2] + crop[3])
    if sps.bits(1) and not _plain_signal(sps):  # VUI
        return None
    return width, height, _LAYOUT[chroma] + _DEPTH[depth]


def _plain_signal(sps: _Bits) -> bool:
    """Whether the VUI's signal is one ffmpeg names by chroma and depth alone: limited range, and a matrix
    other than identity (matrix 0 makes 4:4:4 "gbrp"; full range makes "yuvj420p" or "yuv420p(pc)")."""
    if sps.bits(1) and sps.bits(8) == 255:  # aspect_ratio_idc: Extended_SAR
        sps.bits(32)
    if sps.bits(1):  # overscan_info_present
        sps.bits(1)
    if not sps.bits(1):  # video_signal_type_present
        return True
    sps.bits(3)  # video_format
    if sps.bits(1):  # video_full_range
        return False
    if sps.bits(1):  # colour_description_present
        sps.bits(16)  # colour_primaries, transfer_characteristics
        return sps.bits(8) != 0  # matrix_coefficients 0: identity, the RGB of libx264rgb or -colorspace rgb
    return True
