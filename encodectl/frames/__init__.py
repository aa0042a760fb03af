"""Frames on disk: what an episode folder holds, before any encode. Scanning and validating one
episode's numbered frames (sequence), PNG/JPEG/TIFF headers and tails (headers), which folders of a tree
are episodes and where their videos go (layout), and camera-like test frames made with ffmpeg
(synthetic). It may import the base modules and the ffmpeg layer; a new frame format starts in
headers.py, a new folder layout in layout.py.
"""
