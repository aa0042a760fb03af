"""LeRobot datasets (format v3.0 and v2.1), as LeRobot itself reads them: the metadata read and
written as LeRobot does (meta), what a dataset lacks and the jobs that make it (plan), placing verified
episodes in its videos (finish) and the dataset's lock, in-use check and journaled commit (commit). It
may import the base modules, ffmpeg, frames and job; a new codebase_version starts in meta.py.
"""
