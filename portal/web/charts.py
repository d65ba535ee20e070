"""Geometry for the report's server-drawn SVG charts (no chart library, no CDN).

Only presentation: the numbers come from portal/services/reports.py. The templates
draw with SVG attributes (fill, fill-opacity), never inline styles, so the strict
Content-Security-Policy needs no exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BAR_WIDTH = 22
BAR_GAP = 6
CHART_HEIGHT = 160
CELL = 22
LABEL_SPACE = 36


@dataclass(frozen=True)
class Bar:
    x: int
    label: str
    dials_y: float
    dials_h: float
    connects_y: float
    connects_h: float
    dials: int
    connects: int
    rate: float | None


def bars(items: list[dict[str, Any]], label_key: str) -> dict[str, Any]:
    """Dials as a bar with its connects drawn inside it, scaled to the largest."""
    top = max((int(i["dials"]) for i in items), default=0) or 1
    out = []
    for n, item in enumerate(items):
        dials, connects = int(item["dials"]), int(item["connects"])
        dh = CHART_HEIGHT * dials / top
        ch = CHART_HEIGHT * connects / top
        out.append(
            Bar(
                x=LABEL_SPACE + n * (BAR_WIDTH + BAR_GAP),
                label=str(item[label_key]),
                dials_y=round(CHART_HEIGHT - dh, 1),
                dials_h=round(dh, 1),
                connects_y=round(CHART_HEIGHT - ch, 1),
                connects_h=round(ch, 1),
                dials=dials,
                connects=connects,
                rate=item.get("contactRate"),
            )
        )
    width = LABEL_SPACE + len(items) * (BAR_WIDTH + BAR_GAP)
    return {
        "bars": out,
        "width": width,
        "height": CHART_HEIGHT + 24,
        "plot": CHART_HEIGHT,
        "bar": BAR_WIDTH,
        "top": top,
    }


def heat_map(cells: list[dict[str, Any]], day_names: tuple[str, ...]) -> dict[str, Any]:
    """A weekday x hour grid; opacity follows dials, the title gives the rates."""
    top = max((int(c["dials"]) for c in cells), default=0) or 1
    order = (1, 2, 3, 4, 5, 6, 0)  # Monday first, as managers read a week
    out = []
    for row, day in enumerate(order):
        for cell in (c for c in cells if c["weekday"] == day):
            dials = int(cell["dials"])
            out.append(
                {
                    "x": LABEL_SPACE + cell["hour"] * CELL,
                    "y": 18 + row * CELL,
                    "opacity": round(0.08 + 0.92 * dials / top, 3) if dials else 0,
                    "dials": dials,
                    "connects": int(cell["connects"]),
                    "rate": cell["contactRate"],
                    "day": day_names[day],
                    "hour": cell["hour"],
                }
            )
    return {
        "cells": out,
        "rows": [(18 + n * CELL, day_names[d]) for n, d in enumerate(order)],
        "hours": [(LABEL_SPACE + h * CELL, h) for h in range(0, 24, 3)],
        "width": LABEL_SPACE + 24 * CELL,
        "height": 18 + 7 * CELL + 4,
        "cell": CELL - 2,
    }
