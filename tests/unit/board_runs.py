"""Runs of mock models on the same items, written as results files: what the leaderboard's
tests rank."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rest_checks.config import RestSettings
from rest_checks.items.suites import load_suite
from rest_checks.models.base import Model
from rest_checks.models.mock import MockModel
from rest_checks.run import RestRun

N = 12  # items per task source: 24 in all


def run_model(folder: Path, name: str, model: Model, **settings: Any) -> Path:
    """Run every cross-modal case of arith and mcq with ``model``; the results file."""
    values: dict[str, Any] = {
        "rest_model": "mock:oracle",
        "rest_suite": ("arith", "mcq"),
        "rest_n": N,
        "rest_no_cache": True,
        "rest_json": f"{name}.json",
        "rest_baselines_dir": "no-baselines",
    }
    values.update(settings)
    run = RestRun(RestSettings.from_values(values, folder), model)
    for item in run.items():
        run.cross_modal(item)
    run.finish()
    return folder / f"{name}.json"


def broken(n: int) -> MockModel:
    """Inconsistent on the first ``n`` items of each task source, the oracle elsewhere."""
    items = load_suite(("arith", "mcq"), N, 0)
    ids = {
        item.id for task in ("arith", "mcq") for item in [i for i in items if i.task == task][:n]
    }
    return MockModel("text-only", only_items=ids)


def write_board_runs(folder: Path) -> Path:
    """Four runs in ``folder``: two oracles, one broken on 2 items, one on 16."""
    run_model(folder, "oracle", MockModel("oracle"))
    run_model(folder, "oracle-again", MockModel("oracle"))
    run_model(folder, "slightly-worse", broken(1))  # 2 items lost: not shown
    run_model(folder, "much-worse", broken(8))  # 16 items lost: shown
    return folder


def add_probe(folder: Path) -> None:
    """Give every run in ``folder`` a representation probe whose last-layer cosine rises
    with the run's RER (a planted relation), as ``--rest-probe`` records it."""
    for path in sorted(folder.glob("*.json")):
        results = json.loads(path.read_text(encoding="utf-8"))
        cosine = 0.2 + 0.6 * results["metrics"]["rer"] + 0.001 * len(path.stem)
        for item in results["items"]:
            image = item.setdefault("extra", {}).setdefault("image", {})
            image["probe"] = {"layer_cosine": [0.99, cosine]}
        path.write_text(json.dumps(results), encoding="utf-8")
