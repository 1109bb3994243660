"""The collapse verdict, one rule for the training monitor and the evaluation, each with its own levels.

Each variety measure fires when its value is past its level (below it for recall, coverage and the distance
ratio; above it for MS-SSIM and intra-class FID). The voters are the measures that passed validation on generators
of known diversity (docs/results/diversity.md), at the sample count the caller works at, with the levels validated
there. When every voter fires, a class's samples miss real data's variety; they are *collapsed* only when they are
also alike: their MS-SSIM above real data's threshold (the paper's rule), or without MS-SSIM their feature spread
below the distance ratio's level. Samples that miss real data while as spread out as it are far from it, not
alike: an untrained generator's."""
from __future__ import annotations

# measure -> the side of its level on which it calls a class collapsed
DIRECTIONS = {"distance_ratio": "below", "ms_ssim": "above", "intra_fid": "above", "recall": "below",
              "coverage": "below"}
# measured beside them, never voting: precision and density say whether samples look real, not how varied they are
FIDELITY = {"precision": "below", "density": "below"}


def fired(row: dict, levels: dict) -> list[str]:
    """The measures of `row` whose value is past its level in `levels` (a level of None never fires)."""
    out = []
    for name, direction in DIRECTIONS.items():
        level = levels.get(name)
        if name not in row or level is None:
            continue
        if (row[name] < level) if direction == "below" else (row[name] > level):
            out.append(name)
    return out


SPREAD = ("ms_ssim", "distance_ratio")  # how alike a class's samples are, in order of preference


def alike(row: dict, levels: dict) -> bool | None:
    """Whether a class's samples are more alike than real data's: MS-SSIM where it was measured, else the feature
    distance ratio; None when neither was."""
    for name in SPREAD:
        if name in row and levels.get(name) is not None:
            return name in fired({name: row[name]}, levels)
    return None


def verdict(row: dict, levels: dict, voters: tuple[str, ...]) -> dict:
    """{"collapsed": every voter that was measured fired and the samples are alike (or their spread was not
    measured), "missed": every voter fired, "alike": see alike(), "fired": all that fired, "validated_fired": voters
    that fired}."""
    hits = fired(row, levels)
    votes = [m for m in voters if m in row]
    missed = bool(votes) and all(m in hits for m in votes)
    same = alike(row, levels)
    return {"collapsed": missed and same is not False, "missed": missed, "alike": same, "fired": hits,
            "validated_fired": [m for m in votes if m in hits]}
