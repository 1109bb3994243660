"""The collapse verdict, one rule for the training monitor and the evaluation, each with its own levels.

Each variety measure fires when its value is past its level (below it for recall, coverage and the distance
ratio; above it for MS-SSIM and intra-class FID). The voters are the measures that passed validation on generators
of known diversity (docs/results/diversity.md), at the sample count the caller works at, with the levels validated
there. When every voter fires, a class's samples miss real data's variety. They are *collapsed* when they still sit
on real data (k copies of real images do), and *far* from it when few of them are as near a real image as real
images are to each other (`near` below its level, metrics/memorisation.py: an untrained generator's samples), which
is not a collapse but a class not learnt. Pairwise spread (MS-SSIM, the distance ratio) cannot tell the two apart:
k jittered copies look as varied to it as real data; nor can precision, which one real outlier's wide neighbourhood
fills with far samples.
"""
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


# below it fewer than a quarter of the samples are as near real data as real images are (real: 0.7-0.95, k copies
# of real images 0.8-1.0, an untrained G 0.0 in tests/test_diversity_validation.py): far from it, not collapsed
FAR = {"near": 0.25}


def far(row: dict, levels: dict) -> bool | None:
    """Whether a class's samples are far from real data (`near` below `levels`' or FAR's level); None unmeasured."""
    if row.get("near") is None:
        return None
    return row["near"] < levels.get("near", FAR["near"])


def verdict(row: dict, levels: dict, voters: tuple[str, ...]) -> dict:
    """{"collapsed": every voter that was measured fired and the samples are not far from real data, "missed": every
    voter fired, "far": see far(), "fired": all that fired, "validated_fired": voters that fired}."""
    hits = fired(row, levels)
    votes = [m for m in voters if m in row]
    missed = bool(votes) and all(m in hits for m in votes)
    away = far(row, levels)
    return {"collapsed": missed and away is not True, "missed": missed, "far": away, "fired": hits,
            "validated_fired": [m for m in votes if m in hits]}
