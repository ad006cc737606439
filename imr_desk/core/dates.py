"""The one date module: dates as IMR letters and clerks write them, to `datetime.date`.

Every part of IMR Desk that reads a date (the parser, the checks, fill-from-selection, the form)
goes through here, so a date means the same thing wherever it is typed, selected or parsed.

Forms read (month names in full or abbreviated, with or without a period, any case):

    9/26/2013   09/26/2013   9-26-2013   9/26/13   11/2/16      month/day/year, as US letters print them
    2016-11-02                                                 ISO year-month-day
    September 26, 2013   Sept. 26, 2013   Sep 26 2013   September 26th, 2013
    26 September 2013   26 Sept. 2013

**Two-digit years** follow one rule: ``yy`` is ``20yy`` unless that year is later than the current
year, in which case it is ``19yy``. Letters and clerks never write a date in a later year (no
decision, injury or denial is in the future), so "11/2/16" is 2016 and "3/4/55" is 1955; in 2026
"12/1/26" is 2026 and "12/1/27" is 1927. `parse_date` takes ``today`` so a test (or a re-parse
of an old set) can fix the year the rule counts from.

An impossible date (2016-02-31, 13/45/2016, a year outside 1900-2099) is refused with `DateError`,
whose message says to the clerk what is wrong ("February 2016 has no day 31").

`find_dates` finds dates in prose and gives each with its span, so the parser can record where a
value came from.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

__all__ = [
    "DATE_PATTERN",
    "DateError",
    "FoundDate",
    "find_dates",
    "date_at",
    "first_date",
    "parse_date",
    "to_iso",
    "two_digit_year",
]

EARLIEST_YEAR = 1900  # no IMR letter (the programme began in 2013) names an injury before this
LATEST_YEAR = 2099


class DateError(ValueError):
    """A text that is not a real date; `str(err)` is a message for the clerk."""

    def __init__(self, raw: str, reason: str) -> None:
        self.raw = raw
        self.reason = reason
        super().__init__(f"“{raw.strip()}” is not a date: {reason}.")


_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}
# Longest names first, so "September" is not read as "Sep" followed by "tember".
_MONTH = r"(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")"
_ORDINAL = r"(?:st|nd|rd|th)?"

# One pattern for every form, each in its own named groups. Digits may not run on either side
# (so "pages 98-99" or a case number's digits are not read as a date); a numeric date may have spaces
# around its separators ("11/ 23/2016", as some PDFs extract), but never a line break.
DATE_PATTERN = (
    r"(?<![\d/-])(?P<iso_y>\d{4})-(?P<iso_m>\d{1,2})-(?P<iso_d>\d{1,2})(?![\d/-])"
    r"|(?<![\d/.-])(?P<us_m>\d{1,2})[ \t]*[/-][ \t]*(?P<us_d>\d{1,2})[ \t]*[/-][ \t]*(?P<us_y>\d{4}|\d{2})(?![\d/])"
    r"|\b(?P<mdy_m>" + _MONTH + r")\.?\s+(?P<mdy_d>\d{1,2})" + _ORDINAL + r",?\s+(?P<mdy_y>\d{4})(?!\d)"
    r"|(?<![\d/.-])(?P<dmy_d>\d{1,2})" + _ORDINAL + r"\s+(?P<dmy_m>" + _MONTH + r")\.?,?\s+(?P<dmy_y>\d{4})(?!\d)"
)
_DATE_RE = re.compile(DATE_PATTERN, re.IGNORECASE)


def two_digit_year(yy: int, today: date | None = None) -> int:
    """The year a two-digit ``yy`` stands for: ``20yy``, or ``19yy`` when ``20yy`` is after this year."""
    this_year = (today or date.today()).year
    year = 2000 + yy
    return year - 100 if year > this_year else year


def _build(raw: str, year_text: str, month: int, day: int, today: date | None) -> date:
    if len(year_text) == 2:
        year = two_digit_year(int(year_text), today)
    elif len(year_text) == 4:
        year = int(year_text)
    else:
        raise DateError(raw, "the year must have two or four digits")
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise DateError(raw, f"the year {year} is not plausible")
    if not 1 <= month <= 12:
        raise DateError(raw, f"there is no month {month}")
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        raise DateError(raw, f"{calendar.month_name[month]} {year} has no day {day}")
    return date(year, month, day)


def _from_match(m: re.Match[str], today: date | None) -> date:
    raw = m.group()
    g = m.group
    if g("iso_y"):
        return _build(raw, g("iso_y"), int(g("iso_m")), int(g("iso_d")), today)
    if g("us_y"):
        return _build(raw, g("us_y"), int(g("us_m")), int(g("us_d")), today)
    if g("mdy_y"):
        return _build(raw, g("mdy_y"), _MONTHS[g("mdy_m").lower()], int(g("mdy_d")), today)
    return _build(raw, g("dmy_y"), _MONTHS[g("dmy_m").lower()], int(g("dmy_d")), today)


def parse_date(text: str, *, today: date | None = None) -> date:
    """The date written in ``text`` (the whole text, spaces and a final period aside).

    Raises `DateError` with a clerk message when the text is not a date or the date cannot exist.
    """
    raw = text.strip().rstrip(".,;:").strip()
    m = _DATE_RE.fullmatch(raw)
    if m is None:
        raise DateError(text, "write it as 10/16/2016, 2016-10-16 or October 16, 2016")
    return _from_match(m, today)


def to_iso(text: str, *, today: date | None = None) -> str | None:
    """``'11/23/2016'`` -> ``'2016-11-23'``; None when the text is not a real date."""
    try:
        return parse_date(text, today=today).isoformat()
    except DateError:
        return None


@dataclass(frozen=True)
class FoundDate:
    """A date found in a text: its value (None when impossible, with `error` saying why) and its span."""

    value: date | None
    start: int
    end: int
    error: str | None = None

    @property
    def iso(self) -> str | None:
        return self.value.isoformat() if self.value else None


def find_dates(text: str, lo: int = 0, hi: int | None = None, *, today: date | None = None,
               keep_impossible: bool = False) -> Iterator[FoundDate]:
    """The dates written in ``text[lo:hi]``, in order, each with its span in ``text``.

    An impossible date ("2/31/2016") is skipped, or given with ``value=None`` and its `error`
    when ``keep_impossible`` is set (so a reader can warn about it).
    """
    end = len(text) if hi is None else hi
    for m in _DATE_RE.finditer(text, lo, end):
        try:
            yield FoundDate(_from_match(m, today), m.start(), m.end())
        except DateError as exc:
            if keep_impossible:
                yield FoundDate(None, m.start(), m.end(), str(exc))


def date_at(text: str, pos: int, hi: int | None = None, *, today: date | None = None) -> FoundDate | None:
    """The real date written right at ``pos`` (after any spaces), or None: a value after its label."""
    end = len(text) if hi is None else hi
    while pos < end and text[pos].isspace():
        pos += 1
    m = _DATE_RE.match(text, pos, end)
    if m is None:
        return None
    try:
        return FoundDate(_from_match(m, today), m.start(), m.end())
    except DateError:
        return None


def first_date(text: str, lo: int = 0, hi: int | None = None, *, today: date | None = None) -> FoundDate | None:
    """The first real date in ``text[lo:hi]``, or None."""
    return next(find_dates(text, lo, hi, today=today), None)
