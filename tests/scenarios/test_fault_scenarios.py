"""The shipped fault scenarios: every file validates, and the incident 8 replay shows its published shape."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim import run
from sim.spec.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2] / "scenarios"
FILES = sorted((ROOT / "faults").glob("*.yaml")) + sorted((ROOT / "incidents").glob("*.yaml"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_scenario_file_validates(path):
    scenario = load_scenario(path)
    assert scenario.faults
    if path.parent.name == "incidents":
        assert "chosen by hand" in scenario.description or "chosen by hand" in path.read_text()


def test_fault_families_each_have_an_example():
    names = {p.stem for p in (ROOT / "faults").glob("*.yaml")}
    assert {"overload", "crash", "gpu", "software", "network", "maintenance", "dependency", "correlated"} <= names


def test_incident_8_replay_cache_delay_then_cliff_then_late_recovery():
    scenario = load_scenario(ROOT / "incidents" / "openai-2024-12-11-control-plane-dns.yaml")
    res = run(scenario)
    cp_over = next(t for t in res.transitions if t.component == "control-plane" and t.state == "overloaded")
    assert cp_over.t_s == 960  # 15:16
    disc = next(t for t in res.transitions if t.component == "discovery" and t.state == "down")
    assert disc.t_s == pytest.approx(960 + 1200) and disc.cause.parents == (cp_over.id,)  # one record TTL later
    ts = res.timeseries
    t, ok = ts["t_s"], ts["success_ratio"]
    assert np.nanmin(ok[t < 2160]) > 0.97  # DNS caches hide the failure for 20 minutes
    assert np.nanmax(ok[(t >= 2220) & (t < 9360)]) < 0.01  # then a cliff (clients' own 30 s cache on top)
    assert np.nanmin(ok[t >= 9420]) > 0.97  # recovery at 17:36, 2 h 20 min after the overload
    # the same change on a 2-node staging cluster adds 20 x 2 x 2 = 80 ops/s: nothing breaks
    topo = scenario.topology
    staging = scenario.model_copy(update={"topology": topo.model_copy(update={"pools": [
        topo.pools[0].model_copy(update={"replicas": 2})]}),
        "workload": scenario.workload.model_copy(update={"clients": [
            scenario.workload.clients[0].model_copy(update={"arrival": scenario.workload.clients[0].arrival.model_copy(
                update={"rate_rps": 1.0})})]})})
    small = run(staging)
    assert not [t for t in small.transitions if t.component == "control-plane" and t.state == "overloaded"]
    assert small.summary["measured"]["availability"] > 0.99
