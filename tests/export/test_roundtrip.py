"""A JSON Lines export imports back into another database with the review intact."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from imr_desk.cli import cli
from imr_desk.core.reading import sha256_of
from imr_desk.export import export_set
from imr_desk.store import Database
from imr_desk.store.records import diff
from imr_desk.store.roundtrip import parser_record
from tests.export.conftest import REAL


def test_round_trip_keeps_records_status_history_annotations(reviewed: Database, tmp_path: Path) -> None:
    export_set(reviewed, "jsonl", tmp_path / "set.jsonl")
    other = Database.open(tmp_path / "other.db", user="bob")
    try:
        report = other.import_paths([tmp_path / "set.jsonl"], batch="from alice")
        assert len(report.added) == 5 and not report.failed, report
        for old_id in range(1, 6):
            a = reviewed.letter(old_id)
            new_id = other.letter_id_by_sha256(sha256_of(a.text.encode("utf-8")))  # the stored text's sha256
            assert new_id is not None
            b = other.letter(new_id)
            assert b.record == a.record
            assert b.text == a.text and b.page_starts == a.page_starts
            assert other.letter_file(new_id) == a.text.encode("utf-8")  # the text is the stored letter
            assert b.media_type == "text/plain" and b.name == a.name
            assert (b.status, b.status_reason, b.status_by, b.status_at) == (
                a.status, a.status_reason, a.status_by, a.status_at)
            assert (b.reviewed_by, b.reviewed_at) == (a.reviewed_by, a.reviewed_at)
            assert b.batch == "from alice"
            assert other.changed_fields(new_id) == reviewed.changed_fields(old_id)
            old_history = [(h.path, h.old, h.new, h.who, h.at, h.origin, h.reason) for h in reviewed.history(old_id)]
            new_history = [(h.path, h.old, h.new, h.who, h.at, h.origin, h.reason) for h in other.history(new_id)]
            assert new_history[:-1] == old_history
            assert new_history[-1][0] == "*" and new_history[-1][5] == "import" and new_history[-1][3] == "bob"
            old_notes = [(n.start, n.end, n.label, n.note, n.who, n.at, n.removed_at, n.removed_by)
                         for n in reviewed.annotations(old_id, include_removed=True)]
            new_notes = [(n.start, n.end, n.label, n.note, n.who, n.at, n.removed_at, n.removed_by)
                         for n in other.annotations(new_id, include_removed=True)]
            assert new_notes == old_notes
        assert other.changed_fields(1) == ["items.0.request", "summary"]
        # importing the same set again, or into the database it came from: duplicates
        again = other.import_paths([tmp_path / "set.jsonl"])
        assert len(again.duplicates) == 5 and not again.added
        home = reviewed.import_paths([tmp_path / "set.jsonl"])
        assert len(home.duplicates) == 5 and not home.added
        # and exporting the imported set gives the same records and reviews
        export_set(other, "jsonl", tmp_path / "again.jsonl")
        first = [json.loads(x) for x in (tmp_path / "set.jsonl").read_text(encoding="utf-8").splitlines()]
        second = [json.loads(x) for x in (tmp_path / "again.jsonl").read_text(encoding="utf-8").splitlines()]
        drop = ("batch", "imported_by", "imported_at", "letter_id", "version")
        for x, y in zip(first, second, strict=True):
            for line in (x, y):
                line.pop("history")
                for k in drop:
                    line["review"].pop(k)
            assert x == y
    finally:
        other.close()


def test_import_command_reads_an_export(reviewed: Database, tmp_path: Path) -> None:
    export_set(reviewed, "jsonl", tmp_path / "set.jsonl")
    result = CliRunner().invoke(cli, ["import", "--db", str(tmp_path / "copy.db"), "-q", str(tmp_path / "set.jsonl")])
    assert result.exit_code == 0, result.output
    assert "5 letter(s) added" in result.output
    copy = Database.open(tmp_path / "copy.db")
    try:
        assert copy.queue_count({"status": "reviewed"}) == 5
        assert [a.label for a in copy.annotations(copy.letter_id_by_sha256(sha256_of(reviewed.letter(2).text.encode("utf-8"))) or 0)] == [
            "extraction error"]
    finally:
        copy.close()


def test_bad_lines_are_reported_and_the_others_imported(reviewed: Database, tmp_path: Path) -> None:
    export_set(reviewed, "jsonl", tmp_path / "set.jsonl")
    lines = (tmp_path / "set.jsonl").read_text(encoding="utf-8").splitlines()
    no_text = json.loads(lines[1])
    del no_text["text"]
    bad_span = json.loads(lines[2])
    bad_span["annotations"] = [{"start": 5, "end": 10 ** 7, "label": "x"}]
    broken = "\n".join([lines[0], "{not json", json.dumps(no_text), json.dumps(bad_span), "", "[1, 2]",
                        lines[3]]) + "\n"
    (tmp_path / "broken.jsonl").write_text(broken, encoding="utf-8")
    other = Database.open(tmp_path / "other.db")
    try:
        report = other.import_paths([tmp_path / "broken.jsonl"])
        assert len(report.added) == 2
        reasons = [reason for _name, reason in report.failed]
        assert len(reasons) == 4
        assert "line 2 is not JSON" in reasons[0]
        assert "no `text`" in reasons[1]
        assert "outside the letter's text" in reasons[2]
        assert "line 6 is not a JSON object" in reasons[3]
    finally:
        other.close()


def test_parse_output_with_text_imports_as_a_letter_to_review(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["parse", "--text", str(REAL[0])])
    assert result.exit_code == 0
    (tmp_path / "parsed.jsonl").write_text(result.stdout, encoding="utf-8")
    db = Database.open(tmp_path / "p.db")
    try:
        report = db.import_paths([tmp_path / "parsed.jsonl"])
        assert len(report.added) == 1, report
        letter = db.letter(report.added_ids[0])
        assert letter.status == "to review" and db.changed_fields(letter.id) == []
        assert letter.record["case"]["case_number"] == "CM16-0221706"
    finally:
        db.close()


def test_parser_record_is_rebuilt_from_the_changes() -> None:
    parsed = {"case": {"case_number": "CM16-0000001", "decision_date": "2016-01-02"}, "summary": "a",
              "reviewer": {"specialties": ["X"]}, "patient": {"age": 40},
              "items": [{"request": "r1", "decision": "upheld"}, {"request": "r2", "decision": "overturned"},
                        {"request": "r3", "decision": "upheld"}]}
    for record in (
        {**parsed, "summary": "b", "case": {"case_number": "CM16-0000001", "decision_date": "2016-01-03"}},
        {**parsed, "items": parsed["items"][:1]},  # the clerk removed two items
        {**parsed, "items": [*parsed["items"], {"request": "r4", "decision": None}]},  # and added one
        {**parsed, "patient": {}, "reviewer": {"specialties": ["X", "Y"]}},
    ):
        changes = list(diff(parsed, record))
        assert changes
        rebuilt = parser_record(record, {p: old for p, old, _new in changes})
        assert list(diff(rebuilt, record)) == changes
        assert list(diff(parsed, rebuilt)) == []


def test_cancel_stops_inside_a_large_export_file(reviewed: Database, tmp_path: Path) -> None:
    import threading

    export_set(reviewed, "jsonl", tmp_path / "set.jsonl")
    cancel = threading.Event()
    with Database.open(tmp_path / "copy.db") as copy:
        gen = copy.import_iter([tmp_path / "set.jsonl"], cancel=cancel)
        first, second = next(gen), next(gen)
        assert (first.outcome, second.outcome) == ("added", "added")
        cancel.set()
        try:
            next(gen)
            raise AssertionError("the import went on after cancel")
        except StopIteration as stop:
            report = stop.value
        assert report.cancelled and len(report.added) == 2
        assert copy.queue_count() == 2


def _bad_lines(line: dict) -> list[tuple[str, object, str]]:
    """(what to change, its new value, what the reason must say): every way the sweep broke an import."""
    n = len(line["text"])
    return [
        ("items", "notalist", "items should be a list of items, not 'notalist'"),
        ("items", [5], "items.0 should be an object"),
        ("items.0.decision", "maybe", "items.0.decision should be 'upheld', 'overturned' or null, not 'maybe'"),
        ("items.0.decision_stated", "yes", "items.0.decision_stated should be true or false"),
        ("items.0.rationale", {"a": 1}, "items.0.rationale should be text or null, not an object"),
        ("patient.age", "forty", "patient.age should be a whole number or null, not 'forty'"),
        ("reviewer.specialties", "Pain", "reviewer.specialties should be a list of text"),
        ("case", [], "case should be an object, not a list"),
        ("warnings", [{"code": 5, "severity": "error", "message": "m"}], "warnings.0.code should be text, not 5"),
        ("warnings", [{"code": "c", "severity": "bad", "message": "m"}],
         "warnings.0.severity should be 'error', 'warning' or 'info', not 'bad'"),
        ("page_starts", [0, 10 ** 9, -3], "page_starts should be the offsets where the pages begin"),
        ("page_starts", [3, 10], "page_starts should be"),
        ("page_starts", [0, 50, 20], "page_starts should be"),
        ("page_starts", [0, "40"], "page_starts should be the offsets where the pages begin: whole numbers from 0, "
         "in ascending order, within the text, not [0, '40']"),
        ("page_starts", "0", "page_starts should be"),
        ("fields", {"case.case_number": {"start": 10, "end": n + 5, "confidence": 0.9}},
         f"fields.case.case_number: its span 10..{n + 5} is outside the letter's text ({n} characters)"),
        ("fields", {"summary": {"start": "0", "end": 4, "confidence": 0.9}}, "fields.summary.start should be"),
        ("fields", {"summary": 7}, "fields.summary should be an object"),
        ("annotations", [{"start": 0, "end": 10 ** 7, "label": "x"}], "annotations.0: its span"),
        ("annotations", ["a note"], "annotations.0 should be an object"),
        ("annotations", [{"start": 0, "end": 5}], "annotations.0.label should be a label"),
        ("history", [{"path": "summary", "at": ["x"]}], "history.0.at should be text or null"),
        ("history", "all of it", "history should be a list"),
        ("history", [{"path": "summary", "origin": "robot"}],  # it was "could not be imported (IntegrityError ...)"
         "history.0.origin should be 'parser', 'clerk', 'reparse', 'import' or null, not 'robot'"),
        ("history", [{"path": "summary", "origin": "clerk\x00"}], "history.0.origin should be 'parser', 'clerk'"),
        ("review", "reviewed", "review should be an object"),
        ("source.pages", [], "source.pages should be a whole number or null, not a list"),  # was a ProgrammingError
        ("source.pages", "x", "source.pages should be a whole number or null, not 'x'"),  # was stored as the pages
        ("review.parser_values", {"items.count": "two"}, "review.parser_values.items.count should be a whole number"),
        ("review.status", "done", "unknown status 'done'"),
    ]


def _set(line: dict, path: str, value: object) -> None:
    node = line
    *parents, last = path.split(".")
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def test_every_bad_line_is_reported_with_its_reason_and_the_others_imported(reviewed: Database,
                                                                           tmp_path: Path) -> None:
    export_set(reviewed, "jsonl", tmp_path / "set.jsonl")
    good = json.loads((tmp_path / "set.jsonl").read_text(encoding="utf-8").splitlines()[0])
    case_number = good["case"]["case_number"]
    assert case_number and good["items"] and len(good["text"]) > 100
    cases = _bad_lines(good)
    out = []
    for n, (path, value, _reason) in enumerate(cases):
        bad = json.loads(json.dumps(good))
        _set(bad, path, value)
        bad["source"]["sha256"] = f"{n:064x}"
        out.append(json.dumps(bad))
    spare = json.loads(json.dumps(good))
    spare["page_starts"] = [0, 40, 40, len(spare["text"])]  # an empty page: two pages begin at one offset
    out.append(json.dumps(spare))
    (tmp_path / "mixed.jsonl").write_text("\n".join(out) + "\n", encoding="utf-8")
    with Database.open(tmp_path / "other.db", user="bob") as other:
        events = list(other.import_iter([tmp_path / "mixed.jsonl"]))
        assert [e.outcome for e in events] == ["failed"] * len(cases) + ["added"]
        for number, (event, (path, _value, reason)) in enumerate(zip(events, cases, strict=False), 1):
            named = good["source"]["name"] if path == "case" else case_number  # no case number: the file's name
            assert event.name.endswith(f"mixed.jsonl:line {number}: {named}"), event.name
            assert reason in (event.message or ""), (path, event.message)
        assert events[-1].name.endswith(f"line {len(cases) + 1}: {case_number}")
        letter = other.letter(events[-1].letter_id or 0)
        assert letter.record == reviewed.letter(1).record and letter.page_starts == spare["page_starts"]
        assert other.queue_count({}) == 1  # nothing of a failed line was stored


def test_the_import_command_goes_on_after_a_bad_line(reviewed: Database, tmp_path: Path) -> None:
    export_set(reviewed, "jsonl", tmp_path / "set.jsonl")
    lines = (tmp_path / "set.jsonl").read_text(encoding="utf-8").splitlines()
    bad = json.loads(lines[0])
    bad["items"] = "notalist"
    pages = json.loads(lines[1])
    pages["page_starts"] = [0, 10 ** 9, -3]
    (tmp_path / "mixed.jsonl").write_text("\n".join([json.dumps(bad), json.dumps(pages), lines[2]]) + "\n",
                                          encoding="utf-8")
    result = CliRunner().invoke(cli, ["import", "--db", str(tmp_path / "new.db"), str(tmp_path / "mixed.jsonl")])
    assert result.exit_code == 1
    assert "1 letter(s) added, 0 already in the database, 2 failed" in result.stdout
    errors = [x for x in result.stderr.splitlines() if x.startswith("imr-desk: ") and ": stored, but " not in x]
    assert len(errors) == 2 and "Traceback" not in result.output
    assert f"mixed.jsonl:line 1: {bad['case']['case_number']}: items should be a list" in errors[0]
    assert "mixed.jsonl:line 2: " in errors[1] and "page_starts should be" in errors[1]


def test_progress_counts_the_lines_of_an_export(reviewed: Database, tmp_path: Path) -> None:
    export_set(reviewed, "jsonl", tmp_path / "set.jsonl")
    with Database.open(tmp_path / "copy.db") as copy:
        events = []
        copy.import_paths([tmp_path / "set.jsonl", REAL[-1]], progress=events.append)
    assert [(e.done, e.total) for e in events] == [(n, 6) for n in range(1, 7)]
    assert events[0].name.startswith(f"{tmp_path / 'set.jsonl'}:line 1")


def test_a_history_entry_without_an_origin_imports_as_an_imports(reviewed: Database, tmp_path: Path) -> None:
    """`"origin": null` was a NOT NULL violation ("could not be imported"); left out, it was already "import"."""
    export_set(reviewed, "jsonl", tmp_path / "set.jsonl")
    line = json.loads((tmp_path / "set.jsonl").read_text(encoding="utf-8").splitlines()[0])
    line["history"] = [{"path": "summary", "old": "a", "new": "b", "origin": None}, {"path": "summary", "new": "c"}]
    (tmp_path / "one.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    with Database.open(tmp_path / "other.db") as other:
        events = list(other.import_iter([tmp_path / "one.jsonl"]))
        assert [e.outcome for e in events] == ["added"], [e.message for e in events]
        origins = [h.origin for h in other.history(events[0].letter_id or 0) if h.path == "summary"]
        assert origins == ["import", "import"]
