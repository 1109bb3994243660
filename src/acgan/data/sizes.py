"""How many images of a class each part of acgan can use, and what it does with a class that has fewer.

Counts are of usable images (what --skip-bad-images leaves). A command names, at its start, the classes below each
need of what it runs: a warning where that part goes on without them, one line and exit status 2 where nothing
sensible can be done. The evaluation's needs are stated here, below both, because `acgan train` names them before
any evaluation runs; the collapse monitor states its own (training/monitor.py)."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import UserError

LISTED = 10  # classes named in one line; the rest are counted


@dataclass(frozen=True)
class Need:
    least: int             # images of a class the part needs
    part: str              # who needs them, as a user knows it
    otherwise: str         # what it does with a class that has fewer (a warning), or what to do (a refusal)
    refuse: bool = False   # nothing sensible can be done with such a class: the command stops


# a class without a real image gives D nothing to learn it from, and G's samples of it nothing to be judged against
TRAINING = Need(1, "training", "add images of those classes, or leave them out with --classes", refuse=True)
CLASSIFIER = Need(1, "the evaluator", "add images of those classes, or leave them out with --classes", refuse=True)
# coverage looks at each real image's 5 nearest real neighbours, so a class needs 6 (refused before any sample)
EVALUATION = "evaluation (`acgan evaluate`, `check`)"
EVALUATE = Need(6, EVALUATION, "add test images of those classes", refuse=True)
EVALUATE_LATER = Need(EVALUATE.least, EVALUATION, "will refuse this run until they have more")
# without a test split the evaluator holds out one in ten of each class's images, the 6th, 16th, 26th...
HOLD_OUT_FROM = 5
HOLD_OUT = Need(HOLD_OUT_FROM + 1, "the evaluator, on data without a test split,",
                "holds none of them out, so its test accuracy says nothing of them")
TESTED = Need(1, "the evaluator", "measures its test accuracy without them")


def check_sizes(names: list[str], counts: list[int], needs, what: str = "images") -> list[str]:
    """One warning line for each need with classes below it; UserError (one line) for a refusing need."""
    lines = []
    for need in needs:
        small = [(name, n) for name, n in zip(names, counts) if n < need.least]
        if not small:
            continue
        more = f" and {len(small) - LISTED} more" if len(small) > LISTED else ""
        some = f"{need.least} {what[:-1] if need.least == 1 else what}"
        if need.refuse:
            listed = ", ".join(f"'{name}' has {n}" for name, n in small[:LISTED]) + more
            raise UserError(f"{need.part} needs at least {some} of every class, and {listed}: {need.otherwise}")
        listed = ", ".join(f"'{name}' ({n})" for name, n in small[:LISTED]) + more
        lines.append(f"warning: {need.part} needs {some} of a class and {need.otherwise}: {listed}")
    return lines
