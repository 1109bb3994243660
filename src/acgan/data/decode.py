"""The pixel rule: from an image file's bytes to uint8 [C, R, R] at a model's resolution, one rule for every source.

In order, for each image:
1. the header is read first: decompression bombs, images over 89 million pixels and empty ones are refused before
   any decoding;
2. a JPEG at least twice the target size is decoded at a reduced DCT scale (libjpeg's 1/2, 1/4 or 1/8, never below
   the target; `jpeg_draft`): far faster, and close to the full decode (tests/test_store.py bounds the difference,
   docs/benchmarks.md measures both); plain JPEGs are decoded by libjpeg-turbo through simplejpeg, to the same
   pixels as PIL at about 7x the speed;
3. EXIF orientation is applied, so the image stands as a viewer shows it;
4. 16-bit grey (PIL's I;16 modes) is divided by 257 (65535 -> 255) and 32-bit integer grey is clipped to 0-65535
   first; float grey is clipped to 0-255;
5. transparency (RGBA, LA, a palette with a transparent colour) is composited over white;
6. the data set's mode is applied: grey data ('L') takes the luma of colour images, colour data ('RGB') repeats a
   grey image in three channels; CMYK goes through PIL's CMYK -> RGB conversion;
7. the shorter side is resized to R (bicubic, antialiased) and the centre R x R is kept.
A data set is grey when the first image of its first class is grey (PIL modes in GRAYSCALE_MODES), else RGB.
"""
from __future__ import annotations

import io
import warnings

import numpy as np
import simplejpeg
from PIL import Image, ImageOps, UnidentifiedImageError

GRAYSCALE_MODES = ("L", "1", "LA", "La", "I;16", "I;16B", "I;16L", "I;16N", "I", "F")
MAX_PIXELS = Image.MAX_IMAGE_PIXELS  # PIL's decompression-bomb warning level (about 89 MP): refused before decoding
RULE = {"version": 1, "resize": "shorter side to R, bicubic (PIL, antialiased), centre crop to R x R",
        "orientation": "EXIF applied", "alpha": "composited over white", "16-bit": "divided by 257",
        "grey data": "colour images to luma (PIL's L)", "colour data": "grey images repeated in 3 channels"}
DRAFT_RULE = "JPEGs of at least 2R decoded at libjpeg's reduced DCT scale (never below R), then resized"


class BadImage(Exception):
    """A file that cannot serve as a training image; the message says why."""


def open_image(data: bytes) -> Image.Image:
    """The image's header only: decompression bombs, absurd and empty sizes are refused before any decoding."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise BadImage(f"larger than PIL's decompression-bomb limit of {2 * MAX_PIXELS:,} pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise BadImage("not a decodable image") from None
    w, h = img.size
    if w * h > MAX_PIXELS:
        raise BadImage(f"too large to decode ({w}x{h} px, over {MAX_PIXELS:,} pixels)")
    if w == 0 or h == 0:
        raise BadImage(f"empty ({w}x{h} px)")
    return img


def is_grey(img: Image.Image) -> bool:
    return img.mode in GRAYSCALE_MODES


def _to_8bit_grey(img: Image.Image) -> Image.Image:
    if img.mode.startswith("I;16") or img.mode == "I":
        arr = np.asarray(img, dtype=np.int64).clip(0, 65535)
        return Image.fromarray(((arr + 128) // 257).astype(np.uint8), "L")  # 65535 -> 255, rounded
    if img.mode == "F":
        return Image.fromarray(np.asarray(img, dtype=np.float32).clip(0, 255).round().astype(np.uint8), "L")
    return img


def _flatten_alpha(img: Image.Image) -> Image.Image:
    if img.mode == "P" and "transparency" in img.info or img.mode in ("PA", "La"):
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "RGBa", "LA"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img


def to_square(img: Image.Image, size: int) -> Image.Image:
    """Resize the shorter side to `size` (bicubic, antialiased) and centre-crop to a square."""
    w, h = img.size
    if (w, h) == (size, size):
        return img
    scale = size / min(w, h)
    img = img.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BICUBIC)
    w, h = img.size
    left, top = (w - size) // 2, (h - size) // 2
    return img.crop((left, top, left + size, top + size))


def _jpeg_orientation(data: bytes) -> int:
    """A JPEG's EXIF orientation (1 when it has none), read from its APP1 segment without decoding; 0 when the
    headers cannot be walked (the slow path then decides)."""
    try:
        i = 2
        while i + 4 <= len(data) and data[i] == 0xFF:
            marker, length = data[i + 1], int.from_bytes(data[i + 2:i + 4], "big")
            if marker in (0xD9, 0xDA):  # end of image, start of scan: no header after this
                return 1
            if marker == 0xE1 and data[i + 4:i + 10] == b"Exif\0\0":
                tiff = data[i + 10:i + 2 + length]
                order = "little" if tiff[:2] == b"II" else "big"
                ifd = int.from_bytes(tiff[4:8], order)
                for k in range(int.from_bytes(tiff[ifd:ifd + 2], order)):
                    entry = tiff[ifd + 2 + 12 * k:ifd + 14 + 12 * k]
                    if int.from_bytes(entry[:2], order) == 0x0112:
                        return int.from_bytes(entry[8:10], order)
                return 1
            i += 2 + length
        return 1
    except (IndexError, ValueError):
        return 0


def _fast_jpeg(data: bytes, mode: str, size: int, draft: bool) -> tuple[np.ndarray, bool] | None:
    """(the same pixels as the PIL path, whether the JPEG is grey) for the common JPEG (YCbCr or grey, upright, not
    colour-to-grey), decoded by libjpeg-turbo through simplejpeg at about 7x the speed; None when the PIL path must
    decide."""
    try:
        h, w, colorspace, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError:
        return None
    if colorspace not in ("YCbCr", "Gray") or (mode == "L" and colorspace != "Gray") or w * h > MAX_PIXELS \
            or not w or not h or _jpeg_orientation(data) != 1:
        return None
    factor = max(f for f in (1, 2, 4, 8) if min(h, w) // f >= size) if draft and min(h, w) >= 2 * size else 1
    try:  # the scale PIL's draft() picks, exactly: the largest power of 2 that keeps both sides >= size
        arr = simplejpeg.decode_jpeg(data, "GRAY" if mode == "L" else "RGB", min_height=-(-h // factor),
                                     min_width=-(-w // factor), min_factor=factor)
    except ValueError:
        return None
    if arr.shape[:2] != (size, size):
        arr = np.asarray(to_square(Image.fromarray(arr[..., 0] if mode == "L" else arr), size), dtype=np.uint8)
    return np.ascontiguousarray(arr.reshape(size, size, -1).transpose(2, 0, 1)), colorspace == "Gray"


def decode(data: bytes, mode: str, size: int, draft: bool = True) -> np.ndarray:
    """uint8 [C, size, size] (C = 1 for mode 'L', 3 for 'RGB') of an image file's bytes, by the rule above.
    BadImage when the file cannot be used."""
    return decode_with_kind(data, mode, size, draft)[0]


def decode_with_kind(data: bytes, mode: str, size: int, draft: bool = True) -> tuple[np.ndarray, bool]:
    """(decode()'s pixels, whether the file itself is grey): a prepare counts both kinds, so data that mixes them
    can say what the channel rule did to how many."""
    if data[:3] == b"\xff\xd8\xff":
        fast = _fast_jpeg(data, mode, size, draft)
        if fast is not None:
            return fast
    img = open_image(data)
    grey = is_grey(img)
    try:
        if draft and img.format == "JPEG" and min(img.size) >= 2 * size:
            img.draft(img.mode, (size, size))
        ImageOps.exif_transpose(img, in_place=True)
        img = _flatten_alpha(_to_8bit_grey(img))
        if img.mode != mode:
            img = img.convert(mode)
        img = to_square(img, size)
        arr = np.asarray(img, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:  # truncated data shows up on load
        raise BadImage(f"not a decodable image ({str(e).splitlines()[0][:60] if str(e) else type(e).__name__})") \
            from None
    return np.ascontiguousarray(arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)), grey
