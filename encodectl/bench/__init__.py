"""`encodectl bench`: the modes measured on this machine with a real-time simulated recorder
(benchmark) and picture quality against the source frames (quality). It may import the modes and
everything below them, never report (the CLI renders its results). A new mode or measure starts in
benchmark.py (its results are ModeResult and BenchReport there); how its table looks is report/bench.py's.
"""
