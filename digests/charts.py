"""Small line charts for digests, drawn straight into a PNG with numpy and zlib.

A digest may carry dozens of charts and a run may render a thousand digests; a plotting
library costs tens of milliseconds per figure, this costs well under one. The chart is a
sparkline: the series (published points only), an optional expected band and threshold
line, and the last point marked. Masked points are simply absent: the caller passes only
values that secrecy lets out.
"""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Sequence

import numpy as np

WIDTH, HEIGHT, PAD = 240, 64, 6
PALETTE = bytes([255, 255, 255, 31, 78, 121, 192, 57, 43, 222, 232, 242, 150, 150, 150])
INK, ALERT, BAND, RULE = 1, 2, 3, 4
"""Indexed colours: one byte per pixel keeps compression cheap."""


def _png(pixels: np.ndarray) -> bytes:
    height, width = pixels.shape
    raw = np.zeros((height, width + 1), dtype=np.uint8)
    raw[:, 1:] = pixels

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"PLTE", PALETTE)
            + chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)) + chunk(b"IEND", b""))


def _polyline(canvas: np.ndarray, xs: np.ndarray, ys: np.ndarray, color: int) -> None:
    """Draw every segment at once: each is sampled densely enough to leave no gap."""
    t = np.linspace(0.0, 1.0, 2 * (WIDTH + HEIGHT) // max(len(xs) - 1, 1) + 8)
    px = xs[:-1, None] + (xs[1:] - xs[:-1])[:, None] * t[None, :]
    py = ys[:-1, None] + (ys[1:] - ys[:-1])[:, None] * t[None, :]
    cols = np.clip(np.rint(px).astype(int), 0, canvas.shape[1] - 1).ravel()
    rows = np.clip(np.rint(py).astype(int), 0, canvas.shape[0] - 2).ravel()
    canvas[rows, cols] = color
    canvas[rows + 1, cols] = color


def sparkline(values: Sequence[float | None], *, band: tuple[float, float] | None = None,
              threshold: float | None = None) -> bytes | None:
    """PNG bytes of the series, or None if fewer than two points may be shown."""
    points = [(i, float(v)) for i, v in enumerate(values) if v is not None]
    if len(points) < 2:
        return None
    ys = [v for _, v in points]
    extra = [*(band or ()), *([threshold] if threshold is not None else [])]
    low, high = min(ys + extra), max(ys + extra)
    if high - low < 1e-9:
        low, high = low - 1.0, high + 1.0
    span_x = max(len(values) - 1, 1)

    def px(i: float) -> float:
        return PAD + i / span_x * (WIDTH - 2 * PAD)

    def py(v: float) -> float:
        return HEIGHT - PAD - (v - low) / (high - low) * (HEIGHT - 2 * PAD)

    canvas = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    if band is not None:
        top, bottom = sorted((int(py(band[1])), int(py(band[0]))))
        canvas[max(top, 0):min(bottom + 1, HEIGHT), int(px(len(values) - 1)) - 8:] = BAND
    if threshold is not None:
        y = round(py(threshold))
        canvas[y, PAD:WIDTH - PAD:4] = RULE
    _polyline(canvas, np.array([px(i) for i, _ in points]),
              np.array([py(v) for _, v in points]), INK)
    last_x, last_y = round(px(points[-1][0])), round(py(points[-1][1]))
    canvas[max(last_y - 2, 0):last_y + 3, max(last_x - 2, 0):last_x + 3] = ALERT
    return _png(canvas)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
