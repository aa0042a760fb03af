"""The ffmpeg layer: everything that knows ffmpeg exists. Which binary (binary), how to run it and read
its -progress stream and log (process, log), the command lines it is given (command), the encoder table
and one quality/preset scale (encoders), which hardware encoders really work (gpu_probe) and the encoder
plan of a run (encoder_choice). It imports only the base modules (errors, models, syscalls, version);
change a command line in command.py, an encoder's options in encoders.py, an error message's parsing
in log.py.
"""
