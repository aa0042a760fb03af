"""One job, one video: the unit every mode is made of. Running it (runner: temporary name, encode,
verify, rename, CPU fallback), reading the video back (verify), per-encoder session caps (sessions),
what each job is doing now (progress) and the SQLite ledger of what is done (ledger). It may import the
base modules, ffmpeg and frames, never a mode. What "verified" means is decided in verify.py; the order
of a job's steps and the fallback to the CPU, in runner.py; what the live table knows of a job, progress.py.
"""
