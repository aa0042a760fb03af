"""Tests of encodectl.frames, one file per module."""
