"""One job, one video: the unit every mode is made of. Planning it (planning: container, skip, frames
checked against the dataset), running it (runner: encode to a temporary name, verify, rename, CPU
fallback; the held frames' links, staging), reading the video back (verify; an MP4 from its own sample
table, mp4_table and avc_config), per-encoder session caps
(sessions), what each job is doing now (progress) and the SQLite ledger of what is done (ledger). It may
import the base modules, outputs, ffmpeg and frames, never a mode. What "verified" means is decided in
verify.py; the order of a job's steps and the fallback to the CPU, in runner.py; what the live table knows
of a job, progress.py. Temporary names, the sweep of dead runs' files and the durable rename are
encodectl.outputs', shared with stream.
"""
