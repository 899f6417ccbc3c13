"""Draws kambot's two Teams icons (run once; the PNGs are committed): a speech bubble, one message.

color.png: 192×192, the bubble in white on the accent colour. outline.png: 32×32, the bubble's
white outline on a transparent background, as Teams asks for its outline icon.
Plain Python (zlib) so that no imaging library is needed.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

ACCENT = (0x1F, 0x5F, 0xAF)
WHITE = (0xFF, 0xFF, 0xFF)


def _png(width: int, height: int, pixels: list[list[tuple[int, int, int, int]]]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(value for pixel in row for value in pixel) for row in pixels)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def _inside_bubble(x: float, y: float, size: float, inset: float = 0.0) -> bool:
    """A rounded rectangle in the upper part with a tail at the lower left, in a size×size square."""
    left, top, right, bottom = 0.16 * size + inset, 0.2 * size + inset, 0.84 * size - inset, 0.66 * size - inset
    radius = max(0.12 * size - inset, 0.0)
    if left <= x <= right and top <= y <= bottom:
        cx = min(max(x, left + radius), right - radius)
        cy = min(max(y, top + radius), bottom - radius)
        return (x - cx) ** 2 + (y - cy) ** 2 <= radius**2
    tail_top, tail_tip = 0.66 * size - inset, 0.84 * size - 1.6 * inset
    if tail_top < y <= tail_tip:
        share = (y - tail_top) / max(tail_tip - tail_top, 1e-9)
        return 0.3 * size + inset <= x <= 0.3 * size + inset + (0.16 * size - 2 * inset) * (1 - share)
    return False


def color_icon(size: int = 192) -> bytes:
    rows = [
        [(*WHITE, 255) if _inside_bubble(x + 0.5, y + 0.5, size) else (*ACCENT, 255) for x in range(size)]
        for y in range(size)
    ]
    return _png(size, size, rows)


def outline_icon(size: int = 32) -> bytes:
    def pixel(x: int, y: int) -> tuple[int, int, int, int]:
        edge = _inside_bubble(x + 0.5, y + 0.5, size) and not _inside_bubble(x + 0.5, y + 0.5, size, inset=2.0)
        return (*WHITE, 255) if edge else (0, 0, 0, 0)

    return _png(size, size, [[pixel(x, y) for x in range(size)] for y in range(size)])


if __name__ == "__main__":
    folder = Path(__file__).resolve().parent
    (folder / "color.png").write_bytes(color_icon())
    (folder / "outline.png").write_bytes(outline_icon())
