"""The review window resized through every width and a few heights with each letter open: a hang detector.

Run by tests/ui/test_layout_sweep.py in a subprocess (one per Qt platform, so a real hang is killed
by the test's timeout instead of freezing the run):

    python tests/ui/layout_sweep.py DB --widths 640:1920:20 --heights 600,800,1000 [--reopen NAME ...]

One window for the whole sweep. For each letter in the database it opens the letter, then resizes the
window through every width at each height (up and down the widths in turn, as a clerk drags), with
the panes shared out differently at each height (--splits: a narrow letter pane, a wide form), since
what loops is a pane's width against its height. After
each resize it runs the event loop until the window has its new size and the posted events are done,
and measures the gaps between the event loop's returns: a layout that feeds back into itself (a
scroll bar that shows, narrows the text or the page, and hides again) keeps one `processEvents` call
busy for seconds or for ever. A gap over the limit is tried once more from the size before, so that a
pause of a busy machine is not taken for a loop; a loop comes back.

A letter named with --reopen is also opened anew at every size (or every n-th, --reopen-every), from
a text letter, and each opening is timed; an opening over the limit is tried once more, like a gap.
The first opening of every letter is timed and reported, not judged: a letter's opening is as slow
as the letter is large, which is no hang.

stdout gets one JSON line per step started ({"at": ...}, so a hang shows where it was) and a last
{"result": ...} line; faulthandler dumps the stacks to stderr and exits when one step takes longer
than --watchdog seconds.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("db", type=Path)
    parser.add_argument("--widths", default="640:1920:20")
    parser.add_argument("--heights", default="600,800,1000")
    parser.add_argument("--reopen", action="append", default=[])
    parser.add_argument("--reopen-every", type=int, default=1, help="open it anew at every n-th size only")
    parser.add_argument("--splits", default="0.28,0.40,0.32;0.30,0.22,0.48;0.45,0.17,0.38",
                        help="the panes' shares of the width (queue, letter, form), one per height")
    parser.add_argument("--limit", type=float, default=1.0, help="the longest gap allowed, in seconds")
    parser.add_argument("--watchdog", type=float, default=30.0)
    parser.add_argument("--letters", default="", help="only these letters (comma-separated names)")
    parser.add_argument("--no-paint", action="store_true")
    args = parser.parse_args(argv)
    start, stop, step = (int(x) for x in args.widths.split(":"))
    widths = list(range(start, stop + 1, step))
    heights = [int(h) for h in args.heights.split(",")]
    splits = [[float(x) for x in part.split(",")] for part in args.splits.split(";")]

    from PySide6.QtWidgets import QApplication

    from imr_desk.ui.app import build_window

    app = QApplication([sys.argv[0]])
    faulthandler.dump_traceback_later(args.watchdog, exit=True)
    window = build_window(args.db, user="sweeper", seed_samples=False)
    window.show()

    def emit(**line: object) -> None:
        print(json.dumps(line), flush=True)

    def settle(size: tuple[int, int] | None = None) -> float:
        """Run the event loop until the window has `size` (the platform may resize it later, on X
        after the window manager agrees) and nothing is left to do; the longest gap between returns."""
        longest, last = 0.0, time.perf_counter()
        deadline = last + 0.5
        quiet = 0
        while True:
            app.processEvents()
            now = time.perf_counter()
            longest, last = max(longest, now - last), now
            sized = size is None or window.size().toTuple() == size
            quiet = quiet + 1 if sized else 0
            if quiet >= 2 or now > deadline:
                return longest
            if not sized:
                time.sleep(0.001)  # the X server's answer is on its way
                last = time.perf_counter()

    split_of = {h: splits[i % len(splits)] for i, h in enumerate(heights)}

    def resize(size: tuple[int, int]) -> float:
        faulthandler.dump_traceback_later(args.watchdog, exit=True)
        before = time.perf_counter()
        if window.height() != size[1]:  # a new height: the panes shared out anew (the splitter then
            total = sum(window.splitter.sizes())  # keeps their shares as the width changes)
            window.splitter.setSizes([int(share * total) for share in split_of[size[1]]])
        window.resize(*size)
        gap = time.perf_counter() - before
        return max(gap, settle(size))

    def open_letter(letter_id: int) -> float:
        faulthandler.dump_traceback_later(args.watchdog, exit=True)
        before = time.perf_counter()
        window.open_letter(letter_id)
        settle()
        return time.perf_counter() - before

    settle()
    letters = [(row.id, row.name) for row in window.db.queue({}, "id", False, 0, 10_000)]
    if args.letters:
        letters = [(lid, name) for lid, name in letters if name in args.letters.split(",")]
    if args.no_paint:  # a layout loop needs no drawing (posted layouts, bars shown and hidden); drawing
        window.setUpdatesEnabled(False)  # every size would cost three times as much
    # a letter is opened anew from a text letter (the cheapest to open), or else from any other
    others = [(not name.endswith(".txt"), lid) for lid, name in letters if name not in args.reopen]
    other = min(others)[1] if others else None
    sizes = []
    for i, h in enumerate(heights):
        sizes += [(w, h) for w in (widths if i % 2 == 0 else widths[::-1])]
    hangs: list[dict[str, object]] = []
    worst_gap: dict[str, object] = {"s": 0.0}
    worst_open: dict[str, object] = {"s": 0.0}  # the first opening of each letter
    worst_reopen: dict[str, object] = {"s": 0.0}  # the --reopen letters' openings at each size
    worst_reopen_gap: dict[str, object] = {"s": 0.0}  # and their resizes' longest gap
    reopened = 0
    steps = 0
    unreached: set[tuple[int, int]] = set()  # sizes the window did not take (its minimum, the screen)
    began = time.perf_counter()
    for letter_id, name in letters:
        emit(at=name, size=None)
        took = open_letter(letter_id)
        if took > worst_open["s"]:
            worst_open = {"s": took, "letter": name, "size": window.size().toTuple()}
        previous = window.size().toTuple()
        for n, size in enumerate(sizes):
            emit(at=name, size=size)
            gap = resize(size)
            steps += 1
            if window.size().toTuple() != size:
                unreached.add(size)
            if gap > args.limit:  # once more, the same move: a loop comes back, a busy moment does not
                resize(previous)
                again = resize(size)
                if again > args.limit:
                    hangs.append({"letter": name, "size": size, "s": round(min(gap, again), 3)})
                gap = min(gap, again)
            if name in args.reopen and gap > worst_reopen_gap["s"]:
                worst_reopen_gap = {"s": gap, "letter": name, "size": size}
            if gap > worst_gap["s"]:
                worst_gap = {"s": gap, "letter": name, "size": size}
            if name in args.reopen and other is not None and n % args.reopen_every == 0:
                open_letter(other)
                took = open_letter(letter_id)
                if took > args.limit:  # once more, as above
                    open_letter(other)
                    took = min(took, open_letter(letter_id))
                if took > args.limit:
                    hangs.append({"letter": name, "size": size, "s": round(took, 3), "opening": True})
                if took > worst_reopen["s"]:
                    worst_reopen = {"s": took, "letter": name, "size": size}
                reopened += 1
            previous = size
    faulthandler.cancel_dump_traceback_later()
    emit(result={"letters": len(letters), "steps": steps, "seconds": round(time.perf_counter() - began, 1),
                 "hangs": hangs, "worst_gap": worst_gap, "worst_open": worst_open,
                 "reopened": reopened, "worst_reopen": worst_reopen, "worst_reopen_gap": worst_reopen_gap,
                 "unreached": sorted(unreached)})
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
