"""The reference pages (docs/reference/) are what the schema says, and the schema says enough.

The pages are generated from the pydantic models' docstrings and field descriptions; a page that
differs from what the schema generates now is stale. Regenerate with
``python -m sim.spec.reference docs/reference``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.spec.faults import FAULT_MODELS
from sim.spec.policies import PoliciesSpec
from sim.spec.reference import MECHANISMS, PAGES, main, model_paths, stale

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference"


@pytest.mark.parametrize("name", sorted(PAGES))
def test_committed_reference_page_is_what_the_schema_generates(name: str) -> None:
    committed = (REFERENCE / name).read_text(encoding="utf-8") if (REFERENCE / name).is_file() else ""
    assert committed == PAGES[name](), (
        f"docs/reference/{name} is stale: the schema changed. Run: python -m sim.spec.reference docs/reference")


def test_every_field_of_the_schema_has_a_description() -> None:
    """The tables are only as good as the descriptions: no field may go without one."""
    missing = [f"{model.__name__}.{name}" for model in model_paths() for name, info in model.model_fields.items()
               if name not in ("kind", "mode") and not info.description]
    assert not missing, f"fields without a description: {missing}"


def test_every_fault_kind_names_its_family_and_what_it_leaves_to_the_mechanisms() -> None:
    for kind, model in FAULT_MODELS.items():
        extra = model.model_config.get("json_schema_extra") or {}
        assert extra.get("family") and extra.get("left_to_mechanisms"), f"{kind}: give it model_config = fault_doc(...)"
        assert model.__doc__, kind


def test_every_policy_is_in_the_mechanism_reference() -> None:
    policies = {info.annotation for info in PoliciesSpec.model_fields.values()}
    assert policies <= set(MECHANISMS), policies - set(MECHANISMS)


def test_check_mode_names_a_stale_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path)]) == 0
    assert stale(tmp_path) == []
    (tmp_path / "faults.md").write_text("old\n", encoding="utf-8")
    assert main(["--check", str(tmp_path)]) == 1
    assert "faults.md: stale" in capsys.readouterr().out
