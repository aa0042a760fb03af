"""`encodectl bench`: the modes measured on this machine with a real-time simulated recorder. Running each
mode (benchmark), the simulated recorder (recorder), what is measured and how a mode's figures are summed
up (measures: BenchMode, BenchOptions, ModeResult, BenchReport), and picture quality against the source
frames (quality). It may import the modes and everything below them, never report (the CLI renders its
results). A new mode starts in measures.py (BenchMode) and benchmark.py (how it runs); a new measure in
measures.py; how its table looks is report/bench.py's. Called `benchmarking` so that `encodectl.bench` is the
command's function (api.py).
"""
