"""The wall-clock anchor: ``run.start_at`` is validated, and the incident timeline then reads clock times."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sim.analysis import analyze
from sim.analysis.clock import Anchor
from sim.experiment.run import run
from sim.report.figures import draw_timeline
from sim.spec import ScenarioError, parse_scenario

from .analysis_scenarios import near_capacity

START = "2024-08-16T05:30:00-07:00"


def _run_section(**extra) -> dict:
    return {"duration_s": 100, **extra}


def _problems(run_section: dict) -> list[str]:
    base = near_capacity().model_dump(mode="json")
    base["run"] = run_section
    with pytest.raises(ScenarioError) as err:
        parse_scenario(base)
    return [str(p) for p in err.value.problems]


@pytest.mark.parametrize(("value", "expected"), [
    ("2024-08-16T05:30:00", "run.start_at: 2024-08-16T05:30:00 has no time zone: add an offset such as -07:00, "
                            "or Z for UTC"),
    ("next tuesday", "run.start_at: 'next tuesday' is not an ISO 8601 date and time (e.g. 2024-08-16T05:30:00-07:00)"),
    (17, "run.start_at: must be an ISO 8601 date and time with a time zone (e.g. 2024-08-16T05:30:00-07:00)"),
])
def test_a_bad_start_at_is_one_clear_line(value, expected):
    assert _problems(_run_section(start_at=value)) == [expected]


def test_a_bad_time_zone_is_one_clear_line():
    assert _problems(_run_section(start_at=START, time_zone="Mars/Olympus")) == [
        "run.time_zone: unknown time zone 'Mars/Olympus' (an IANA name such as America/Los_Angeles)"]
    assert _problems(_run_section(time_zone="UTC")) == ["run.time_zone: needs run.start_at (the clock it shows)"]


def test_yaml_timestamps_are_accepted_as_written():
    from sim.spec import parse_scenario_text

    text = near_capacity().model_dump(mode="json")
    import yaml

    text["run"]["start_at"] = "PLACEHOLDER"
    doc = yaml.safe_dump(text).replace("start_at: PLACEHOLDER", f"start_at: {START}")
    assert f"start_at: {START}\n" in doc
    scen = parse_scenario_text(doc)  # an unquoted YAML timestamp arrives as a datetime
    assert scen.run.start_at == datetime.fromisoformat(START)


def test_status_page_and_events_read_clock_times():
    base = near_capacity().model_dump(mode="json")
    base["run"].update(start_at=START, time_zone="America/Los_Angeles")
    anchored = parse_scenario(base)
    a = analyze(run(anchored))
    plain = analyze(run(near_capacity()))
    inc = a["incident"]
    assert a["run"]["clock"]["zone"] == "PT" and a["run"]["clock"]["start"] == "Aug 16, 2024 05:30 PT"
    start = datetime.fromisoformat(START).astimezone(ZoneInfo("America/Los_Angeles"))
    assert inc["status"], "the crash must be detected"
    for s in inc["status"]:
        assert re.fullmatch(r"\d\d:\d\d PT", s["clock"]), s["clock"]
        assert s["clock"] == (start + timedelta(seconds=s["t_s"])).strftime("%H:%M PT")
    for e in inc["events"]:
        assert e["clock"] == (start + timedelta(seconds=e["t_s"])).strftime("%H:%M:%S PT")
    # only a label: the same run, the same times in seconds
    assert [s["t_s"] for s in inc["status"]] == [s["t_s"] for s in plain["incident"]["status"]]
    assert plain["run"]["clock"] is None and re.fullmatch(r"\d\d:\d\d:\d\d", plain["incident"]["status"][0]["clock"])


def test_timeline_axis_reads_clock_times():
    base = near_capacity().model_dump(mode="json")
    base["run"].update(start_at="2023-11-08T23:59:00Z")
    result = run(parse_scenario(base))
    fig = draw_timeline(result, analyze(result))
    ax = fig.axes[3]
    fmt = ax.xaxis.get_major_formatter()
    assert fmt(0, 0) == "23:59" and fmt(120, 0) == "Nov 9 00:01"  # the date once the run crosses midnight
    assert "UTC" in ax.get_xlabel()


def test_anchor_names_us_zones_as_status_pages_do():
    winter = Anchor(datetime.fromisoformat("2023-11-08T05:30:00-08:00"), "America/Los_Angeles")
    assert winter.label(720, seconds=False) == "05:42 PT"
    assert Anchor(datetime.fromisoformat("2023-11-08T05:30:00+01:00"), "Europe/Paris").label(0) == "05:30:00 CET"
    assert Anchor(datetime.fromisoformat("2023-11-08T05:30:00Z")).label(0) == "05:30:00 UTC"
