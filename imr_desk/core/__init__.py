"""The letter, its parser and its checks. No Qt, no database: usable from any script."""

from imr_desk.core.api import PARSER_VERSION, parse_bytes, parse_file, parse_letter
from imr_desk.core.reading import LetterText, read_letter

__all__ = ["PARSER_VERSION", "LetterText", "parse_bytes", "parse_file", "parse_letter", "read_letter"]
