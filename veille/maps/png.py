"""A small raster map for e-mail: the cell's territories in grey, those with an alert in
orange, drawn with matplotlib's Agg backend into PNG bytes.

Why a PNG: Gmail and Outlook drop inline ``<svg>`` from messages, while a PNG shows in
every client as an inline ``cid:`` attachment. The digest carries it like its charts: a
``data:`` URI in the stored HTML, which the outbox channel's e-mail files turn into a
``cid:`` part (``digests.channels.email_bytes``); Apprise's mailto sends the HTML as it is,
and Gmail does not show ``data:`` images (the charts share that limit). The map shows
where the alerts are, not any value, so secrecy has nothing to hide in it.
"""

from __future__ import annotations

import io

import numpy as np
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MplPath
from shapely.geometry.base import BaseGeometry

from veille.maps.projection import Shapes, bounds

BASE, EDGE, ALERT, ALERT_EDGE = "#d9d9d9", "#ffffff", "#e6550d", "#7f2704"


def _patch(geometry: BaseGeometry, **style: object) -> PathPatch:
    vertices: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    for polygon in shapely.get_parts(geometry):
        if polygon.geom_type != "Polygon":
            continue
        for ring in (polygon.exterior, *polygon.interiors):
            xy = np.asarray(ring.coords)
            kinds = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
            kinds[0], kinds[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
            vertices.append(xy)
            codes.append(kinds)
    return PathPatch(MplPath(np.concatenate(vertices), np.concatenate(codes)), **style)


def alerts_png(base: Shapes, alerted: Shapes, width_px: int = 320) -> bytes | None:
    """PNG bytes of ``base`` in grey with ``alerted`` over it in orange (None if empty)."""
    shapes = [*base.values(), *alerted.values()]
    if not alerted or not shapes:
        return None
    minx, miny, maxx, maxy = bounds(shapes)
    aspect = min(max((maxy - miny) / max(maxx - minx, 1.0), 0.4), 1.2)
    dpi = 100
    fig = Figure(figsize=(width_px / dpi, width_px * aspect / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    for geometry in base.values():
        ax.add_patch(_patch(geometry, facecolor=BASE, edgecolor=EDGE, linewidth=0.6))
    for geometry in alerted.values():
        ax.add_patch(_patch(geometry, facecolor=ALERT, edgecolor=ALERT_EDGE, linewidth=1.2))
    pad = 0.03 * max(maxx - minx, maxy - miny)
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect("equal", adjustable="box")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()
