"""A mailing's outcome as a picture: deliveries per status and channel, sends over time.

Drawn with Pillow for a phone screen: a 1080×1350 portrait PNG (Telegram's feed
shape), large type, the words given by the caller in the interface language.
DejaVu Sans (bot/fonts, with its licence) has Cyrillic; Pillow's own font has not.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1080, 1350
MAX_BARS = 24  # sends over time: at most this many bars
_FONTS = Path(__file__).parent / "fonts"
_BG, _INK, _MUTED, _GRID = "#ffffff", "#1f2933", "#616e7c", "#e4e7eb"
CHANNEL_COLOURS = {"telegram": "#2a9fd6", "email": "#f29f05"}
_OTHER = "#9aa5b1"
_MARGIN = 60


@dataclass(frozen=True)
class StatusBar:
    """One status: its name and its rows per channel."""

    label: str
    per_channel: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.per_channel.values())


@dataclass(frozen=True)
class ChartData:
    """Everything drawn, words already translated."""

    title: str
    subtitle: str
    statuses_title: str
    statuses: Sequence[StatusBar]
    channel_names: dict[str, str]  # channel -> its name in the legend
    time_title: str
    sends: Sequence[tuple[datetime, int]]  # local moment (a minute) -> messages sent
    nothing: str  # said where there is nothing to draw
    peak: str  # the tallest bar's words, with {count}


@cache
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(_FONTS / name), size)


def _fit(draw: ImageDraw.ImageDraw, text: str, size: int, width: int, bold: bool = False) -> str:
    """The text cut with "…" to fit `width` pixels."""
    if draw.textlength(text, font=font(size, bold)) <= width:
        return text
    while text and draw.textlength(text + "…", font=font(size, bold)) > width:
        text = text[:-1]
    return text + "…"


def _buckets(
    sends: Sequence[tuple[datetime, int]],
) -> list[tuple[datetime, int]]:
    """Per-minute sends grouped into at most MAX_BARS bars of whole minutes."""
    if not sends:
        return []
    start, end = sends[0][0], sends[-1][0]
    minutes = int((end - start).total_seconds() // 60) + 1
    step = max(1, -(-minutes // MAX_BARS))
    bars: dict[int, int] = {}
    for moment, count in sends:
        index = int((moment - start).total_seconds() // 60) // step
        bars[index] = bars.get(index, 0) + count
    count = max(bars) + 1
    return [(start + timedelta(minutes=i * step), bars.get(i, 0)) for i in range(count)]


def _statuses(draw: ImageDraw.ImageDraw, data: ChartData, top: int) -> int:
    """The status bars; returns the y below them."""
    draw.text((_MARGIN, top), data.statuses_title, font=font(44, True), fill=_INK)
    y = top + 70
    shown = [s for s in data.statuses if s.total]
    if not shown:
        draw.text((_MARGIN, y), data.nothing, font=font(38), fill=_MUTED)
        return y + 70
    widest = max(s.total for s in shown)
    bar_left, bar_right = _MARGIN, WIDTH - _MARGIN
    for status in shown:
        label = f"{status.label}: {status.total:,}".replace(",", " ")
        draw.text((_MARGIN, y), label, font=font(38), fill=_INK)
        y += 50
        x = float(bar_left)
        span = (bar_right - bar_left) * status.total / widest
        for channel, count in status.per_channel.items():
            w = span * count / status.total if status.total else 0
            colour = CHANNEL_COLOURS.get(channel, _OTHER)
            if w >= 1:
                draw.rectangle((x, y, x + w, y + 44), fill=colour)
            x += w
        y += 70
    # The legend: a swatch and a name per channel.
    x = _MARGIN
    for channel, name in data.channel_names.items():
        draw.rectangle((x, y + 6, x + 34, y + 40), fill=CHANNEL_COLOURS.get(channel, _OTHER))
        draw.text((x + 46, y), name, font=font(36), fill=_INK)
        x += 46 + int(draw.textlength(name, font=font(36))) + 50
    return y + 70


def _sends(draw: ImageDraw.ImageDraw, data: ChartData, top: int) -> None:
    draw.text((_MARGIN, top), data.time_title, font=font(44, True), fill=_INK)
    bars = _buckets(data.sends)
    area_top, area_bottom = top + 130, HEIGHT - 110
    if not bars or area_bottom - area_top < 120:
        draw.text((_MARGIN, top + 70), data.nothing, font=font(38), fill=_MUTED)
        return
    highest = max(c for _, c in bars) or 1
    peak = data.peak.format(count=f"{highest:,}".replace(",", " "))
    draw.text((_MARGIN, top + 70), peak, font=font(32), fill=_MUTED)
    draw.line((_MARGIN, area_bottom, WIDTH - _MARGIN, area_bottom), fill=_GRID, width=4)
    width = (WIDTH - 2 * _MARGIN) / len(bars)
    for index, (_moment, count) in enumerate(bars):
        h = (area_bottom - area_top) * count / highest
        x = _MARGIN + index * width
        if h > 0:
            draw.rectangle((x + 3, area_bottom - h, x + width - 3, area_bottom), fill="#3e8e41")
    first, last = bars[0][0], bars[-1][0]
    draw.text((_MARGIN, area_bottom + 16), first.strftime("%d.%m %H:%M"), font=font(34),
              fill=_MUTED)  # fmt: skip
    if last != first:
        text = last.strftime("%H:%M")
        w = draw.textlength(text, font=font(34))
        draw.text((WIDTH - _MARGIN - w, area_bottom + 16), text, font=font(34), fill=_MUTED)


def render_chart(data: ChartData) -> bytes:
    """The chart as PNG bytes (CPU work: call it in a thread)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), _BG)
    draw = ImageDraw.Draw(image)
    inner = WIDTH - 2 * _MARGIN
    draw.text((_MARGIN, 50), _fit(draw, data.title, 52, inner, True), font=font(52, True),
              fill=_INK)  # fmt: skip
    draw.text((_MARGIN, 120), _fit(draw, data.subtitle, 36, inner), font=font(36), fill=_MUTED)
    below = _statuses(draw, data, 210)
    _sends(draw, data, below + 20)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
