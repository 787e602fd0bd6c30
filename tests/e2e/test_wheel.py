"""The wheel ships the scenario library: built once from a copy of the sources, checked, and used installed.

The build runs on a copy (sim/, scenarios/, pyproject.toml, README.md) in a temporary folder, so the
worktree gets no build/ or egg-info; the wheel is unpacked into another folder and a fresh interpreter
with only that folder (and the dependencies) on its path resolves ``builtin:`` names against it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from sim.spec.paths import scenario_files

ROOT = Path(__file__).resolve().parents[2]
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    shutil.copytree(ROOT / "sim", src / "sim", ignore=IGNORE)
    shutil.copytree(ROOT / "scenarios", src / "scenarios", ignore=IGNORE)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    dist = tmp_path_factory.mktemp("dist")
    code = f"from setuptools import build_meta; print(build_meta.build_wheel({str(dist)!r}))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=src, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return dist / proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as whl:
        whl.extractall(site)
    return site


def test_the_wheel_holds_every_scenario_of_the_library(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    library = ROOT / "scenarios"
    shipped = {f"sim/library/{p.relative_to(library).as_posix()}" for p in scenario_files(library)}
    assert len(shipped) >= 30
    assert shipped <= names, sorted(shipped - names)[:5]
    assert "sim/scenarios_builtin/demo.yaml" in names and "sim/library/README.md" in names
    assert not any(n.startswith("scenarios/") for n in names)  # no top-level package named scenarios
    lessons = sorted((ROOT / "scenarios").rglob("lesson.yaml"))
    assert {f"sim/library/{p.relative_to(ROOT / 'scenarios').as_posix()}" for p in lessons} <= names


def test_builtin_names_resolve_against_the_installed_copy(installed: Path, tmp_path: Path):
    code = (
        "import json, sim\n"
        "from sim.spec import load_scenario\n"
        "from sim.spec.paths import library_dir\n"
        "from sim.spec.library import catalogue\n"
        "from sim.spec.lesson import lesson_refs, load_lesson\n"
        "entries = catalogue()\n"
        "lessons = [load_lesson(r).ref.number for r in lesson_refs()]\n"
        "from sim.experiment.run import run\n"
        "ran = run(load_scenario('builtin:teaching/discovery-static-stability')).summary['measured']['ended']\n"
        "s = load_scenario('builtin:incidents/openai-2023-11-08-devday')\n"
        "print(json.dumps({'sim': sim.__file__, 'library': str(library_dir()), 'name': s.name,\n"
        "                  'demo': load_scenario('builtin:demo').name,\n"
        "                  'entries': [e.name for e in entries], 'lessons': lessons, 'ran': ran,\n"
        "                  'problems': [e.problem for e in entries if e.problem]}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(installed)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout)
    assert Path(got["sim"]).is_relative_to(installed)  # the unpacked wheel, not the checkout
    assert Path(got["library"]) == installed / "sim" / "library"
    assert got["name"] == "incident-1-devday" and got["demo"] == "demo"
    assert got["problems"] == []
    assert got["ran"] > 100  # a shipped scenario runs from the installed copy
    assert len(got["lessons"]) >= 10  # every lesson loads, its scenarios found inside the installed library
    expected = {"builtin:demo"} | {f"builtin:{p.relative_to(ROOT / 'scenarios').with_suffix('').as_posix()}"
                                   for p in scenario_files(ROOT / "scenarios")}
    assert set(got["entries"]) == expected
