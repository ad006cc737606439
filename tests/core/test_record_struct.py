"""The parser's typed record: the field catalogue agrees with its Structs, and every record the parser
builds (from damaged letters too) survives `to_dict`/`from_dict` unchanged, OCR parts included."""

from __future__ import annotations

import json
import types
import typing
from enum import Enum

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imr_desk.core import letter_record, parse_record_bytes, read_letter
from imr_desk.core.fields import FIELDS, Kind, item_fields, letter_fields
from imr_desk.core.record import (
    Case,
    Decision,
    Item,
    OcrRun,
    Patient,
    Provenance,
    Record,
    Reviewer,
    Sex,
    Source,
    from_dict,
    reviewable_paths,
    to_dict,
)
from imr_desk.core.text import as_read, same_value

from .conftest import DATA

LETTER = (DATA / "seeds" / "002_a4e734c225be3e19.txt").read_text(encoding="utf-8")
PARTS: dict[str, type[msgspec.Struct]] = {"case": Case, "reviewer": Reviewer, "patient": Patient}


def _struct_fields(cls: type[msgspec.Struct]) -> dict[str, object]:
    return {f.name: f.type for f in msgspec.structs.fields(cls)}


def _kind_of(annotation: object) -> Kind | None:
    """The catalogue kind a Struct field's type allows (None when it is not one a clerk reviews)."""
    args = set(typing.get_args(annotation)) if isinstance(annotation, types.UnionType) else {annotation}
    args.discard(type(None))
    (only,) = args
    if only is bool:
        return Kind.FLAG
    if only is int:
        return Kind.NUMBER
    if isinstance(only, type) and issubclass(only, Enum):
        return Kind.CHOICE
    if typing.get_origin(only) is list and typing.get_args(only) == (str,):
        return Kind.LIST
    if only is str:
        return Kind.TEXT
    return None


def test_the_field_catalogue_names_every_reviewable_struct_field_and_no_other() -> None:
    catalogued = {f.path for f in FIELDS}
    declared = {f"{part}.{name}" for part, cls in PARTS.items() for name in _struct_fields(cls)}
    declared |= {"summary"} | {f"items.*.{name}" for name in _struct_fields(Item)}
    assert catalogued == declared == reviewable_paths()


def test_each_catalogued_field_has_the_type_its_kind_says() -> None:
    text_like = {Kind.TEXT, Kind.LONG_TEXT, Kind.DATE}
    for f in letter_fields():
        part, _, key = f.path.partition(".")
        annotation = _struct_fields(PARTS[part])[key] if key else _struct_fields(Record)[part]
        kind = _kind_of(annotation)
        wanted = {Kind.TEXT} if f.kind in text_like or f.open_vocabulary else {f.kind}
        assert kind in wanted, (f.path, annotation, f.kind)
        if f.kind is Kind.CHOICE and not f.open_vocabulary:
            enum = next(a for a in typing.get_args(annotation) if a is not type(None))
            assert f.vocabulary == tuple(e.value for e in enum), f.path
    for f in item_fields():
        annotation = _struct_fields(Item)[f.key]
        wanted = {Kind.TEXT} if f.kind in text_like else {f.kind}
        assert _kind_of(annotation) in wanted, (f.path, annotation, f.kind)
    assert {f.key for f in item_fields() if f.required} == {"request"}  # never null: the Struct says str


def _survives(record: Record) -> None:
    raw = to_dict(record)
    again = from_dict(json.loads(json.dumps(raw)))
    assert again == record
    assert json.dumps(to_dict(again), ensure_ascii=False) == json.dumps(raw, ensure_ascii=False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(LETTER)), st.integers(0, 1500), st.text(max_size=60), st.booleans())
def test_the_parsers_record_of_a_damaged_letter_survives_to_dict_and_from_dict(cut, length, insert, text) -> None:
    damaged = LETTER[:cut] + insert + LETTER[cut + length:]
    record = parse_record_bytes(damaged.encode("utf-8", "surrogatepass"), "damaged.txt", include_text=text)
    assert isinstance(record, Record) and all(isinstance(i, Item) for i in record.items)
    _survives(record)


words = st.text(st.characters(codec="utf-8"), max_size=20)
maybe = st.none() | words


@st.composite
def records(draw: st.DrawFn) -> Record:
    """A record in every shape the parser writes: with and without the OCR parts and the optional keys."""
    letter = read_letter(LETTER.encode(), "002.txt")
    record = letter_record(letter, include_text=draw(st.booleans()))
    if draw(st.booleans()):  # a scan: the original's type, the OCR run, the engine's word confidence
        record.source = Source(name=record.source.name, sha256=record.source.sha256, media_type="application/pdf",
                               pages=draw(st.integers(1, 9)), file_media_type=draw(st.sampled_from(
                                   ["image/png", "image/tiff", msgspec.UNSET])),
                               ocr=OcrRun(engine="tesseract", version=draw(st.none() | st.just("5.3.0")),
                                          dpi=draw(st.integers(70, 600)), pages=draw(st.lists(st.integers(1, 9)))))
        for prov in record.fields.values():
            prov.ocr_confidence = draw(st.floats(0, 1))
    record.case.case_number = draw(maybe)
    record.patient = Patient(age=draw(st.none() | st.integers(0, 120)), sex=draw(st.none() | st.sampled_from(Sex)))
    record.reviewer.specialties = draw(st.lists(words, max_size=3))
    record.items = [Item(request=draw(words), decision=draw(st.none() | st.sampled_from(Decision)),
                         decision_stated=draw(st.booleans()), rationale=draw(maybe))
                    for _ in range(draw(st.integers(0, 3)))]
    record.fields["summary"] = Provenance(start=0, end=draw(st.integers(0, 50)), page=draw(st.none() | st.just(1)),
                                          confidence=draw(st.sampled_from([0, 1, 0.5, 0.93])))
    if draw(st.booleans()):  # a value the clerk read from a box drawn on the page (ui/session.py)
        record.fields["case.case_number"] = Provenance(start=9, end=9, page=1, confidence=1.0, rule="clerk-box-ocr",
                                                       box=[12.5, 40.0, 230.1, 61.0])
    if draw(st.booleans()):
        record.error = draw(words)
    return record


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_every_shape_of_record_survives_to_dict_and_from_dict(record: Record) -> None:
    _survives(record)


def test_a_parsed_item_without_a_decision_is_not_stated_and_a_clerks_new_item_is() -> None:
    record = parse_record_bytes(b"IMR ISSUES, DECISIONS AND RATIONALES\nSomething\nDecision rationale: text.\n",
                                "x.txt")
    assert record.items and record.items[0].decision is None and record.items[0].decision_stated is False
    assert Item().decision_stated is True


def test_one_equality_as_the_clerk_reads_it() -> None:
    assert same_value(" Lumbar  MRI\n", "Lumbar MRI")
    assert same_value("", None) and same_value([], None) and same_value("  ", None)
    assert same_value(["California ", "Texas"], ["California", "Texas"])
    assert not same_value("Lumbar MRI", "Lumbar MRl")
    assert not same_value(True, 1) and not same_value(False, 0) and not same_value(0, None)
    assert same_value({"a": " x "}, {"a": "x"}) and as_read(45) == 45
