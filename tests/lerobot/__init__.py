"""Tests of encodectl.lerobot, one file per module."""
