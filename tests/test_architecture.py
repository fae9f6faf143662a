"""The package map of ARCHITECTURE.md, checked on the source (no imports run).

Every ``import``/``from`` statement of every module is read with :mod:`ast`,
including the lazy ones inside functions, so a rule cannot be dodged by
moving an import into a function body.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("explorer", "models")
GUI = ("panel", "bokeh", "holoviews")
#: what models/ may import from explorer
MODELS_MAY_USE = ("explorer.store", "explorer.errors", "explorer.jobs.protocol")
GATEWAY = "explorer/jobs/runner.py"


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(path: Path, module: str) -> list[tuple[str, int]]:
    """Absolute names imported by ``path`` (with line numbers)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names.append((target, node.lineno))
            # `from explorer.analysis import tpcf` imports the module .tpcf
            names += [
                (f"{target}.{alias.name}", node.lineno)
                for alias in node.names
                if f"{target}.{alias.name}" in MODULES
            ]
    return names


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_models_import_only_the_ground_of_explorer():
    bad = [
        f"{_rel(path)}:{line} imports {name}"
        for module, path in MODULES.items()
        if module.split(".")[0] == "models"
        for name, line in _imports(path, module)
        if name.split(".")[0] == "explorer"
        and not any(name == ok or name.startswith(ok + ".") for ok in MODELS_MAY_USE)
    ]
    assert not bad, "\n".join(bad)


def test_explorer_names_models_only_in_the_gateway():
    bad = []
    for module, path in MODULES.items():
        if module.split(".")[0] != "explorer" or _rel(path) == GATEWAY:
            continue
        bad += [
            f"{_rel(path)}:{line} imports {name}"
            for name, line in _imports(path, module)
            if name.split(".")[0] == "models"
        ]
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value.startswith("models.")
            ):
                bad.append(f"{_rel(path)}:{node.lineno} names {node.value!r}")
    assert not bad, "\n".join(bad)


def test_only_the_app_imports_the_gui_stack():
    bad = [
        f"{_rel(path)}:{line} imports {name}"
        for module, path in MODULES.items()
        if not module.startswith("explorer.app")
        for name, line in _imports(path, module)
        if name.split(".")[0] in GUI
    ]
    assert not bad, "\n".join(bad)


def test_only_models_imports_torch():
    bad = [
        f"{_rel(path)}:{line} imports {name}"
        for module, path in MODULES.items()
        if module.split(".")[0] != "models"
        for name, line in _imports(path, module)
        if name.split(".")[0] == "torch"
    ]
    assert not bad, "\n".join(bad)


def _stage(module: str) -> str:
    """The package a module belongs to, for the cycle check (explorer.x / models)."""
    parts = module.split(".")
    return parts[0] if parts[0] == "models" else ".".join(parts[:2])


def test_no_import_cycle_between_packages():
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        source = _stage(module)
        for name, _ in _imports(path, module):
            if name.split(".")[0] in PACKAGES:
                target = _stage(name)
                if target != source:
                    graph.setdefault(source, set()).add(target)
    # the gateway's lazy imports of models are the one sanctioned upward arrow
    graph.get("explorer.jobs", set()).discard("models")
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> None:
        if node in done:
            return
        if node in visiting:
            cycle = visiting[visiting.index(node) :] + [node]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        visiting.append(node)
        for target in sorted(graph.get(node, ())):
            visit(target)
        visiting.pop()
        done.add(node)

    for node in sorted(graph):
        visit(node)


def test_help_imports_nothing_heavy():
    code = (
        "import sys, contextlib, io\n"
        "from explorer.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = [m for m in ('torch', 'umap', 'panel', 'bokeh', 'faiss')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"--help imported {result.stdout.strip()}"
