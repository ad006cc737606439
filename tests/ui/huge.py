"""A letter with thousands of disputed items, made from a real letter (for the huge-letter test and benchmark)."""

from __future__ import annotations

from pathlib import Path

from imr_desk.core import read_letter

REAL = Path(__file__).resolve().parent.parent / "data" / "real" / "CM17-0011517.pdf"
ITEM = ("Physical therapy session {n}: Upheld\n"
        "Claims Administrator guideline: Decision based on MTUS Shoulder Complaints 2004.\n"
        "MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016.\n"
        "Decision rationale: The guidelines recommend a limited course. Session {n} is not medically necessary.\n")


def huge_letter(folder: Path, items: int = 5000) -> Path:
    """A text letter: a real letter's header and summary, then `items` disputed items, then its end."""
    text = read_letter(REAL.read_bytes(), REAL.name).text
    start = text.index("set forth below:") + len("set forth below:\n")
    end = text.find("\n", text.rfind("Decision rationale:"))
    body = "".join(ITEM.format(n=n + 1) for n in range(items))
    path = folder / f"huge-{items}-items.txt"
    path.write_text(text[:start] + body + text[end:] + "\n", encoding="utf-8")
    return path
