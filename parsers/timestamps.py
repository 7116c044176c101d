"""Timestamps written by the wrappers people put around PoolMon, and in file names.

A *time marker* is a line that holds nothing but a moment, written by whatever
scheduled PoolMon: ``echo %DATE% %TIME%`` (its shape depends on the Windows
locale), PowerShell ``Get-Date``, ``===== ... =====`` banners, or
``2026.11.21-14:03:07 W. Europe Standard Time``.  Markers carry no time zone we
can trust, so they are read as naive local times, like PoolMon's own clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            ("january", "jan", "januar", "janvier", "enero"),
            ("february", "feb", "februar", "février", "fevrier", "febrero"),
            ("march", "mar", "märz", "maerz", "mars", "marzo"),
            ("april", "apr", "avril", "abril"),
            ("may", "mai", "mayo"),
            ("june", "jun", "juni", "juin", "junio"),
            ("july", "jul", "juli", "juillet", "julio"),
            ("august", "aug", "août", "aout", "agosto"),
            ("september", "sep", "sept", "septembre", "septiembre"),
            ("october", "oct", "oktober", "octobre", "octubre"),
            ("november", "nov", "novembre", "noviembre"),
            ("december", "dec", "dezember", "décembre", "decembre", "diciembre"),
        ]
    )
    for name in names
}

# Weekday words as %DATE% and Get-Date print them in common locales; only skipped, never trusted.
_WEEKDAY = (
    r"(?:mon|tue|wed|thu|fri|sat|sun|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    r"|mo|di|mi|do|fr|sa|so|montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag"
    r"|lun|mar|mer|jeu|ven|sam|dim|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\.?,?"
)
_TIME = (
    r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<F>\d{1,7}))?)?(?:\s*(?P<ampm>[AaPp]\.?[Mm]\.?))?"
    r"(?P<offset>Z|[+-]\d{2}:?\d{2})?"
)

# Numeric dates: the order is decided by the shape (year first) or, for d/m vs m/d, per source.
_NUMERIC = re.compile(
    rf"^(?:{_WEEKDAY}\s+)?"
    r"(?:(?P<y1>\d{4})[-/.](?P<a1>\d{1,2})[-/.](?P<b1>\d{1,2})"
    r"|(?P<a2>\d{1,2})(?P<sep>[-/.])(?P<b2>\d{1,2})(?P=sep)(?P<y2>\d{4}))"
    rf"(?:\s*[T_ -]\s*|\s+|\s*,\s*)?(?:{_TIME})?"
    r"(?:\s+(?P<tz>[A-Za-z][A-Za-z .()+:-]*?))?\s*$",
    re.IGNORECASE,
)
# Get-Date long forms: "Saturday, November 21, 2026 2:03:07 PM" and "Samstag, 21. November 2026 14:03:07".
_LONG_MDY = re.compile(
    rf"^(?:{_WEEKDAY}\s+)?(?P<mon>[^\W\d_]+)\.?\s+(?P<d>\d{{1,2}}),?\s+(?P<y>\d{{4}}),?(?:\s+(?:at\s+)?{_TIME})?\s*$",
    re.IGNORECASE,
)
_LONG_DMY = re.compile(
    rf"^(?:{_WEEKDAY}\s+)?(?P<d>\d{{1,2}})\.?\s+(?P<mon>[^\W\d_]+)\.?\s+(?P<y>\d{{4}}),?(?:\s+{_TIME})?\s*$",
    re.IGNORECASE,
)
_TIME_ONLY = re.compile(rf"^{_TIME}\s*$")
# Decorations around a marker: banners, labels, "echo" leftovers.
_DECOR = re.compile(r"^[=*#\-\s]+|[=*#\-\s]+$")
_LABEL = re.compile(
    r"^(?:(?:date|time|timestamp|snapshot|sample|poolmon|captured|capture|taken|at)\b\s*(?:is|at)?\s*[:=]?\s*)+",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Marker:
    """A time marker line as read: a full moment, a date alone, or a time of day alone.

    ``ambiguous`` is set for numeric day/month dates that read either way
    (``03/04/2026``); the caller decides the order once per source.
    """

    day: date | None
    clock: time | None
    ambiguous: bool = False
    swapped: date | None = None  # the day read the other way round, when ambiguous
    tz_name: str | None = None
    day_first_hint: bool = False  # a slash date that can only be day-first (21/11/2026)

    def moment(self, day_first: bool = False) -> datetime | None:
        day = self.swapped if (day_first and self.swapped is not None) else self.day
        if day is None:
            return None
        return datetime.combine(day, self.clock or time(0))


def _clock(m: re.Match[str]) -> time | None:
    if m.group("H") is None:
        return None
    hour, minute = int(m.group("H")), int(m.group("M"))
    second = int(m.group("S") or 0)
    frac = m.group("F")
    micro = int((frac + "000000")[:6]) if frac else 0
    ampm = (m.group("ampm") or "").lower().replace(".", "")
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError("hour out of range for AM/PM")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    return time(hour, minute, second, micro)


def parse_marker(line: str) -> Marker | None:
    """Read a whole line as a time marker, or None when it is something else.

    >>> parse_marker("Sat 11/21/2026 14:03:07.12").moment()
    datetime.datetime(2026, 11, 21, 14, 3, 7, 120000)
    """
    text = line.strip()
    if not text or len(text) > 80 or not any(c.isdigit() for c in text):
        return None
    text = _DECOR.sub("", text)
    text = _LABEL.sub("", text).strip()
    if not text:
        return None
    try:
        m = _NUMERIC.match(text)
        if m:
            return _numeric_marker(m)
        for pattern in (_LONG_MDY, _LONG_DMY):
            m = pattern.match(text)
            if m:
                month = _MONTHS.get(m.group("mon").lower().rstrip("."))
                if month is None:
                    return None
                return Marker(date(int(m.group("y")), month, int(m.group("d"))), _clock(m))
        m = _TIME_ONLY.match(text)
        if m and (m.group("S") is not None or m.group("ampm")):
            # A bare %TIME% or `time /t` ("02:03 PM"); a plain "12:30" is too likely to be prose.
            return Marker(None, _clock(m))
    except ValueError:
        return None
    return None


def _numeric_marker(m: re.Match[str]) -> Marker | None:
    clock = _clock(m)
    tz = m.group("tz")
    if m.group("offset") and tz is None:
        # Get-Date -Format o: the clock as written, the UTC offset kept as the zone name.
        tz = "UTC" if m.group("offset") == "Z" else "UTC" + m.group("offset")
    if tz is not None:
        tz = tz.strip()
        # A trailing word is only a time-zone name after a full time ("... Standard Time", "UTC").
        if clock is None or not (tz.isupper() or "time" in tz.lower() or tz.lower() in {"utc", "gmt", "z"}):
            return None
    if m.group("y1"):
        return Marker(date(int(m.group("y1")), int(m.group("a1")), int(m.group("b1"))), clock, tz_name=tz)
    a, b, year = int(m.group("a2")), int(m.group("b2")), int(m.group("y2"))
    sep = m.group("sep")
    if sep == ".":
        # Dotted dates are day-first in every locale that writes them (21.11.2026).
        return Marker(date(year, b, a), clock, tz_name=tz)
    if a > 12:
        return Marker(date(year, b, a), clock, tz_name=tz, day_first_hint=True)
    if b > 12 or a == b:
        return Marker(date(year, a, b), clock, tz_name=tz)
    return Marker(date(year, a, b), clock, ambiguous=True, swapped=date(year, b, a), tz_name=tz)


def day_first_for(markers: list[Marker]) -> bool:
    """Decide d/m against m/d for one source: any unambiguous day-first date settles it."""
    return any(mk.day_first_hint for mk in markers)


class MarkerClock:
    """Turns the markers of one source, in order, into moments.

    A date-only line (``date /t``) waits for the following time-only line; a
    time-only line (``echo %TIME%``) borrows the last date seen, or the date from the
    file name, and rolls over midnight when the clock goes backwards.
    """

    def __init__(self, base_day: date | None = None, day_first: bool = False) -> None:
        self.day = base_day
        self.day_first = day_first
        self.last: datetime | None = None

    def feed(self, marker: Marker) -> datetime | None:
        if marker.day is not None:
            self.day = marker.swapped if (self.day_first and marker.swapped) else marker.day
            if marker.clock is None:
                moment = datetime.combine(self.day, time(0))
                self.last = moment
                return moment
            moment = datetime.combine(self.day, marker.clock)
        else:
            if self.day is None or marker.clock is None:
                return None
            moment = datetime.combine(self.day, marker.clock)
            if self.last is not None and moment < self.last and self.last - moment > timedelta(hours=1):
                moment += timedelta(days=1)
                self.day = moment.date()
        self.last = moment
        return moment


_FILENAME_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})[_T.-]?(\d{2})(\d{2})(\d{2})(?!\d)"), "ymdHMS"),
    (re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})[_T .](\d{2})[-.:h_](\d{2})[-.:m_](\d{2})(?!\d)"), "ymdHMS"),
    (re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})[_T.-]?(\d{2})(\d{2})(?!\d)"), "ymdHM"),
    (re.compile(r"(?<!\d)(\d{1,2})-(\d{1,2})-(\d{4})(?!\d)"), "mdy"),
    (re.compile(r"(?<!\d)(\d{1,2})\.(\d{1,2})\.(\d{4})(?!\d)"), "dmy"),
    (re.compile(r"(?<!\d)(\d{4})[-.](\d{2})[-.](\d{2})(?!\d)"), "ymd"),
    (re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)"), "ymd"),
)


def timestamp_from_filename(name: str) -> datetime | None:
    """A timestamp embedded in a file name (``poolsnap_20261121_140307.log``), or None."""
    base = name.rsplit("!", 1)[-1].replace("\\", "/").rsplit("/", 1)[-1]
    for pattern, order in _FILENAME_PATTERNS:
        for m in pattern.finditer(base):
            g = [int(x) for x in m.groups()]
            try:
                if order == "ymdHMS":
                    return datetime(g[0], g[1], g[2], g[3], g[4], g[5])
                if order == "ymdHM":
                    return datetime(g[0], g[1], g[2], g[3], g[4])
                if order == "mdy":
                    if g[0] > 12:
                        return datetime(g[2], g[1], g[0])
                    return datetime(g[2], g[0], g[1])
                if order == "dmy":
                    return datetime(g[2], g[1], g[0])
                return datetime(g[0], g[1], g[2])
            except ValueError:
                continue
    return None
