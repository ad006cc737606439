"""The one date module: every form letters and clerks write, the two-digit-year rule, impossible dates."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imr_desk.core.dates import DateError, find_dates, first_date, parse_date, to_iso, two_digit_year

TODAY = date(2026, 12, 2)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("9/26/2013", date(2013, 9, 26)),
        ("09/26/2013", date(2013, 9, 26)),
        ("9/26/13", date(2013, 9, 26)),
        ("11/2/16", date(2016, 11, 2)),
        ("10-16-16", date(2016, 10, 16)),
        ("11/ 23/2016", date(2016, 11, 23)),
        ("2016-11-02", date(2016, 11, 2)),
        ("September 26, 2013", date(2013, 9, 26)),
        ("Sept. 26, 2013", date(2013, 9, 26)),
        ("Sep 26 2013", date(2013, 9, 26)),
        ("SEPTEMBER 26, 2013", date(2013, 9, 26)),
        ("September 26th, 2013", date(2013, 9, 26)),
        ("26 September 2013", date(2013, 9, 26)),
        ("26 Sept. 2013", date(2013, 9, 26)),
        ("2/29/2016", date(2016, 2, 29)),
        (" 12/21/2016. ", date(2016, 12, 21)),
    ],
)
def test_every_written_form(written, expected):
    assert parse_date(written, today=TODAY) == expected
    assert to_iso(written, today=TODAY) == expected.isoformat()


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ("2016-02-31", "February 2016 has no day 31"),
        ("13/45/2016", "there is no month 13"),
        ("2/29/2017", "February 2017 has no day 29"),
        ("4/31/2016", "April 2016 has no day 31"),
        ("0/12/2016", "there is no month 0"),
        ("1/12/1850", "the year 1850 is not plausible"),
        ("next Tuesday", "write it as"),
        ("", "write it as"),
    ],
)
def test_impossible_dates_are_refused_with_a_clerk_message(written, says):
    with pytest.raises(DateError) as err:
        parse_date(written, today=TODAY)
    assert says in str(err.value)
    assert str(err.value).startswith(f"“{written.strip()}” is not a date")
    assert to_iso(written, today=TODAY) is None


def test_two_digit_years_are_this_century_unless_that_is_after_this_year():
    assert two_digit_year(16, TODAY) == 2016
    assert two_digit_year(26, TODAY) == 2026
    assert two_digit_year(27, TODAY) == 1927
    assert two_digit_year(55, TODAY) == 1955
    assert two_digit_year(0, TODAY) == 2000
    assert parse_date("3/4/55", today=TODAY) == date(1955, 3, 4)
    assert parse_date("3/4/55", today=date(2060, 1, 1)) == date(2055, 3, 4)


@given(st.integers(0, 99), st.dates(date(2000, 1, 1), date(2099, 12, 31)))
def test_two_digit_year_is_never_after_today(yy, today):
    year = two_digit_year(yy, today)
    assert year % 100 == yy
    assert year <= today.year
    assert year > today.year - 100


def test_finder_gives_each_prose_date_with_its_span():
    text = ("An application for Independent Medical Review was filed on 9/6/2013 disputing the Utilization "
            "Review Denial dated 8/30/2013. A Notice of Assignment was sent on September 23, 2013; "
            "pages 98-99 and case CM13-0012345 are not dates, nor is 2/31/2013.")
    found = list(find_dates(text, today=TODAY))
    assert [f.iso for f in found] == ["2013-09-06", "2013-08-30", "2013-09-23"]
    assert [text[f.start:f.end] for f in found] == ["9/6/2013", "8/30/2013", "September 23, 2013"]
    with_bad = list(find_dates(text, keep_impossible=True, today=TODAY))
    assert with_bad[-1].value is None and "February 2013 has no day 31" in (with_bad[-1].error or "")
    assert first_date(text, found[0].end, today=TODAY) == found[1]
    assert first_date("no date here") is None


def test_finder_respects_its_window_and_wrapped_month_names():
    text = "Dated: September\n26, 2013 and later 10/1/2013"
    found = list(find_dates(text, 0, 30, today=TODAY))
    assert [(f.iso, f.start) for f in found] == [("2013-09-26", 7)]


@given(st.text(max_size=200))
def test_finder_never_raises_and_spans_stay_inside(text):
    for f in find_dates(text, keep_impossible=True):
        assert 0 <= f.start < f.end <= len(text)
        assert (f.value is None) == (f.error is not None)
