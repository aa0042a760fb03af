"""The ffmpeg layer: everything that knows ffmpeg exists. Which binary (binary), how to start it (child, the
only module of encodectl that starts a process), how to follow its -progress stream and read its log
(process, log), the command lines it is given, the encoder table and one quality/preset scale (encoders),
which hardware encoders really work (gpu_probe) and the encoder plan of a run (encoder_choice). It imports
only the base modules (errors, models, syscalls, version).

Every ffmpeg command line is built here, and only here, as command_line(binary, *groups) (command_line):
encoding frames into a video (command), reading a video or frames back (readback_command), copying
packets into another file (copy_command), making or decoding frames (frames_command). Change a command
line in its builder, an encoder's options in encoders.py, an error message's parsing in log.py.
"""
