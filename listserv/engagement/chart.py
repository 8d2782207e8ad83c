"""The report's chart: members at each stage, week by week, as stacked bars in a PNG. Pure.

A PNG because mail clients show it inline (Gmail shows no SVG) and the archive's pages can use
the same bytes. Pillow draws it: a maintained imaging library with its own font, no system
fonts or plotting stack needed.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from listserv.engagement.rules import Stage

WIDTH, HEIGHT = 640, 280
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 44, 16, 54, 28
COLOURS = {  # light to dark: a reader sees the group deepen as the dark parts grow
    Stage.ACCESS: (222, 226, 230),
    Stage.SOCIALISATION: (166, 206, 227),
    Stage.INFORMATION: (100, 160, 205),
    Stage.CONSTRUCTION: (31, 120, 180),
    Stage.DEVELOPMENT: (20, 60, 110),
}


@dataclass(frozen=True)
class Week:
    label: str  # e.g. "7 Dec"
    counts: dict[Stage, int]


def nice_top(value: int) -> int:
    """The axis's top: the next of 5, 10, 20, 50, 100, ... at or above value."""
    top = 5
    while top < value:
        top = top * 2 if str(top)[0] in "15" else top * 5 // 2
    return top


def stage_chart(weeks: Sequence[Week]) -> bytes:
    image = Image.new("RGB", (WIDTH, HEIGHT), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=11)
    top = nice_top(max((sum(week.counts.values()) for week in weeks), default=0))
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    base = HEIGHT - MARGIN_BOTTOM
    for tick in (0, top // 2, top):
        level = base - plot_height * tick // top
        draw.line((MARGIN_LEFT, level, WIDTH - MARGIN_RIGHT, level), fill=(235, 235, 235))
        draw.text((MARGIN_LEFT - 6, level), str(tick), fill=(90, 90, 90), font=font, anchor="rm")
    slot = (WIDTH - MARGIN_LEFT - MARGIN_RIGHT) / max(len(weeks), 1)
    for index, week in enumerate(weeks):
        left = MARGIN_LEFT + index * slot + slot * 0.2
        right = left + slot * 0.6
        bottom = float(base)
        for stage in Stage:
            height = plot_height * week.counts.get(stage, 0) / top
            if height:
                draw.rectangle((left, bottom - height, right, bottom), fill=COLOURS[stage])
            bottom -= height
        draw.text(((left + right) / 2, base + 6), week.label, fill=(60, 60, 60), font=font, anchor="mt")
    x, y = MARGIN_LEFT, 10
    for stage in Stage:
        label = f"{int(stage)} {stage.label}"
        width = 14 + int(draw.textlength(label, font=font)) + 14
        if x + width > WIDTH - MARGIN_RIGHT:
            x, y = MARGIN_LEFT, y + 18
        draw.rectangle((x, y, x + 10, y + 10), fill=COLOURS[stage])
        draw.text((x + 14, y + 5), label, fill=(60, 60, 60), font=font, anchor="lm")
        x += width
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
