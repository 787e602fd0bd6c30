"""`chaossim validate` on trace scenarios: warnings for requests that can never be served, one line each."""

from __future__ import annotations

import os
import subprocess
import sys

import yaml


def _validate(path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "sim.cli", "validate", str(path)], capture_output=True, text=True,
                          env=env, timeout=120)


def test_validate_warns_of_mooncake_prompts_longer_than_the_default_kv_cache(tmp_path):
    scenario = {
        "name": "mooncake",
        "topology": {"load_balancers": [{"name": "lb", "upstream": ["gpu"]}],
                     "pools": [{"name": "gpu", "replicas": 8, "server": {"mode": "llm"}}]},
        "workload": {"clients": [{"name": "c", "target": ["lb"],
                                  "arrival": {"kind": "trace", "path": "builtin:mooncake_conv"}}]},
    }
    path = tmp_path / "mooncake.yaml"
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    proc = _validate(path)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok"
    (line,) = proc.stderr.splitlines()
    assert line.startswith("warning: workload.clients[0].arrival: 295 of 12031 requests have prompts longer than "
                           "pool gpu's KV cache (60,000 tokens): rejected on every attempt")
    scenario["topology"]["pools"][0]["server"]["kv_cache_tokens"] = 200_000
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    proc = _validate(path)
    assert proc.returncode == 0 and proc.stderr == ""


def test_validate_refuses_a_looped_trace_with_a_zero_period(tmp_path):
    trace = tmp_path / "t.csv"
    trace.write_text("Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"
                     "5,a,10,3,13,x\n5,a,12,4,16,x\n", encoding="utf-8")
    scenario = {
        "name": "loop",
        "topology": {"load_balancers": [{"name": "lb", "upstream": ["gpu"]}],
                     "pools": [{"name": "gpu", "replicas": 1, "server": {"mode": "llm"}}]},
        "workload": {"clients": [{"name": "c", "target": ["lb"],
                                  "arrival": {"kind": "trace", "path": str(trace), "loop": True}}]},
    }
    path = tmp_path / "loop.yaml"
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    proc = _validate(path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line == (f"workload.clients[0].arrival.path: {trace}: loop needs a replay period above zero "
                    "(all 2 requests at the same time)")
