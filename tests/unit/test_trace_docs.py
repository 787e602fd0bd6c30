"""Every arrival example in docs/traces.md validates (and the shipped ones load)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from sim.engine.traces import trace_of
from sim.spec.workload import TraceArrivals

DOC = Path(__file__).resolve().parents[2] / "docs" / "traces.md"
BLOCKS = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_server_example_validates():
    from sim.spec.topology import LLMServerSpec

    (block,) = [b for b in BLOCKS if b.startswith("server")]
    assert LLMServerSpec.model_validate(yaml.safe_load(block)["server"]).prefix_cache.capacity_tokens == 1_000_000


def test_the_page_has_an_example_per_shipped_trace():
    text = "".join(BLOCKS)
    for name in ("azure_conv", "azure_code", "mooncake_conv"):
        assert f"builtin:{name}" in text


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.startswith("arrival")])
def test_doc_example_validates(block):
    arrival = TraceArrivals.model_validate(yaml.safe_load(block)["arrival"])
    if arrival.path.startswith("builtin:"):
        assert len(trace_of(arrival)) > 1000
