"""Per-model baselines: what was consistent last time, and the gate against it.

A baseline is one JSON file per model under ``baselines/``, serialised by a syrupy
extension so that ``--snapshot-update`` (syrupy's flag) is how a user accepts the current
results. It holds the aggregate metrics with their counts and every case's consistency.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syrupy.extensions.json import JSONSnapshotExtension

from rest_checks.metrics import PairedComparison, compare_runs

BASELINE_FORMAT = 1


class BaselineError(ValueError):
    """A baseline file cannot be used; the message names the file and the problem."""


class BaselineExtension(JSONSnapshotExtension):
    """syrupy's JSON serialiser, with keys in a stable order and one file per model."""

    file_extension = "json"

    def serialize_baseline(self, data: Mapping[str, Any]) -> str:
        return str(self.serialize(dict(data)))


@dataclass(frozen=True)
class Baseline:
    """A model's accepted behaviour: case key -> consistent, plus the metrics it came with."""

    path: Path
    model: str
    model_identity: dict[str, Any]
    cases: dict[str, bool]
    metrics: dict[str, Any] = field(default_factory=dict)
    suite: tuple[str, ...] = ()
    seed: int | None = None

    def consistent(self, key: str) -> bool | None:
        """True/False as recorded, None for a case the baseline has never seen."""
        return self.cases.get(key)

    def item_cases(self) -> dict[str, bool]:
        """The cross-modal cases only (keys without a variant), which RER is computed on."""
        return {key: value for key, value in self.cases.items() if "@" not in key}


def load_baseline(path: Path) -> Baseline | None:
    """Read a baseline; None when the file does not exist."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cases"), dict):
        raise BaselineError(f"{path}: not a rest-checks baseline (no 'cases' table)")
    if data.get("format") != BASELINE_FORMAT:
        raise BaselineError(
            f"{path}: baseline format {data.get('format')!r}, expected {BASELINE_FORMAT}; "
            "write it again with --snapshot-update"
        )
    cases = data["cases"]
    bad = [key for key, value in cases.items() if not isinstance(value, bool)]
    if bad:
        raise BaselineError(f"{path}: case {bad[0]!r} must be true or false")
    return Baseline(
        path=path,
        model=str(data.get("model", "")),
        model_identity=dict(data.get("model_identity") or {}),
        cases=dict(cases),
        metrics=dict(data.get("metrics") or {}),
        suite=tuple(data.get("suite") or ()),
        seed=data.get("seed"),
    )


def baseline_document(
    *,
    model: str,
    model_identity: Mapping[str, Any],
    suite: tuple[str, ...],
    seed: int,
    metrics: Mapping[str, Any],
    cases: Mapping[str, bool],
) -> dict[str, Any]:
    return {
        "format": BASELINE_FORMAT,
        "model": model,
        "model_identity": dict(model_identity),
        "suite": list(suite),
        "seed": seed,
        "metrics": dict(metrics),
        "cases": {key: cases[key] for key in sorted(cases)},
    }


def write_baseline(path: Path, document: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(BaselineExtension().serialize_baseline(document), encoding="utf-8")
    tmp.replace(path)


@dataclass(frozen=True)
class GateResult:
    """The session-level verdict against a baseline."""

    comparison: PairedComparison
    alpha: float
    tolerance: float

    @property
    def failed(self) -> bool:
        c = self.comparison
        return not math.isnan(c.p_value) and c.p_value < self.alpha and c.rer_drop > self.tolerance

    def describe(self) -> str:
        c = self.comparison
        verdict = "FAILED" if self.failed else "passed"
        return (
            f"baseline gate {verdict}: RER {c.rer_baseline:.3f} -> {c.rer_current:.3f} on "
            f"{c.n_common} shared items (lost {c.lost}, gained {c.gained}; exact McNemar "
            f"p={c.p_value:.4g}, alpha={self.alpha}, tolerance={self.tolerance})"
        )


def gate(
    baseline: Baseline, current: Mapping[str, bool], alpha: float, tolerance: float
) -> GateResult:
    """Compare cross-modal consistency now against the baseline, item by item."""
    return GateResult(compare_runs(baseline.item_cases(), current), alpha, tolerance)
