"""Read the pixels of a PNG screenshot with the standard library only (8-bit RGB and RGBA, non-interlaced, as
headless Chromium writes them), and check that a rectangle's edges are drawn in a given colour."""

from __future__ import annotations

import struct
import sys
import zlib
from array import array
from collections.abc import Callable
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

import attrs

__all__ = ["Image", "PngError", "Rect", "border_coverage", "decode_png", "has_border", "read_png"]

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS_BY_COLOUR_TYPE = {2: 3, 6: 4}  # RGB, RGBA
# accumulate() sums a channel into 8-byte integers; the low byte of each is the sum modulo 256.
LOW_BYTE = 0 if sys.byteorder == "little" else 7

Rect = tuple[int, int, int, int]
Colour = tuple[int, int, int]


class PngError(ValueError):
    """The data is not a PNG this reader handles; the message says why in one line."""


@attrs.frozen
class Image:
    """A decoded image: `rows[y]` holds row y as bytes, `channels` (3 or 4) bytes per pixel."""

    width: int
    height: int
    channels: int
    rows: tuple[bytes, ...] = attrs.field(repr=False)

    def pixel(self, x: int, y: int) -> tuple[int, int, int, int]:
        """Return the (r, g, b, a) of the pixel at column x, row y; alpha is 255 for RGB images."""
        if not (0 <= x < self.width and 0 <= y < self.height):
            raise IndexError(f"pixel ({x}, {y}) is outside the {self.width}×{self.height} image")
        start = x * self.channels
        r, g, b = self.rows[y][start:start + 3]
        return r, g, b, self.rows[y][start + 3] if self.channels == 4 else 255


def read_png(path: Path) -> Image:
    """Decode the PNG file at `path`."""
    return decode_png(path.read_bytes())


def decode_png(data: bytes) -> Image:
    """Decode an 8-bit RGB or RGBA non-interlaced PNG; raise PngError for anything else."""
    if not data.startswith(SIGNATURE):
        raise PngError("not a PNG file (wrong signature)")
    header = b""
    compressed = bytearray()
    for kind, body in _chunks(data):
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            compressed += body
        elif kind == b"IEND":
            break
    if len(header) != 13:
        raise PngError("PNG has no valid IHDR chunk")
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour_type not in CHANNELS_BY_COLOUR_TYPE or interlace != 0:
        raise PngError(f"unsupported PNG (bit depth {depth}, colour type {colour_type}, interlace {interlace}): "
                       "only 8-bit RGB or RGBA without interlacing is read")
    channels = CHANNELS_BY_COLOUR_TYPE[colour_type]
    try:
        raw = zlib.decompress(compressed)
    except zlib.error as error:
        raise PngError(f"PNG image data is damaged: {error}") from None
    return Image(width, height, channels, _unfilter(raw, width, height, channels))


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Split a PNG into (type, body) chunks, checking each chunk's length and CRC."""
    chunks = []
    position = len(SIGNATURE)
    while position < len(data):
        if position + 12 > len(data):
            raise PngError("PNG is truncated inside a chunk header")
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if len(body) != length or position + 12 + length > len(data):
            raise PngError(f"PNG is truncated inside its {kind.decode('latin-1')} chunk")
        (crc,) = struct.unpack(">I", data[position + 8 + length:position + 12 + length])
        if zlib.crc32(kind + body) != crc:
            raise PngError(f"PNG {kind.decode('latin-1')} chunk fails its CRC check")
        chunks.append((kind, body))
        position += 12 + length
    return chunks


def _unfilter(raw: bytes, width: int, height: int, bpp: int) -> tuple[bytes, ...]:
    """Undo the per-row filters; each row is predicted from the row above, so they are undone top to bottom."""
    stride = width * bpp
    if len(raw) < height * (stride + 1):
        raise PngError(f"PNG image data is too short for {width}×{height} pixels")
    rows: list[bytes] = []
    prior = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], raw[start + 1:start + 1 + stride]
        if kind == 0:
            row = line
        elif kind == 1:
            row = _sub(line, bpp)
        elif kind == 2:
            row = _up(line, prior)
        elif kind == 3:
            row = _average(line, prior, bpp)
        elif kind == 4:
            row = _paeth(line, prior, bpp)
        else:
            raise PngError(f"PNG row {y} has unknown filter type {kind}")
        rows.append(row)
        prior = row
    return tuple(rows)


def _sub(line: bytes, bpp: int) -> bytes:
    """Sub filter: each byte adds the byte one pixel left, a running sum per channel."""
    out = bytearray(len(line))
    for channel in range(bpp):
        out[channel::bpp] = array("Q", accumulate(line[channel::bpp])).tobytes()[LOW_BYTE::8]
    return bytes(out)


@lru_cache(maxsize=8)
def _byte_masks(length: int) -> tuple[int, int]:
    """Return integers with 0x7f, and with 0x80, in each of `length` bytes."""
    return int.from_bytes(b"\x7f" * length, "little"), int.from_bytes(b"\x80" * length, "little")


def _up(line: bytes, prior: bytes) -> bytes:
    """Up filter: each byte adds the byte above; all bytes at once, as one big integer addition without carries."""
    low, high = _byte_masks(len(line))
    x, y = int.from_bytes(line, "little"), int.from_bytes(prior, "little")
    return (((x & low) + (y & low)) ^ ((x ^ y) & high)).to_bytes(len(line), "little")


def _average(line: bytes, prior: bytes, bpp: int) -> bytes:
    """Average filter: each byte adds the floor of the mean of the byte left and the byte above."""
    out = bytearray(len(line))
    for channel in range(bpp):
        left = 0
        values = []
        for value, above in zip(line[channel::bpp], prior[channel::bpp], strict=True):
            left = (value + ((left + above) >> 1)) & 255
            values.append(left)
        out[channel::bpp] = bytes(values)
    return bytes(out)


def _paeth(line: bytes, prior: bytes, bpp: int) -> bytes:
    """Paeth filter: each byte adds whichever of left, above and upper-left is nearest to left + above - upper-left."""
    out = bytearray(len(line))
    for channel in range(bpp):
        left = corner = 0
        values = []
        for value, above in zip(line[channel::bpp], prior[channel::bpp], strict=True):
            to_above = above - corner
            if to_above == 0:  # the common flat area: distance_left is 0, so left wins without more sums
                left = (value + left) & 255
                values.append(left)
                continue
            to_left = left - corner
            distance_left, distance_above = abs(to_above), abs(to_left)
            distance_corner = abs(to_above + to_left)
            if distance_left <= distance_above and distance_left <= distance_corner:
                predicted = left
            elif distance_above <= distance_corner:
                predicted = above
            else:
                predicted = corner
            left = (value + predicted) & 255
            corner = above
            values.append(left)
        out[channel::bpp] = bytes(values)
    return bytes(out)


def _matches(image: Image, x: int, y: int, colour: Colour, tolerance: int) -> bool:
    """Tell whether the pixel at (x, y) exists and has `colour`, each channel within `tolerance`."""
    if not (0 <= x < image.width and 0 <= y < image.height):
        return False
    start = x * image.channels
    r, g, b = image.rows[y][start:start + 3]
    return abs(r - colour[0]) <= tolerance and abs(g - colour[1]) <= tolerance and abs(b - colour[2]) <= tolerance


def _share(points: range, hit: Callable[[int], bool]) -> float:
    """Return the share of `points` for which `hit` holds; none of an empty range."""
    return sum(1 for point in points if hit(point)) / len(points) if len(points) else 0.0


def border_coverage(image: Image, rect: Rect, colour: Colour, *, slack: int = 2,
                    tolerance: int = 8) -> dict[str, float]:
    """Return, for each edge of `rect` = (x, y, w, h), the share of its points that find `colour` within `slack`
    pixels across the edge; the corners, where two edges' slack overlaps, are left out."""
    x, y, w, h = rect
    right, bottom = x + w - 1, y + h - 1
    across = range(-slack, slack + 1)
    columns = range(x + slack + 1, right - slack)
    rows = range(y + slack + 1, bottom - slack)

    def along_row(row: int) -> Callable[[int], bool]:
        return lambda column: any(_matches(image, column, row + d, colour, tolerance) for d in across)

    def along_column(column: int) -> Callable[[int], bool]:
        return lambda row: any(_matches(image, column + d, row, colour, tolerance) for d in across)

    return {"top": _share(columns, along_row(y)), "bottom": _share(columns, along_row(bottom)),
            "left": _share(rows, along_column(x)), "right": _share(rows, along_column(right))}


def has_border(image: Image, rect: Rect, colour: Colour, *, slack: int = 2, tolerance: int = 8,
               coverage: float = 0.9) -> bool:
    """Tell whether all four edges of `rect` = (x, y, w, h) are drawn in `colour` (each channel within
    `tolerance`), allowing the edge to be `slack` pixels off and up to 1 - `coverage` of it to be covered."""
    return all(share >= coverage for share in border_coverage(image, rect, colour, slack=slack,
                                                               tolerance=tolerance).values())
