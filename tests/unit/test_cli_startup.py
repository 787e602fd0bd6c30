"""``chaossim --help`` and ``chaossim validate`` start without loading what they do not use.

Checked in a fresh interpreter (sys.modules after importing the CLI and parsing / running a command),
not by timing: the plotting library loads only when figures are drawn, the simulator and the schema
only when a command needs them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("matplotlib", "networkx", "simpy", "scipy", "pandas", "pyarrow", "dask", "pydantic")


def loaded_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(__import__('json').dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_cli_and_parsing_loads_nothing_heavy():
    assert loaded_after("import sim.cli\nsim.cli.parser().parse_args(['validate', 'x.yaml'])") == []


def test_validate_loads_neither_plotting_nor_the_simulator():
    code = "import sim.cli\ntry:\n    sim.cli.main(['validate', 'builtin:demo'])\nexcept SystemExit:\n    pass"
    loaded = loaded_after(code)
    assert "pydantic" in loaded  # the schema is what validate uses
    assert not {"matplotlib", "networkx", "simpy", "scipy", "dask"} & set(loaded), loaded


def test_public_names_still_import_from_the_package():
    loaded = loaded_after("from sim import load_scenario, run, RunResult, with_changes\nimport sim\n"
                          "assert callable(run) and callable(sim.parse_scenario_text)")
    assert "simpy" in loaded
