"""Components hold policies through the Protocols of sim.components.policies: no component module
imports an implementation from sim.resilience, and no module of components, resilience or assembly
imports another module's private name."""

from __future__ import annotations

import ast
from pathlib import Path

SIM = Path(__file__).resolve().parents[2] / "sim"


def imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) for every ``from module import name`` (name '' for ``import module``)."""
    out: list[tuple[str, str]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            out += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            out += [(alias.name, "") for alias in node.names]
    return out


def test_components_do_not_import_resilience():
    offenders = [f"{path.name}: {module}" for path in sorted((SIM / "components").glob("*.py"))
                 for module, _ in imports(path) if module.startswith("sim.resilience")]
    assert not offenders


def test_no_module_imports_a_private_name():
    paths = sorted(p for room in ("components", "resilience", "assembly") for p in (SIM / room).rglob("*.py"))
    offenders = [f"{path.relative_to(SIM)}: {module}.{name}" for path in paths
                 for module, name in imports(path) if name.startswith("_") and not name.startswith("__")]
    assert not offenders
