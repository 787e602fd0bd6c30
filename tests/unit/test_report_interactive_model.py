"""The interactive timeline's Bokeh model passes Bokeh's own integrity checks, also for a run
where nothing failed (the failures panel then draws a flat zero line, not an empty figure)."""

from __future__ import annotations

import pytest

pytest.importorskip("bokeh")

from bokeh.core.validation import check_integrity  # noqa: E402

from sim.analysis import analyze  # noqa: E402
from sim.experiment.run import run  # noqa: E402
from sim.report.interactive import timeline_model  # noqa: E402
from tests.unit.analysis_scenarios import near_capacity  # noqa: E402


@pytest.mark.parametrize("faults", [False, True], ids=["nothing-fails", "with-faults"])
def test_timeline_model_has_no_bokeh_warnings(faults: bool) -> None:
    data = run(near_capacity(faults=faults))
    model = timeline_model([("run", data, analyze(data))])
    issues = check_integrity(model.references())
    assert not issues.error, [str(e) for e in issues.error]
    assert not issues.warning, [str(w) for w in issues.warning]
    failures = model.select_one({"name": "panel-failures"})
    assert failures is not None and failures.renderers, "the failures panel must draw something"
    if not faults:
        assert failures.title.text.endswith(": none")
