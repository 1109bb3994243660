"""Class selection: `--classes` as indices or names, resolved against a data set's class names."""
from __future__ import annotations

from ..errors import UserError


def parse_class_list(spec) -> list[str] | None:
    """'0,3,5' / 'cat,dog' / a YAML list -> list of strings; None or empty means all classes."""
    if spec is None or spec == "" or spec == []:
        return None
    items = spec if isinstance(spec, (list, tuple)) else str(spec).split(",")
    return [str(s).strip() for s in items if str(s).strip()]


def resolve_classes(spec, names: list[str]) -> list[int]:
    """Class indices for a spec of indices or names, in the order given; errors name the valid choices."""
    wanted = parse_class_list(spec)
    if wanted is None:
        return list(range(len(names)))
    out = []
    for item in wanted:
        if item in names:
            idx = names.index(item)
        elif item.lstrip("-").isdigit():
            idx = int(item)
            if not 0 <= idx < len(names):
                raise UserError(f"class {idx} is out of range: this data set has classes 0..{len(names) - 1}")
        else:
            raise UserError(f"unknown class '{item}': choose indices 0..{len(names) - 1} or names "
                            f"{', '.join(names)}")
        if idx in out:
            raise UserError(f"class '{item}' is listed twice in --classes")
        out.append(idx)
    return out
