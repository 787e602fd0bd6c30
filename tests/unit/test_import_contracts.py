"""Imports run one way: the import-linter contracts in pyproject.toml hold.

Each contract is checked on its own (``lint-imports --contract ID``), so a failure names the broken
contract and shows import-linter's explanation: which module imports which, on which line. The
layers and why they are in that order: docs/architecture.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]

PENDING: dict[str, str] = {}
"""Contracts written down before the work that makes them hold has landed: expected to fail while still broken."""


def lint(contract_id: str, root: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run import-linter for one contract on the ``sim`` package (and pyproject.toml) found in ``root``."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run([sys.executable, "-c", code, "--no-cache", "--contract", contract_id],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("contract", CONTRACTS, ids=[c["id"] for c in CONTRACTS])
def test_contract_holds(contract: dict) -> None:
    done = lint(contract["id"])
    if done.returncode == 0:
        return
    report = done.stdout
    if "Broken contracts" in report:
        report = report[report.index("Broken contracts"):]
    message = f"import contract broken: {contract['name']}\n{report}{done.stderr}"
    if contract["id"] in PENDING and "BROKEN" in done.stdout:
        pytest.xfail(f"{PENDING[contract['id']]}\n{message}")
    pytest.fail(message, pytrace=False)


def test_every_package_is_seen_by_the_contracts() -> None:
    """A directory of modules without ``__init__.py`` is a namespace package, which the import graph skips:
    its imports would escape every contract."""
    missing = [str(d.relative_to(ROOT)) for d in sorted((ROOT / "sim").rglob("*"))
               if d.is_dir() and any(d.glob("*.py")) and not (d / "__init__.py").exists()]
    assert not missing, f"packages without __init__.py (invisible to the import contracts): {missing}"


def test_a_back_arrow_breaks_the_layers(tmp_path: Path) -> None:
    """The layers contract is not vacuous: in a copy of the package, an engine module importing the
    analysis is reported with its line."""
    shutil.copytree(ROOT / "sim", tmp_path / "sim", ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "sim" / "engine" / "probe.py").write_text("import sim.analysis  # a back-arrow\n")
    done = lint("layers", tmp_path)
    assert done.returncode != 0
    assert "sim.engine.probe -> sim.analysis (l.1)" in done.stdout, done.stdout


def test_operators_sit_between_the_faults_and_observe() -> None:
    """Runbook actions end faults and act on components during the run, so ``response`` is above ``faults``
    (and what they need of the alert rules lives below both, in ``engine/alerting.py``); nothing of the
    simulation imports ``observe``, so ``response`` stays below it."""
    layers = next(c for c in CONTRACTS if c["id"] == "layers")["layers"]
    assert layers.index("observe") < layers.index("response") < layers.index("faults")
