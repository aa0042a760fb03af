"""Tests of encodectl.stream, one file per module."""
