"""The pipeline chart as server-rendered SVG geometry: bars per month and stage, gridlines with
labels. No script and no style attribute (the Content-Security-Policy forbids both); the colours
come from classes in static/app.css."""
from __future__ import annotations

import re
from dataclasses import dataclass

from babel import Locale
from babel.numbers import format_compact_currency, format_currency
from flask_babel import format_date

from ..decimals import format_money
from ..i18n import ui_locale
from ..records.models import DEAL_STAGES
from .queries import Chart

WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 8, 12, 28


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    stage: str
    title: str


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class Label:
    x: float
    text: str


@dataclass(frozen=True)
class Geometry:
    width: int
    height: int
    left: int
    right: float
    bottom: float
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[Label]


def _nice(peak: int) -> int:
    """A round upper bound for the axis (in cents), so the four gridlines get round labels."""
    if peak <= 0:
        return 100_00
    magnitude = 1
    while magnitude * 10 <= peak:
        magnitude *= 10
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if step * magnitude >= peak:
            return int(step * magnitude)
    return 10 * magnitude


def axis_label(value: float, top: float, currency: str, locale: str) -> str:
    """A gridline's label, written like the amounts on the cards but in whole units: "300.000 €"
    ("€300,000" in English). An axis reaching a million or more is written short, all of it
    ("1,5 Mio. €"), so the labels fit beside the chart."""
    if top >= 1_000_000:
        return format_compact_currency(value, currency, locale=locale, fraction_digits=1)
    pattern = Locale.parse(locale).currency_formats["standard"].pattern
    whole = re.sub(r"0\.0+", "0", pattern.split(";")[0])
    return format_currency(round(value), currency, format=whole, locale=locale, currency_digits=False)


def geometry(chart: Chart, stage_labels: dict) -> Geometry:
    locale = ui_locale()
    top_value = _nice(chart.peak)
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(chart.months), 1)
    bar_w = slot * 0.8 / len(DEAL_STAGES)
    bars, labels = [], []
    for i, month in enumerate(chart.months):
        x0 = LEFT + i * slot + slot * 0.1
        month_name = format_date(month, "MMM yy")
        labels.append(Label(LEFT + i * slot + slot / 2, month_name))
        for j, stage in enumerate(DEAL_STAGES):
            cents = chart.values.get((month, stage), 0)
            h = plot_h * cents / top_value
            title = (f"{format_date(month, 'MMMM yyyy')} · {stage_labels[stage]}: "
                     + format_money(cents, chart.currency, locale))
            bars.append(Bar(round(x0 + j * bar_w, 1), round(TOP + plot_h - h, 1), round(bar_w - 1, 1),
                            round(h, 1), stage, title))
    ticks = [
        Tick(round(TOP + plot_h - plot_h * k / 4, 1), axis_label(top_value * k / 4 / 100, top_value / 100,
                                                                 chart.currency, locale))
        for k in range(5)
    ]
    return Geometry(WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, TOP + plot_h, bars, ticks, labels)
