"""The collapse verdict, one rule for the training monitor and the evaluation, each with its own levels.

Each variety measure fires when its value is past its level (below it for recall, coverage and the distance
ratio; above it for MS-SSIM and intra-class FID). A class is collapsed when every voting measure fires: the voters
are the measures that passed validation on generators of known diversity (docs/results/diversity.md), at the
sample count the caller works at, with the levels validated there."""
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


def verdict(row: dict, levels: dict, voters: tuple[str, ...]) -> dict:
    """{"collapsed": every voter that was measured fired, "fired": all that fired, "validated_fired": voters that
    fired}."""
    hits = fired(row, levels)
    votes = [m for m in voters if m in row]
    return {"collapsed": bool(votes) and all(m in hits for m in votes), "fired": hits,
            "validated_fired": [m for m in votes if m in hits]}
