"""Reading letter files: PDF pages and their characters, text encodings, repairs, and bad files."""

from __future__ import annotations

import io

import pikepdf
import pypdfium2 as pdfium
import pytest

from imr_desk.core import read_letter
from imr_desk.core.reading import PDF, TEXT

from .conftest import DATA, seed_texts


def _pdf_bytes(name: str = "CM17-0011517.pdf") -> bytes:
    return (DATA / "real" / name).read_bytes()


def test_pdf_keeps_page_boundaries():
    letter = read_letter(_pdf_bytes(), "CM17-0011517.pdf")
    assert letter.media_type == PDF
    assert letter.pages == 4
    assert letter.page_starts[0] == 0
    assert letter.page_starts == sorted(letter.page_starts)
    # The item "Voltaren 75mg #60 with 3 refills was the original request" starts on page 3.
    offset = letter.text.index("Voltaren 75mg #60 with 3 refills was the original")
    assert letter.page_of(offset) == 3
    assert letter.page_of(0) == 1
    assert letter.page_of(len(letter.text) - 1) == 4
    assert "\r" not in letter.text


def test_pdf_char_spans_point_at_the_same_glyphs():
    data = _pdf_bytes()
    letter = read_letter(data, "CM17-0011517.pdf")
    doc = pdfium.PdfDocument(data)
    try:
        for needle in ("CM17-0011517", "Three refills of Voltaren 75mg #60", "Family Practice"):
            start = letter.text.index(needle)
            spans = letter.pdf_char_spans(start, start + len(needle))
            assert spans, needle
            got = ""
            for page, first, end in spans:
                textpage = doc[page].get_textpage()
                got += textpage.get_text_range(first, end - first)
            assert " ".join(got.split()) == needle
    finally:
        doc.close()


def test_soft_hyphen_marker_becomes_a_hyphen():
    letter = read_letter(_pdf_bytes(), "CM17-0011517.pdf")
    assert "\ufffe" not in letter.text
    assert "self-directed" in letter.text


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16", "utf-16-le", "utf-16-be"])
def test_text_encodings(encoding):
    text = "State(s) of Licensure: California\nLabor Code § 4610.5 – café\n" * 3
    letter = read_letter(text.encode(encoding), "letter.txt")
    assert letter.media_type == TEXT
    assert letter.error is None
    assert "§ 4610.5 – café" in letter.text


def test_mojibake_is_repaired_and_offsets_stay_consistent():
    path = next(p for p in seed_texts() if p.name.startswith("003"))
    raw = path.read_text(encoding="utf-8")
    assert "Â§" in raw
    letter = read_letter(path.read_bytes(), path.name)
    assert "Â§" not in letter.text
    assert "8 C.C.R. §§9792.20" in letter.text
    # Every text offset maps to a source offset that does not go backwards.
    offsets = [letter.source_offset(i) for i in range(0, len(letter.text), 7)]
    assert offsets == sorted(offsets)


def test_double_spaced_text_is_collapsed_but_paragraphs_kept():
    lines = ["Line one of the letter ", "", "line two ", "", " ", "", "New paragraph ", "", "last line "]
    letter = read_letter("\n".join(lines * 3).encode(), "x.txt")
    assert "Line one of the letter \nline two \n\nNew paragraph \nlast line" in letter.text


def test_single_spaced_text_is_left_alone():
    text = "First line\nSecond line\n\nThird paragraph\n"
    letter = read_letter(text.encode(), "x.txt")
    assert letter.text == text


def test_form_feed_separates_text_pages():
    letter = read_letter(b"page one\nmore\fpage two\n", "x.txt")
    assert letter.text.startswith("page one")
    assert len(letter.page_starts) == 2
    assert letter.page_of(letter.text.index("page two")) == 2


def test_empty_file_is_a_problem_not_an_error():
    letter = read_letter(b"", "empty.txt")
    assert letter.error is None
    assert [p.code for p in letter.problems] == ["empty-file"]


def test_binary_file_is_an_error():
    letter = read_letter(bytes(range(256)) * 20, "photo.txt")
    assert letter.error and "binary" in letter.error


def test_corrupt_pdf_is_an_error_with_a_clear_message():
    data = _pdf_bytes()[:1500]
    letter = read_letter(data, "broken.pdf")
    assert letter.error and "not a readable PDF" in letter.error


def test_encrypted_pdf_is_an_error_that_says_so():
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(_pdf_bytes())) as pdf:
        pdf.save(out, encryption=pikepdf.Encryption(owner="o", user="secret", R=6))
    letter = read_letter(out.getvalue(), "locked.pdf")
    assert letter.error and "password" in letter.error


def test_pdf_without_text_layer_is_read_with_a_warning():
    doc = pdfium.PdfDocument.new()
    doc.new_page(612, 792)
    buf = io.BytesIO()
    doc.save(buf)
    doc.close()
    letter = read_letter(buf.getvalue(), "scanned.pdf")
    assert letter.error is None
    assert letter.pages == 1
    assert [p.code for p in letter.problems] == ["no-text-layer"]


def test_pdf_char_spans_of_long_spans_across_pages_are_whole_runs():
    """A span over a page break gives one run per page, each covering its characters without gaps."""
    pdf = DATA / "real" / "CM16-0230651.pdf"
    letter = read_letter(pdf.read_bytes(), pdf.name)
    start = letter.page_starts[1] - 200
    end = letter.page_starts[1] + 200
    runs = letter.pdf_char_spans(start, end)
    assert [r[0] for r in runs] == [0, 1]
    doc = pdfium.PdfDocument(pdf.read_bytes())
    try:
        for page_index, first, last in runs:
            textpage = doc[page_index].get_textpage()
            got = " ".join(textpage.get_text_range(first, last - first).split())
            want = " ".join(letter.text[max(start, letter.page_starts[page_index]):
                                        min(end, letter.page_starts[page_index + 1])].split())
            assert got.replace("\ufffe", "-") == want
    finally:
        doc.close()
