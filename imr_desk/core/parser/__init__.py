"""The IMR letter parser: section readers with named rules, over letter layouts kept as data.

- `layouts.py`: the templates (2015-17 letters with and without the header table, 2013 MAXIMUS
  notices, the documents-reviewed and the medical-professional-review templates), each with its
  headings, sections and label forms, recognised by the fingerprint of the headings a letter prints;
- `labels.py`: labels and headings as tolerant patterns (the one place for OCR confusions);
- `header.py`, `reviewer.py`, `patient.py` (summary, age, sex), `items.py`: the section readers;
- `rules.py`: every rule a value is read by, with its confidence; a record's `fields[*].rule` names one;
- `letter.py`: `read_record`, which runs them and gives the letter's `core.record.Record`.

Dates go through core/dates.py and decisions through core/verdicts.py.
"""

from imr_desk.core.parser.layouts import LAYOUTS, identify
from imr_desk.core.parser.letter import PARSER_VERSION, read_record

__all__ = ["LAYOUTS", "PARSER_VERSION", "identify", "read_record"]
