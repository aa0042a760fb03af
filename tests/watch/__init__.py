"""Tests of encodectl.watch, one file per module."""
