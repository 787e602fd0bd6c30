"""Wall-clock times of a run with a ``run.start_at`` anchor, as a status page writes them (05:42 PT).

Simulated second 0 is ``start_at``; a clock time is ``start_at + t_s`` in ``run.time_zone`` (an IANA
zone) or, without one, in ``start_at``'s own offset. US zones get the generic names status pages
use (PT, MT, CT, ET) rather than PST / PDT. Without an anchor the analysis keeps simulated clock
time from the start of the run (HH:MM:SS), as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

GENERIC_US = {"PST": "PT", "PDT": "PT", "MST": "MT", "MDT": "MT", "CST": "CT", "CDT": "CT", "EST": "ET",
              "EDT": "ET", "AKST": "AKT", "AKDT": "AKT", "HST": "HT"}
"""Status pages of US companies write 'PT' all year: the generic name, not the standard / daylight one."""


@dataclass(frozen=True)
class Anchor:
    """The wall clock of simulated second 0, and the zone clock times are written in."""

    start: datetime
    zone: str | None = None
    """IANA zone name, or None for start's own offset."""

    @classmethod
    def from_run(cls, run: Any) -> Anchor | None:
        """The anchor of a scenario's ``run`` section, or None when it has no ``start_at``."""
        start = getattr(run, "start_at", None)
        return None if start is None else cls(start, getattr(run, "time_zone", None))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Anchor:
        return cls(datetime.fromisoformat(d["start_at"]), d.get("time_zone"))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the anchor, the zone's name as shown, and the start as a clock time."""
        return {"start_at": self.start.isoformat(), "time_zone": self.zone, "zone": self.zone_name(0.0),
                "start": self.stamp(0.0)}

    def _tz(self) -> tzinfo:
        return ZoneInfo(self.zone) if self.zone else self.start.tzinfo

    def at(self, t_s: float) -> datetime:
        """The local date and time of simulated second ``t_s``."""
        return (self.start + timedelta(seconds=float(t_s))).astimezone(self._tz())

    def zone_name(self, t_s: float) -> str:
        """PT, CET, UTC, UTC-07:00 ... (a generic US name for US zones)."""
        local = self.at(t_s)
        name = local.tzname() or "UTC"
        if self.zone and (self.zone.startswith("America/") or self.zone.startswith("US/")):
            name = GENERIC_US.get(name, name)
        return "UTC" if name in ("UTC+00:00", "UTC") else name

    def _day_prefix(self, t_s: float) -> str:
        local, first = self.at(t_s), self.at(0.0)
        return "" if local.date() == first.date() else local.strftime("%b %-d ")

    def hhmm(self, t_s: float) -> str:
        """05:42 (with the date in front once the run has crossed midnight); for axis ticks."""
        return self._day_prefix(t_s) + self.at(t_s).strftime("%H:%M")

    def label(self, t_s: float, seconds: bool = True) -> str:
        """05:42:13 PT (``seconds``) or 05:42 PT, with the date once the run has crossed midnight."""
        fmt = "%H:%M:%S" if seconds else "%H:%M"
        return f"{self._day_prefix(t_s)}{self.at(t_s).strftime(fmt)} {self.zone_name(t_s)}"

    def stamp(self, t_s: float) -> str:
        """Aug 16, 2024 05:30 PT: a full date and time, for headings."""
        local = self.at(t_s)
        return f"{local.strftime('%b %-d, %Y %H:%M')} {self.zone_name(t_s)}"


def sim_clock(t_s: float | None) -> str | None:
    """Simulated clock from the start of the run, HH:MM:SS (no anchor)."""
    if t_s is None:
        return None
    s = int(round(t_s))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def clock_text(t_s: float | None, anchor: Anchor | None, seconds: bool = True) -> str | None:
    """A time for people: the wall clock when anchored (05:42:13 PT), else the simulated clock."""
    if t_s is None:
        return None
    return anchor.label(t_s, seconds) if anchor else sim_clock(t_s)
