"""The PNG reader against a plain, byte-by-byte encoder written from the PNG specification: every filter, RGB and
RGBA, and the refusal of PNGs it does not read."""

from __future__ import annotations

import random
import struct
import zlib

import pytest

from dashbuild.preview.png_pixels import PngError, decode_png, has_border

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, body: bytes) -> bytes:
    """Return one PNG chunk with its length and CRC."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _predict(kind: int, left: int, above: int, corner: int) -> int:
    """Return the byte the filter `kind` predicts, as the specification defines it."""
    if kind == 0:
        return 0
    if kind == 1:
        return left
    if kind == 2:
        return above
    if kind == 3:
        return (left + above) // 2
    estimate = left + above - corner
    distances = [abs(estimate - left), abs(estimate - above), abs(estimate - corner)]
    return [left, above, corner][distances.index(min(distances))]


def _encode(rows: list[bytes], width: int, channels: int, filters: list[int], *, depth: int = 8,
            colour_type: int | None = None, interlace: int = 0) -> bytes:
    """Encode rows of pixels, filtering row y with filters[y]."""
    prior = bytes(width * channels)
    raw = bytearray()
    for row, kind in zip(rows, filters, strict=True):
        raw.append(kind)
        for i, value in enumerate(row):
            left = row[i - channels] if i >= channels else 0
            corner = prior[i - channels] if i >= channels else 0
            raw.append((value - _predict(kind, left, prior[i], corner)) % 256)
        prior = row
    kind_of_colour = colour_type if colour_type is not None else {3: 2, 4: 6}[channels]
    header = struct.pack(">IIBBBBB", width, len(rows), depth, kind_of_colour, 0, 0, interlace)
    return (SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(bytes(raw)))
            + _chunk(b"IEND", b""))


@pytest.mark.parametrize("channels", [3, 4])
def test_every_filter_decodes_to_the_encoded_pixels(channels: int) -> None:
    generator = random.Random(17)
    width, height = 37, 40
    rows = [bytes(generator.randrange(256) for _ in range(width * channels)) for _ in range(height)]
    filters = [y % 5 for y in range(height)]
    image = decode_png(_encode(rows, width, channels, filters))
    assert (image.width, image.height, image.channels) == (width, height, channels)
    assert list(image.rows) == rows
    r, g, b = rows[5][3 * channels:3 * channels + 3]
    alpha = rows[5][3 * channels + 3] if channels == 4 else 255
    assert image.pixel(3, 5) == (r, g, b, alpha)
    with pytest.raises(IndexError, match=r"outside the 37×40 image"):
        image.pixel(37, 0)


@pytest.mark.parametrize(("depth", "colour_type", "interlace"), [(16, 2, 0), (8, 3, 0), (8, 0, 0), (8, 2, 1)])
def test_other_pngs_are_refused_clearly(depth: int, colour_type: int, interlace: int) -> None:
    data = _encode([bytes(6)], 2, 3, [0], depth=depth, colour_type=colour_type, interlace=interlace)
    with pytest.raises(PngError, match=r"^unsupported PNG \(bit depth .*\): only 8-bit RGB or RGBA"):
        decode_png(data)


def test_damaged_data_is_refused() -> None:
    data = bytearray(_encode([bytes(6)], 2, 3, [0]))
    with pytest.raises(PngError, match="not a PNG"):
        decode_png(b"GIF89a" + bytes(data[6:]))
    data[20] ^= 0xFF
    with pytest.raises(PngError, match="IHDR chunk fails its CRC check"):
        decode_png(bytes(data))


def test_a_border_is_found_within_slack_and_not_beyond() -> None:
    width, height = 60, 40
    border, fill = (200, 10, 10), (0, 0, 0)
    rows = []
    for y in range(height):
        row = bytearray()
        for x in range(width):
            on_edge = (x in (10, 49) and 5 <= y <= 34) or (y in (5, 34) and 10 <= x <= 49)
            row += bytes(border if on_edge else fill)
        rows.append(bytes(row))
    image = decode_png(_encode(rows, width, 3, [4] * height))
    assert has_border(image, (10, 5, 40, 30), border)
    assert has_border(image, (12, 3, 40, 30), (203, 12, 6))  # two pixels off, colour a few units off
    assert not has_border(image, (13, 5, 40, 30), border)
    assert not has_border(image, (10, 5, 40, 30), (203, 12, 6), tolerance=2)
