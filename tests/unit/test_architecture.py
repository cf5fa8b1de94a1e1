"""The import arrows of docs/architecture.md hold: the pure core (udfs/) imports nothing above it, the
job environment (flink_jobs/) and the table specs (iceberg/) import only the core and each other's
standard-library modules, and no modules import each other, directly or round a loop (lazy imports
inside functions included)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from flowlake.config import REPO_ROOT

LAYERS = {"udfs": 0, "flink_jobs": 1, "iceberg": 1, "flowlake": 2}


def modules() -> dict[str, Path]:
    found = {}
    for package in LAYERS:
        for path in (REPO_ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts).removesuffix(".__init__")
            found[name] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The project's modules a module imports anywhere in it (a `from x import y` of a submodule y is y)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            found |= {name for name in names if name in known} or ({node.module} & known.keys())
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names} & known.keys()
    return found


def test_no_module_imports_a_layer_above_its_own() -> None:
    known = modules()
    upward = [(name, target) for name, path in known.items() for target in imports(path, known)
              if LAYERS[target.split(".")[0]] > LAYERS[name.split(".")[0]]]
    assert upward == []


def test_the_job_environment_reads_only_standard_library_table_modules() -> None:
    """PyIceberg is not installed in the job environment: flink_jobs/ imports iceberg's registry and
    maintenance policy, which use the standard library and the core only."""
    known = modules()
    for name, path in known.items():
        if name.startswith("flink_jobs"):
            assert {t for t in imports(path, known) if t.startswith("iceberg")} <= {"iceberg.registry",
                                                                                  "iceberg.maintenance"}, name
    for module in ("iceberg.registry", "iceberg.maintenance"):
        tree = ast.parse(known[module].read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
        assert imported <= {*sys.stdlib_module_names, "udfs", "__future__"}, (module, imported)


def test_no_import_loops() -> None:
    known = modules()
    graph = {name: imports(path, known) - {name} for name, path in known.items()}
    loops = []

    def visit(name: str, path: list[str]) -> None:
        for target in graph[name]:
            if target == path[0]:
                loops.append(path)
            elif target not in path and target > path[0]:  # each loop once, from its smallest module
                visit(target, [*path, target])

    for name in sorted(graph):
        visit(name, [name])
    assert loops == []
