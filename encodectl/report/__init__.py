"""What the CLI shows, one module per concern: text (printable names, JSON, sizes, durations: shared by
all), results (a run's jobs: closing table, plain lines, summary, --dry-run commands), probe (which ffmpeg
and why, the probe-gpu table), live (the live progress view, built from column objects), bench (the bench
tables and notes) and plot (the bench chart, the only user of matplotlib). It reads models and never runs
anything; it may import every layer below (for their models), and only cli.py imports it. To change what a
command prints, change its module here; a format used by two of them belongs in text.
"""
