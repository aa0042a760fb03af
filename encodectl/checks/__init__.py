"""`check`: whether a dataset's videos are what its readers expect, read without changing anything.

A LeRobot dataset (v3.0, v2.1) is checked as LeRobot reads it; a folder that `encode` made, video
against frame folder. Nothing here writes into what it checks: no lock, no state folder, no staging
(`--repair` is the one exception, and it goes through the LeRobot commit). It sits beside watch: it may
import the base modules, ffmpeg, frames, job, lerobot, run and stream; report and cli import it.
"""
