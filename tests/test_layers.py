"""The layers of the package, as the subpackages' docstrings state them: no module imports a higher layer.

Read from the source (ast), so a new import that breaks the layering fails here, naming both modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.same_on_every_ffmpeg("the import levels are read from the source: no ffmpeg runs")

PACKAGE = Path(__file__).resolve().parent.parent / "encodectl"
# Lower first. Modules of one level may not import each other's package (run and stream are siblings).
LEVELS: list[set[str]] = [
    {"errors", "models", "version", "syscalls"},
    {"outputs"},
    {"ffmpeg"},
    {"frames"},
    {"job"},
    {"lerobot"},
    {"run", "stream"},
    {"watching", "checks"},
    {"benchmarking"},
    {"report", "api"},
    {"cli", "__init__"},
]
LEVEL_OF = {unit: level for level, units in enumerate(LEVELS) for unit in units}


def unit_of(module: str) -> str:
    """The layer unit of a dotted module inside the package: its subpackage, or the top-level module."""
    return module.split(".")[0]


def imported_modules(module: str, source: str) -> set[str]:
    """Package modules that `module` (dotted, inside the package) imports in `source`, relative imports
    resolved, as dotted names inside the package."""
    package = module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]  # each dot past the first: one package up
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
                if not node.module:
                    found.update(f"{target}.{alias.name}".strip(".") for alias in node.names)
                    continue
                found.add(target)
            elif node.module and node.module.startswith("encodectl."):
                found.add(node.module.removeprefix("encodectl."))
        elif isinstance(node, ast.Import):
            found.update(a.name.removeprefix("encodectl.") for a in node.names if a.name.startswith("encodectl."))
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def dotted(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE).with_suffix("").parts)


def violations(module: str, source: str) -> list[str]:
    """Imports of `module` that go up a layer, or across to a sibling of its level."""
    importer, found = unit_of(module), []
    for imported_module in sorted(imported_modules(module, source)):
        imported = unit_of(imported_module)
        shared_level = LEVEL_OF[imported] == LEVEL_OF[importer] and LEVEL_OF[imported] in (0, len(LEVELS) - 1)
        if imported != importer and not shared_level and LEVEL_OF[imported] >= LEVEL_OF[importer]:
            found.append(f"{module} imports {imported_module}")
    return found


def test_every_unit_has_a_level():
    units = {unit_of(dotted(p)) for p in MODULES}
    assert units <= set(LEVEL_OF), units - set(LEVEL_OF)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_layer_or_a_sibling(path):
    assert violations(dotted(path), path.read_text()) == []


def test_the_check_catches_an_import_upwards_and_across():
    source = "from ..run.pool import EncoderPool\nfrom ..errors import InputError\nfrom .log import LogTail\n"
    assert violations("ffmpeg.command", source) == ["ffmpeg.command imports run.pool"]
    assert violations("stream.encoder", "from ..run import engine\n") == ["stream.encoder imports run"]
    assert violations("cli", "from .report.text import to_json\n") == []
