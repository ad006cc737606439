"""Full-text search and the queue's filters, order and pages."""

from __future__ import annotations

import pytest

from imr_desk.store import Database, StoreError


def test_search_finds_words_in_text_requests_and_case_numbers(filled: Database) -> None:
    hits = filled.search("lumbar")
    assert hits and all("[" in h.snippet for h in hits)
    for h in hits:
        assert "lumbar" in filled.letter(h.id).text.lower()
    case = filled.queue({}, limit=1)[0].case_number
    assert [h.case_number for h in filled.search(case)][:1] == [case]
    assert filled.search("zzzunknownword") == []


@pytest.mark.parametrize("query", ['"unbalanced', "NOT", "a AND OR", "*", "col:on", "(x", "§ 9792.24"])
def test_search_takes_any_text_a_clerk_types(filled: Database, query: str) -> None:
    filled.search(query)  # must not raise an FTS syntax error
    filled.queue({"search": query})


def test_search_matches_word_beginnings_and_pieces_of_case_numbers(filled: Database) -> None:
    rows = filled.queue({}, limit=100)
    case = next(r.case_number for r in rows if r.case_number)
    prefix, number = case[:-3], case.split("-")[1]
    for query in (prefix, prefix.lower(), number[2:5]):  # the case number's start, or any piece of it
        found = {r.case_number for r in filled.queue({"search": query}, limit=100)}
        assert case in found, query
    texts = {r.id: filled.letter(r.id).text.lower() for r in rows}
    word = "acupunct"  # the start of a word: acupuncture
    expected = {i for i, t in texts.items() if word in t}
    assert expected and {r.id for r in filled.queue({"search": word}, limit=100)} >= expected
    assert {h.id for h in filled.search(word)} >= expected
    assert filled.queue_count({"search": "CM99-zzz"}) == 0
    assert filled.queue_count({"search": "---"}) == len(rows), "punctuation alone filters nothing"


def test_search_follows_the_clerks_corrections(filled: Database) -> None:
    letter = filled.letter(filled.queue({}, limit=1)[0].id)
    letter.record["items"][0]["request"] = "Acupuncturexyz sessions"
    filled.save_record(letter.id, letter.record, letter.version)
    assert [h.id for h in filled.search("acupuncturexyz")] == [letter.id]


def test_filters_by_status_batch_decision_specialty_dates_warnings(filled: Database) -> None:
    rows = filled.queue({}, limit=100)
    assert len(rows) == filled.queue_count() == 11
    first = rows[0]
    filled.set_status(first.id, "postponed", reason="later")
    assert filled.queue_count({"status": "postponed"}) == 1
    assert filled.queue_count({"status": ["to review", "in review"]}) == 10
    assert filled.queue_count({"batch": "first"}) == 11 and filled.queue_count({"batch": "other"}) == 0
    upheld = filled.queue({"decision": "upheld"}, limit=100)
    for r in upheld:
        assert "upheld" in {i["decision"] for i in filled.items(r.id)}
    dated = [r for r in rows if r.decision_date]
    lo = min(r.decision_date for r in dated)
    assert filled.queue_count({"decided_from": lo, "decided_to": lo}) == sum(r.decision_date == lo for r in dated)
    spec = next(s for r in rows for s in filled.letter(r.id).record["reviewer"]["specialties"])
    assert filled.queue_count({"specialty": spec}) >= 1
    warned = filled.queue_count({"has_warnings": True})
    assert warned + filled.queue_count({"has_warnings": False}) == 11
    assert warned == sum(1 for r in rows if r.warning_count)
    assert warned >= 1  # the seed letters have a cut-off rationale and an unstated decision
    code = next(w["code"] for r in rows for w in filled.letter(r.id).warnings)
    assert filled.queue_count({"warning_code": code}) >= 1
    assert [r.id for r in filled.queue({"ids": [rows[2].id, rows[4].id]})] == [rows[2].id, rows[4].id]


def test_queue_order_and_pages(filled: Database) -> None:
    by_case = filled.queue({}, "case_number", False, 0, 100)
    cases = [r.case_number for r in by_case if r.case_number]
    assert cases == sorted(cases)
    nulls = [r.case_number is None for r in by_case]
    assert any(nulls) and nulls == sorted(nulls, reverse=True)  # letters without a case number come first
    desc = filled.queue({}, "decision_date", True, 0, 100)
    dates = [r.decision_date for r in desc if r.decision_date]
    assert dates == sorted(dates, reverse=True)
    pages = filled.queue({}, "id", False, 0, 4) + filled.queue({}, "id", False, 4, 4) + filled.queue({}, "id", False, 8, 4)
    assert [r.id for r in pages] == [r.id for r in filled.queue({}, limit=100)]
    with pytest.raises(StoreError, match="Cannot sort"):
        filled.queue({}, "id; DROP TABLE letters")


def test_next_letter_wraps_and_skips_reviewed(filled: Database) -> None:
    ids = [r.id for r in filled.queue({}, limit=100)]
    assert filled.next_letter(ids[0]) == ids[1]
    assert filled.next_letter(ids[-1]) == ids[0]
    filled.set_status(ids[1], "reviewed")
    assert filled.next_letter(ids[0]) == ids[2]
    for i in ids:
        filled.set_status(i, "reviewed", reason="bulk")
    assert filled.next_letter(ids[0]) is None


def test_search_ranks_only_the_most_recent_matches_of_a_common_phrase(filled: Database, monkeypatch) -> None:
    import imr_desk.store.database as database

    everything = {h.id for h in filled.search("medically necessary", limit=100)}
    assert len(everything) >= 10  # nearly every letter says it
    monkeypatch.setattr(database, "RANK_WITHIN", 3)
    newest = sorted(everything)[-3:]
    assert sorted(h.id for h in filled.search("medically necessary", limit=100)) == newest
    rare = filled.search("Viagra")  # fewer matches than the cap: all of them, ranked
    assert rare and all("viagra" in filled.letter(h.id).text.lower() for h in rare)
