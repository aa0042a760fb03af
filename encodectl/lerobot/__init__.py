"""LeRobot datasets (format v3.0 and v2.1), as LeRobot itself reads them: info.json and the models
the package shares (meta), the episode rows (episodes), which LeRobot release made a dataset and the
camera info it writes (versions), what a dataset lacks and the jobs that make it (plan), where each
encoded episode goes and the file it makes, verified as LeRobot reads it (place), `encode ROOT` on a
dataset from plan to commit (finish_dataset), the episode rows a recorder never wrote, rebuilt (heal,
from what the recorder left, read in recorded, with LeRobot's per-episode statistics in stats), every
path kept inside the dataset (confine) and the dataset's lock, in-use check and journaled commit
(commit). It may import the base modules, ffmpeg, frames and job; a new codebase_version starts in
meta.py (its episode rows in episodes.py), a new LeRobot release's camera info in versions.py.
"""
