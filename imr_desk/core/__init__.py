"""The letter, its parser and its checks. No Qt, no database: usable from any script.

The entry points below are imported on first use (PEP 562), so a command that only reads the
review database (`imr-desk stats`, `search`) never loads the parser, nor PDF reading.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    """`imr_desk.core.parse_file` and the rest of `__all__`, imported when first asked for."""
    if name in ("LetterText", "read_letter"):
        from imr_desk.core import reading

        return getattr(reading, name)
    if name in __all__:
        from imr_desk.core import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
