"""The version of encodectl (one place: the package, the CLI and what it records in datasets read it here)."""

__version__ = "0.1.0"
