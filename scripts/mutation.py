"""Mutation testing of the modules that hold the README's promises (make mutation; not in CI).

    python scripts/mutation.py                                # every module below, in order
    python scripts/mutation.py encodectl/watching/rules.py ...   # only these

Each module is a run of mutmut of its own, in a fresh mutants/ folder, on the tests that touch it (mutmut
then picks, per mutated function, the tests that call it). A mutant counts as killed when a test failed or
timed out with it. The score leaves out the mutants listed as equivalent in docs/testing.md (a change no
behaviour can show); the raw figure is printed beside it. After a run of one module, `mutmut results` and
`mutmut show NAME` explain its survivors (mutants/ stays until the next run).

mutmut reads its settings from pyproject.toml only, so the narrowing to one module is done here, on its
configuration object, before its command line starts: this ties the script to mutmut's 3.x internals
(pinned in the dev extra).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# module -> the tests that touch it, in the order the issue asks for (pure modules first: they are fast).
MODULES: dict[str, list[str]] = {
    "encodectl/watching/rules.py": ["tests/watching/test_rules.py"],
    "encodectl/stream/state.py": ["tests/stream/test_state.py", "tests/test_stream_lifecycle.py"],
    "encodectl/stream/frame_buffer.py": ["tests/stream/test_frame_buffer.py"],
    "encodectl/frames/sequence.py": ["tests/frames/test_sequence.py"],
    "encodectl/frames/headers.py": ["tests/frames/test_headers.py"],
    "encodectl/job/verify.py": ["tests/job/test_verify.py"],
    "encodectl/watching/ledger_gateway.py": ["tests/watching/test_ledger_gateway.py"],
    "encodectl/lerobot/commit.py": ["tests/lerobot/test_commit.py"],
    "encodectl/lerobot/meta.py": ["tests/lerobot/test_meta.py"],
    "encodectl/lerobot/place.py": ["tests/lerobot/test_place.py"],
    "encodectl/lerobot/finish_dataset.py": ["tests/lerobot/test_finish_dataset.py"],
    "encodectl/job/runner.py": ["tests/job/test_runner.py"],
    # runner.py's temporary names and its durable, no-replace rename live here since the split
    "encodectl/outputs/names.py": ["tests/outputs/test_names.py"],
    "encodectl/outputs/publish.py": ["tests/outputs/test_publish.py"],
}

KILLED = {"killed", "timeout", "caught by type check"}


def equivalent_mutants() -> set[str]:
    """Mutant names listed in docs/testing.md's table of equivalent mutants (first column, in backquotes)."""
    doc = ROOT / "docs" / "testing.md"
    if not doc.exists():
        return set()
    return set(re.findall(r"^\|\s*`(encodectl\.[\w.]+__mutmut_\d+)`", doc.read_text(), flags=re.MULTILINE))


def run_one(module: str) -> None:
    """In a child process: mutmut on one module with its tests (mutmut keeps its configuration in a global)."""
    from mutmut import configuration

    settings = configuration.config()
    configuration._config = dataclasses.replace(
        settings, only_mutate=[module], pytest_add_cli_args_test_selection=list(MODULES[module])
    )
    from mutmut.__main__ import cli

    jobs = os.environ.get("MUTATION_JOBS", "1")
    cli.main(args=["run", "--max-children", jobs], standalone_mode=False)


def score(module: str, equivalent: set[str]) -> tuple[int, int, int, list[str]]:
    """(killed, counted, equivalent, survivors) from the results mutmut left beside the mutated copy."""
    from mutmut.stats import status_by_exit_code

    meta = json.loads((ROOT / "mutants" / f"{module}.meta").read_text())
    statuses = {name: status_by_exit_code[code] for name, code in meta["exit_code_by_key"].items()}
    counted = {name: status for name, status in statuses.items() if name not in equivalent}
    survivors = sorted(name for name, status in counted.items() if status not in KILLED)
    return len(counted) - len(survivors), len(counted), len(statuses) - len(counted), survivors


def main(argv: list[str]) -> int:
    if argv[:1] == ["--one"]:
        run_one(argv[1])
        return 0
    unknown = [module for module in argv if module not in MODULES]
    if unknown:
        print(f"not a module of the mutation run: {', '.join(unknown)} (one of: {', '.join(MODULES)})")
        return 2
    equivalent = equivalent_mutants()
    rows: list[str] = []
    for module in argv or list(MODULES):
        missing = [test for test in MODULES[module] if not (ROOT / test).exists()]
        if missing:
            rows.append(f"{module:40} skipped: no {', '.join(missing)}")
            continue
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
        done = subprocess.run([sys.executable, __file__, "--one", module], cwd=ROOT, check=False)
        if done.returncode != 0:
            rows.append(f"{module:40} mutmut failed (exit {done.returncode})")
            continue
        killed, counted, equal, survivors = score(module, equivalent)
        percent = 100 * killed / counted if counted else 100.0
        raw = 100 * killed / (counted + equal) if counted + equal else 100.0
        row = f"{module:40} {percent:5.1f}% killed ({killed}/{counted}; {equal} equivalent left out, raw {raw:.1f}%)"
        rows.append(row)
        rows.extend(f"    survived: {name}" for name in survivors)
        # At once as well: the next module's run starts from a clean slate.
        print("\n".join(["", row, *(f"    survived: {name}" for name in survivors)]), flush=True)
    print("\nmutation score per module")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
