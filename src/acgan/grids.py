"""Image grids as a person reads them: each row's class named in a margin on its left, or each column's in a margin
above it where the columns are the classes. The images and make_grid's padding are left as they are; the names only
widen the grid.

The names are drawn at about three fifths of a cell, 12 to 20 px (12 px is the smallest the default font reads well
at), never taller than a row; our grids' cells are 16 to 128 px, far too small for a name inside them."""
from __future__ import annotations

import torch

GAP = 4          # px between a name and the edges of its margin
MAX_CHARS = 24   # a longer name is cut short: a margin wider than the images would push them out of view


def _font(size: int):
    """(font, scale): Pillow's own scalable font at `size` px where it has one (10.1 and later), else its small
    bitmap font drawn `scale` times larger."""
    from PIL import ImageFont
    try:
        return ImageFont.load_default(size=size), 1
    except TypeError:
        return ImageFont.load_default(), max(1, round(size / 8))  # its capitals are 6 px tall


def _name(text: str, font) -> str:
    from PIL import ImageFont
    scalable = isinstance(font, ImageFont.FreeTypeFont)
    if not scalable:  # the bitmap font has Latin-1 glyphs only
        text = text.encode("latin-1", "replace").decode("latin-1")
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS - 1].rstrip() + ("\u2026" if scalable else "..")


def _label(text: str, size: int):
    """The name as a white-on-black mask (PIL "L"), as tall as capitals and descenders are at this size, whatever
    its letters (so that every row's name sits at the same height), taller only for glyphs that reach further."""
    from PIL import Image, ImageDraw
    font, scale = _font(size)
    text = _name(str(text), font)
    measure = ImageDraw.Draw(Image.new("L", (1, 1)))
    _, top, _, bottom = measure.textbbox((0, 0), "Tdgjy" + text, font=font)
    left, _, right, _ = measure.textbbox((0, 0), text, font=font)
    mask = Image.new("L", (max(1, right - left), bottom - top))
    ImageDraw.Draw(mask).text((-left, -top), text, font=font, fill=255)
    return mask.resize((mask.width * scale, mask.height * scale), Image.NEAREST) if scale > 1 else mask


def text_size(cell: int) -> int:
    """The text size for names beside cells of `cell` px."""
    size = min(max(12, cell * 3 // 5), 20)
    while size > 6 and _label("", size).height > cell:
        size -= 1
    return size


def _labels(names, cell: int) -> list:
    size = text_size(cell)
    return [_label(n, size) for n in names]


def row_margin(names, cell: int) -> int:
    """The width in px of the margin that `labelled` adds for these row names beside cells of `cell` px."""
    return 2 * GAP + max(m.width for m in _labels(names, cell))


def labelled(grid: torch.Tensor, cell: tuple[int, int], padding: int, rows=None, columns=None,
             background: float = 0.0) -> torch.Tensor:
    """make_grid's `grid` ([C, H, W] in [0, 1]) of images `cell` = (height, width) px apart by `padding`, with the
    names in `rows` on the left of its rows and those in `columns` above its columns, light on a margin of the
    grid's padding value `background` (dark on a light one)."""
    from PIL import Image
    h, w = cell
    pitch_y, pitch_x = h + padding, w + padding
    n_rows, n_cols = (grid.shape[1] - padding) // pitch_y, (grid.shape[2] - padding) // pitch_x
    for names, count, what in ((rows, n_rows, "rows"), (columns, n_cols, "columns")):
        if names is not None and len(names) != count:
            raise ValueError(f"{len(names)} names for {count} {what}")
    row_marks = _labels(rows, h) if rows else []
    col_marks = [m.rotate(90, expand=True) for m in _labels(columns, w)] if columns else []
    left = 2 * GAP + max(m.width for m in row_marks) if row_marks else 0
    top = 2 * GAP + max(m.height for m in col_marks) if col_marks else 0
    mask = Image.new("L", (left + grid.shape[2], top + grid.shape[1]))
    for i, m in enumerate(row_marks):  # right-aligned, beside the row it names
        mask.paste(m, (left - GAP - m.width, top + padding + i * pitch_y + (h - m.height) // 2))
    for j, m in enumerate(col_marks):  # bottom-aligned, over the column it names, reading upwards
        mask.paste(m, (left + padding + j * pitch_x + (w - m.width) // 2, top - GAP - m.height))
    ink = 1.0 if background < 0.5 else 0.0
    text = torch.frombuffer(bytearray(mask.tobytes()), dtype=torch.uint8).view(mask.height, mask.width)
    out = (background + (ink - background) * text.float().div(255)).expand(grid.shape[0], -1, -1).clone()
    out[:, top:, left:] = grid
    return out


def labelled_grid(images01: torch.Tensor, nrow: int, rows=None, columns=None, padding: int = 2,
                  background: float = 0.0) -> torch.Tensor:
    """torchvision's make_grid of images in [0, 1], named by `labelled` when `rows` or `columns` are given."""
    from torchvision.utils import make_grid
    grid = make_grid(images01, nrow=nrow, padding=padding, pad_value=background)
    if not rows and not columns:
        return grid
    return labelled(grid, tuple(images01.shape[-2:]), padding, rows, columns, background)
