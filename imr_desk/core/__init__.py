"""The letter, its parser and its checks. No Qt, no database: usable from any script."""

from imr_desk.core.api import (
    PARSER_VERSION,
    letter_record,
    parse_bytes,
    parse_file,
    parse_record,
    parse_record_bytes,
)
from imr_desk.core.reading import LetterText, read_letter

__all__ = ["PARSER_VERSION", "LetterText", "letter_record", "parse_bytes", "parse_file",
           "parse_record", "parse_record_bytes", "read_letter"]
