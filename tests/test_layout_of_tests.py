"""Tests are findable by module: `encodectl/<package>/<module>.py` has `tests/<package>/test_<module>.py`,
a top-level `encodectl/<module>.py` has `tests/test_<module>.py`. The behaviour-level suites (bad input,
interrupts, the CLI as a user runs it, ...) stay as `tests/test_<behaviour>.py` beside them.

The mirrored folders have no `__init__.py`; pyproject's `--import-mode=importlib` names each test module by its
path (`tests.stream.test_finish`, `tests.lerobot.test_finish`), so two packages' modules of one name do not
collide.

MISSING lists the modules that have no test file yet, each with its reason; an entry that is no longer true (the
test file exists, or the module is gone) fails too, so the list only shrinks."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.same_on_every_ffmpeg("the layout is read from the file tree: no ffmpeg runs")

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "encodectl"
TESTS = ROOT / "tests"

MUTATION = "its test file comes with the mutation-testing work of issue 26"
MISSING: dict[str, str] = {}
NOT_MODULES = {"__init__.py", "__main__.py"}  # a package's docstring and entry point: nothing of their own to test


def modules() -> list[str]:
    """Every module of the package, relative to it (`job/ledger.py`, `errors.py`)."""
    return sorted(
        path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py") if path.name not in NOT_MODULES
    )


def mirror(module: str) -> Path:
    """The test file of a module: its folder under tests/, its name prefixed with test_."""
    relative = Path(module)
    return TESTS / relative.parent / f"test_{relative.name}"


def test_mirror_names_the_test_file_beside_its_package() -> None:
    assert mirror("job/ledger.py") == TESTS / "job" / "test_ledger.py"
    assert mirror("errors.py") == TESTS / "test_errors.py"
    assert "cli/__main__.py" not in modules()
    assert "watching/walker.py" in modules()


def test_every_module_has_its_test_file() -> None:
    missing = [module for module in modules() if module not in MISSING and not mirror(module).is_file()]
    assert not missing, "modules without a test file: " + ", ".join(
        f"{module} (wants {mirror(module).relative_to(ROOT)})" for module in missing
    )


def test_the_list_of_missing_test_files_is_still_true() -> None:
    known = set(modules())
    stale = [
        f"{module}: {'its test file exists' if mirror(module).is_file() else 'no such module'}"
        for module in MISSING
        if module not in known or mirror(module).is_file()
    ]
    assert not stale, "remove from MISSING in tests/test_layout_of_tests.py: " + "; ".join(stale)


def test_a_test_file_in_a_package_folder_names_a_module_of_it() -> None:
    """tests/<package>/test_<name>.py is found by its module's name, so the module must exist: a module renamed
    or split leaves its old test file here, which this test points to."""
    packages = {path.parent.relative_to(PACKAGE) for path in PACKAGE.rglob("__init__.py")} - {Path()}
    orphans = [
        test.relative_to(ROOT).as_posix()
        for package in packages
        for test in sorted((TESTS / package).glob("test_*.py"))
        if not (PACKAGE / package / test.name.removeprefix("test_")).is_file()
    ]
    assert not orphans, "test files whose module does not exist: " + ", ".join(orphans)
