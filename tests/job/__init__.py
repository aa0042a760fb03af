"""Tests of encodectl.job, one file per module."""
