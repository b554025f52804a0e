"""REST+ charts as inline SVG, drawn by matplotlib from the results JSON alone.

Each chart puts the model's RER beside the OCR control (the share of items the model
transcribed perfectly), both with Wilson 95% intervals, so a reader can tell a rendering
the model cannot reason about from one it cannot read.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from rest_checks.metrics.statistics import wilson_interval
from rest_checks.probe_relation import ProbeFit
from rest_checks.results_document import Parity

_GRID_NAME = re.compile(r"^(?P<font>.+)-(?P<dpi>\d+)dpi$")
_COLOUR_NAME = re.compile(r"^(?P<colour>[a-z]+)-text$")
# The colour variants are drawn at the default rendering otherwise: black DejaVu Sans at
# 200 DPI is their reference.
COLOUR_REFERENCE = "dejavu-sans-200dpi"
MODEL_COLOUR = "#1f5fa8"
OCR_COLOUR = "#8a8a8a"


@dataclass(frozen=True)
class Point:
    """A rate with its interval, or None where there was nothing to count."""

    value: float | None
    low: float | None
    high: float | None
    label: str


def model_rer(stat: Mapping[str, Any]) -> Point:
    low, high = stat["ci95"]
    return Point(stat["value"], low, high, f"{stat['k']}/{stat['n']}")


def ocr_perfect_share(stat: Mapping[str, Any]) -> Point | None:
    """The OCR control at one rendering; None when the run asked for no transcription."""
    if stat.get("ocr_cer") is None:
        return None
    k, n = int(stat["n_ocr_perfect"]), int(stat["n"])
    if n == 0:
        return Point(None, None, None, "0/0")
    low, high = wilson_interval(k, n)
    return Point(k / n, low, high, f"{k}/{n}")


def _svg(figure: Figure, title: str) -> str:
    """The figure as an ``<svg>`` element: text kept as text, ids and output deterministic."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "rest-checks"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    return svg.replace("<svg ", f'<svg role="img" aria-label="{title}" ', 1)


def _errorbar(axes: Any, xs: list[float], points: list[Point], **style: Any) -> None:
    shown = [(x, p) for x, p in zip(xs, points, strict=True) if p.value is not None]
    if not shown:
        return
    values = [p.value or 0.0 for _, p in shown]
    lower = [max(0.0, (p.value or 0.0) - (p.low or 0.0)) for _, p in shown]
    upper = [max(0.0, (p.high or 0.0) - (p.value or 0.0)) for _, p in shown]
    axes.errorbar([x for x, _ in shown], values, yerr=[lower, upper], capsize=3, **style)


def font_dpi_chart(rest_plus: Mapping[str, Mapping[str, Any]]) -> str | None:
    """One panel per font: RER against DPI, the OCR control beside it. None without a grid."""
    by_font: dict[str, dict[int, Mapping[str, Any]]] = {}
    for name, stat in rest_plus.items():
        match = _GRID_NAME.match(name)
        if match:
            by_font.setdefault(match["font"], {})[int(match["dpi"])] = stat
    if not by_font:
        return None
    figure = Figure(figsize=(3.2 * len(by_font), 3.0))
    panels = figure.subplots(1, len(by_font), sharey=True, squeeze=False)[0]
    for axes, (font, stats) in zip(panels, sorted(by_font.items()), strict=True):
        dpis = sorted(stats)
        xs = [float(i) for i in range(len(dpis))]
        rer = [model_rer(stats[d]) for d in dpis]
        _errorbar(axes, xs, rer, color=MODEL_COLOUR, marker="o", label="model RER")
        ocr = [ocr_perfect_share(stats[d]) for d in dpis]
        if all(p is not None for p in ocr):
            shifted = [x + 0.08 for x in xs]
            points = [p for p in ocr if p is not None]
            _errorbar(
                axes,
                shifted,
                points,
                color=OCR_COLOUR,
                marker="s",
                linestyle="--",
                label="OCR control: transcribed perfectly",
            )
        axes.set_xticks(xs, [f"{d} DPI" for d in dpis])
        axes.set_title(font, fontsize=10)
        axes.set_ylim(-0.05, 1.05)
        axes.grid(axis="y", alpha=0.3)
    panels[0].set_ylabel("share of items (95% CI)")
    handles, labels = panels[0].get_legend_handles_labels()
    if handles:
        figure.legend(handles, labels, loc="lower center", ncol=2, bbox_to_anchor=(0.5, -0.08))
    return _svg(figure, "RER per font and DPI, with the OCR control")


def colour_chart(rest_plus: Mapping[str, Mapping[str, Any]]) -> str | None:
    """RER per text colour (and the black reference), the OCR control beside each bar."""
    bars = [
        (match["colour"], stat)
        for name, stat in sorted(rest_plus.items())
        if (match := _COLOUR_NAME.match(name))
    ]
    if not bars:
        return None
    if COLOUR_REFERENCE in rest_plus:
        bars.insert(0, ("black", rest_plus[COLOUR_REFERENCE]))
    figure = Figure(figsize=(1.2 * len(bars) + 2.0, 3.0))
    axes = figure.subplots()
    xs = [float(i) for i in range(len(bars))]
    rer = [model_rer(stat) for _, stat in bars]
    heights = [p.value or 0.0 for p in rer]
    axes.bar([x - 0.18 for x in xs], heights, width=0.34, color=MODEL_COLOUR, label="model RER")
    _errorbar(axes, [x - 0.18 for x in xs], rer, color="black", linestyle="none")
    ocr = [ocr_perfect_share(stat) for _, stat in bars]
    if all(p is not None for p in ocr):
        points = [p for p in ocr if p is not None]
        axes.bar(
            [x + 0.18 for x in xs],
            [p.value or 0.0 for p in points],
            width=0.34,
            color=OCR_COLOUR,
            label="OCR control: transcribed perfectly",
        )
        _errorbar(axes, [x + 0.18 for x in xs], points, color="black", linestyle="none")
    axes.set_xticks(xs, [colour for colour, _ in bars])
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("share of items (95% CI)")
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="lower center", ncol=2, bbox_to_anchor=(0.5, -0.35), fontsize=8)
    return _svg(figure, "RER per text colour, with the OCR control")


def rest_plus_charts(rest_plus: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """The charts a results document has data for, by name."""
    charts = {"font_dpi": font_dpi_chart(rest_plus), "colour": colour_chart(rest_plus)}
    return {name: svg for name, svg in charts.items() if svg is not None}


def probe_scatter(fit: ProbeFit) -> str:
    """Each model's mean probe cosine against its RER, with the least-squares line."""
    figure = Figure(figsize=(6.0, 4.0))
    axes = figure.subplots()
    xs = [cosine for _, cosine, _, _ in fit.points]
    axes.scatter(xs, [rer for *_, rer in fit.points], color=MODEL_COLOUR, zorder=3)
    for name, cosine, _, rer in fit.points:
        axes.annotate(name, (cosine, rer), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ends = [min(xs), max(xs)]
    axes.plot(ends, [fit.intercept + fit.slope * x for x in ends], color=OCR_COLOUR)
    axes.set_xlabel(f"mean cross-modal cosine, {fit.layer}")
    axes.set_ylabel("RER")
    low, high = fit.r2_interval
    axes.set_title(f"R² = {fit.r2:.3f} [{low:.3f}, {high:.3f}] over {len(fit.points)} models")
    return _svg(figure, "RER against the mean cross-modal cosine of each model")


def _position(visual_tokens: float | None, dpi: int, by_tokens: bool) -> float:
    """Where a ladder step lies on the x axis: its visual tokens, or its DPI."""
    return float(visual_tokens) if by_tokens and visual_tokens is not None else float(dpi)


def parity_chart(table: Parity) -> str:
    """Image accuracy and RER against visual tokens (or DPI where the backend reports no
    tokens) on the parity ladder, text accuracy as a line, the parity point marked."""
    steps = table["steps"]
    by_tokens = all(step["visual_tokens"] is not None for step in steps)
    xs = [_position(step["visual_tokens"], step["dpi"], by_tokens) for step in steps]
    figure = Figure(figsize=(6.5, 4.0))
    axes = figure.subplots()
    _errorbar(
        axes,
        xs,
        [model_rer(s["image_accuracy"]) for s in steps],
        color=MODEL_COLOUR,
        marker="o",
        label="image accuracy",
    )
    _errorbar(
        axes, xs, [model_rer(s["rer"]) for s in steps], color=OCR_COLOUR, marker="s", label="RER"
    )
    text = table["text_accuracy"]
    if text["value"] is not None:
        axes.axhline(text["value"], color="#165c26", linestyle="--", label="text accuracy")
    point = table["parity_point"]
    if point is not None:
        x = _position(point["visual_tokens"], point["dpi"], by_tokens)
        axes.axvline(x, color="#8a1414", linestyle=":", label="parity point")
    axes.set_xscale("log")
    axes.set_xticks(xs, [f"{x:,.0f}" for x in xs], fontsize=8)
    axes.minorticks_off()
    axes.set_xlabel(
        (table["tokens_from"] or "visual tokens") if by_tokens else "DPI (no visual token counts)"
    )
    axes.set_ylabel("share of items")
    axes.set_ylim(-0.02, 1.02)
    axes.legend(loc="lower right", fontsize=8)
    return _svg(figure, "Image accuracy and RER against visual tokens, text accuracy as a line")
