"""Streaming: StreamEncoder takes frames from a recorder into a fragmented file and a verified video,
keeps the recorder on time with a bounded buffer that spills to disk, and `recover` finishes what an
interrupted stream left; and LeRobot 0.6's own recorder streaming into StreamEncoders (lerobot.py,
install_streaming, with the `encodectl lerobot-record` launcher in lerobot_record.py). It may import the
base modules, ffmpeg, frames, job and lerobot (lerobot.py: LeRobot's statistics); it never imports run,
watch, bench or report.

Where to change what: the public class and its calls, encoder.py (a facade over the rest); its plan,
options, file names and memory budget, stream_plan.py; the recorder's frames checked, frame_input.py; its
counters and the notes close() adds, stream_report.py; its states and their moves, state.py; the buffer
and spill, frame_buffer.py; the writer thread and the CPU restart, writer.py; one ffmpeg child (start,
feed, stderr, end), encoder_process.py; the frames kept for that restart, replay.py; the stream file into
the final video or kept for recover, finish.py; recover and the stream file's names and lock,
recovery.py. LeRobot's recorder: the contract and install_streaming, lerobot.py; LeRobot's encoder
configs and the plan they make, lerobot_settings.py; one camera's encoder and statistics,
lerobot_camera.py. The hidden names themselves are encodectl.outputs'.
"""
