"""Streaming: StreamEncoder takes frames from a recorder into a fragmented file and a verified video
(encoder), keeps the recorder on time with a bounded buffer that spills to disk (frame_buffer), and
`recover` finishes what an interrupted stream left (recovery). It may import the base modules, ffmpeg,
frames and job; it never imports run, watch, bench or report.
"""
