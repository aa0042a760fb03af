"""What the CLI shows: Rich tables, plain lines and JSON of job results, the probe report, the live
view and the bench tables. It reads models and never runs anything; only cli.py imports it.
"""
