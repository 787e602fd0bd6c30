"""pyproject.toml lists its packages (one of them, sim.library, is the scenarios/ folder): none may be missing."""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_namespace_packages

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_under_sim_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {p for p in find_namespace_packages(where=str(ROOT), include=["sim", "sim.*"]) if "__pycache__" not in p}
    assert found - listed == set(), f"add these packages to [tool.setuptools] packages: {sorted(found - listed)}"
    assert config["package-dir"] == {"sim.library": "scenarios"}
    assert listed - found == {"sim.library"}, "a listed package that does not exist"
