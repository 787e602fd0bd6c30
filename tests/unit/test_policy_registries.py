"""Every family of swappable policies is a Registry, and every Registry has one contract test that runs
over all of its implementations (so a newly registered implementation is tested without being named)."""

from __future__ import annotations

import importlib
import pkgutil

import sim.resilience
from sim.resilience.registry import Registry
from tests.unit import (
    test_resilience_autoscaler,
    test_resilience_balancer_selection,
    test_resilience_balancing,
    test_resilience_retry,
    test_resilience_shedding,
)

CONTRACTS = {
    "balancing policy": test_resilience_balancing.test_balancer_contract,
    "balancer selection": test_resilience_balancer_selection.test_selection_contract,
    "queue discipline": test_resilience_shedding.test_discipline_contract,
    "jitter": test_resilience_retry.test_jitter_contract,
    "autoscaling metric": test_resilience_autoscaler.test_metric_contract,
}
"""Registry family -> its contract test."""


def registries() -> dict[str, Registry]:
    """Every Registry defined in a module of sim.resilience (policies and controllers)."""
    found: dict[str, Registry] = {}
    for info in pkgutil.walk_packages(sim.resilience.__path__, "sim.resilience."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, Registry) and value.family not in found:
                found[value.family] = value
    return found


def parametrized_over(test) -> list:
    marks = [m for m in getattr(test, "pytestmark", []) if m.name == "parametrize"]
    assert len(marks) == 1, f"{test.__name__} must be parametrized once, over its registry"
    return list(marks[0].args[1])


def test_every_registry_has_a_contract_test_over_all_its_implementations():
    found = registries()
    assert {"balancing policy", "balancer selection", "queue discipline", "jitter"} <= set(found)
    missing = sorted(set(found) - set(CONTRACTS))
    assert not missing, f"registries without a contract test: {missing}"
    for family, registry in found.items():
        assert parametrized_over(CONTRACTS[family]) == registry.names(), family
        assert len(registry.names()) >= 2, f"{family}: a family of one is not swappable"
