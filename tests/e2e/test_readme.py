"""The README's examples work as written: its scenario snippet validates and runs, its Python example runs."""

from __future__ import annotations

import re
from pathlib import Path

from sim import parse_scenario_text, run

README = Path(__file__).resolve().parents[2] / "README.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_scenario_snippet_runs_and_accounts_for_every_request():
    (yaml_text,) = _blocks("yaml")
    scenario = parse_scenario_text(yaml_text)
    short = scenario.model_copy(update={"run": scenario.run.model_copy(update={"duration_s": 240.0})})
    result = run(short)
    acc = result.summary["accounting"]
    print(acc)
    assert acc["arrivals"] > 1000
    assert acc["arrivals"] == acc["ended"] + acc["in_flight_at_end"]
    assert [e["event"] for e in result.fault_log][:1] == ["start"]


def test_readme_python_example_runs(capsys):
    (code,) = _blocks("python")
    shorter = '.model_copy(update={"run": RunSpec(duration_s=120.0, warmup_s=10.0)})'
    code = "from sim.spec.run import RunSpec\n" + code.replace('load_scenario("builtin:demo")',
                                                                'load_scenario("builtin:demo")' + shorter)
    try:
        import pandas  # noqa: F401
    except ImportError:
        code = code.replace("df = result.to_pandas()", "df = None")
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "arrivals" in out and "healthy" in out
