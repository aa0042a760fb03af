"""What the CLI shows, one module per concern: text (printable names, JSON, sizes, durations: shared by
all), fit (tables that fit the terminal's width: columns dropped by priority, never a word split), results
(a run's jobs: closing table, plain lines, summary, --dry-run commands), probe (which ffmpeg and why, the
probe-gpu table), live (the live progress view, built from column objects), bench (the bench tables, lines
and notes) and plot (the bench chart, the only user of matplotlib). It reads models and never runs
anything; it may import every layer below (for their models), and only cli/ imports it. To change what a
command prints, change its module here; a format used by two of them belongs in text.
"""
