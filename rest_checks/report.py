"""Results of a run: the JSON document (schema in the README) and the terminal summary."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rest_checks.baselines import Baseline, GateResult, baseline_document
from rest_checks.config import RestSettings
from rest_checks.metrics import summarize, wilson_interval
from rest_checks.modalities import ANSWER_MODALITIES
from rest_checks.records import CaseRecord

RESULTS_FORMAT = 1


def _item_json(record: CaseRecord) -> dict[str, Any]:
    outcome = record.outcome()
    return {
        "id": record.item_id,
        "task": record.task,
        "expected": record.expected,
        "answers": {m: record.answers.get(m) for m in ANSWER_MODALITIES},
        "correct": dict(outcome.correct),
        "consistent": record.consistent,
        "ocr_cer": record.ocr_cer,
        "n_visual_tokens": record.n_visual_tokens,
        "raw": record.raw,
        **({"extra": record.extra} if record.extra else {}),
    }


def _rate(successes: int, n: int) -> dict[str, Any]:
    low, high = wilson_interval(successes, n)
    return {"value": successes / n if n else None, "k": successes, "n": n, "ci95": [low, high]}


def rest_plus_table(records: Sequence[CaseRecord]) -> dict[str, Any]:
    """RER per REST+ rendering variant, over the items that were perturbed."""
    by_variant: dict[str, list[CaseRecord]] = defaultdict(list)
    for record in records:
        if record.kind == "rest_plus":
            by_variant[record.variant].append(record)
    table = {}
    for variant in sorted(by_variant):
        rows = by_variant[variant]
        k = sum(r.consistent for r in rows)
        cers = [r.ocr_cer for r in rows if r.ocr_cer is not None]
        table[variant] = {
            **_rate(k, len(rows)),
            "rendering": rows[0].detail,
            # How legible the variant was: the OCR control's view of it.
            "ocr_cer": sum(cers) / len(cers) if cers else None,
            "n_ocr_perfect": sum(c == 0 for c in cers),
            "inconsistent": sorted(r.item_id for r in rows if not r.consistent),
        }
    return table


def invariance_table(records: Sequence[CaseRecord]) -> dict[str, Any]:
    rows = [r for r in records if r.kind == "invariance"]
    return {
        "n_items": len(rows),
        "n_invariant": sum(r.consistent for r in rows),
        "counterexamples": {r.item_id: r.detail for r in rows if not r.consistent},
    }


def build_results(
    *,
    settings: RestSettings,
    identity: dict[str, Any],
    records: Sequence[CaseRecord],
    model_calls: int,
    cache_hits: int,
    baseline: Baseline | None,
    gate_result: GateResult | None,
) -> dict[str, Any]:
    cross = [r for r in records if r.kind == "cross_modal"]
    summary = summarize([r.outcome() for r in cross]).to_json()
    regressions = []
    if baseline is not None and not settings.update_baseline:
        regressions = sorted(
            r.key for r in records if not r.consistent and baseline.consistent(r.key) is True
        )
    results: dict[str, Any] = {
        "format": RESULTS_FORMAT,
        "model": settings.model,
        "model_identity": identity,
        "suite": list(settings.suite),
        "seed": settings.seed,
        "n_items": len(cross),
        "metrics": summary,
        "rest_plus": rest_plus_table(records),
        "invariance": invariance_table(records),
        "calls": {"model": model_calls, "cache": cache_hits},
        "baseline": {
            "path": str(settings.baseline_path),
            "present": baseline is not None,
            "regressions": regressions,
            "gate": None
            if gate_result is None
            else {
                "failed": gate_result.failed,
                "alpha": gate_result.alpha,
                "tolerance": gate_result.tolerance,
                **gate_result.comparison.to_json(),
            },
        },
        "items": [_item_json(r) for r in cross],
        "cases": {r.key: r.consistent for r in records},
    }
    return results


def baseline_from_results(
    results: dict[str, Any], previous: Baseline | None = None
) -> dict[str, Any]:
    """The baseline a run writes: its metrics, and its cases over the previous ones."""
    cases = {**(previous.cases if previous else {}), **results["cases"]}
    return baseline_document(
        model=results["model"],
        model_identity=results["model_identity"],
        suite=tuple(results["suite"]),
        seed=results["seed"],
        metrics=results["metrics"],
        cases=cases,
    )


def write_results(path: Path, results: dict[str, Any]) -> None:
    """Write atomically, so an interrupted write never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2, sort_keys=False, default=str)
        handle.write("\n")
    os.replace(tmp, path)


def _pct(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "  n/a"
    return f"{100 * float(value):5.1f}%"


def format_summary(results: dict[str, Any]) -> list[str]:
    m = results["metrics"]
    lines = [
        f"model {results['model']}  items {results['n_items']}  seed {results['seed']}  "
        f"calls {results['calls']['model']} (cached {results['calls']['cache']})",
    ]

    def row(name: str, key: str, sub: str | None = None) -> str:
        value, counts, interval = m[key], m["counts"][key], m["intervals"][key]
        if sub is not None:
            value, counts, interval = value[sub], counts[sub], interval[sub]
        low, high = interval
        return f"  {name:<18}{_pct(value)}  [{_pct(low)}, {_pct(high)}]  ({counts[0]}/{counts[1]})"

    lines.append(row("RER", "rer"))
    lines.append(row("CFR", "cfr"))
    lines.append(row("MMC", "mmc"))
    for modality in ANSWER_MODALITIES:
        lines.append(row(f"accuracy {modality}", "accuracy", modality))
    for pair in m["agreement"]:
        lines.append(row(f"agree {pair}", "agreement", pair))
    if m.get("ocr_cer") is not None:
        lines.append(
            f"  OCR control       mean CER {m['ocr_cer']:.3f}; OCR-perfect "
            f"{m['n_ocr_perfect']}/{m['n_ocr']} items, RER on them {_pct(m['rer_ocr_perfect'])}"
        )
    if results["rest_plus"]:
        lines.append("  REST+ RER per rendering:                       OCR CER")
        for variant, stat in results["rest_plus"].items():
            cer = "  n/a" if stat["ocr_cer"] is None else f"{stat['ocr_cer']:.3f}"
            lines.append(
                f"    {variant:<24}{_pct(stat['value'])}  ({stat['k']}/{stat['n']}){'':>10}{cer}"
            )
    inv = results["invariance"]
    if inv["n_items"]:
        lines.append(
            f"  render invariance (Hypothesis): {inv['n_invariant']}/{inv['n_items']} items "
            "kept their answer under every rendering tried"
        )
        for item_id, detail in inv["counterexamples"].items():
            lines.append(f"    {item_id}: {detail}")
    base = results["baseline"]
    if base["regressions"]:
        lines.append(f"  regressions against the baseline: {', '.join(base['regressions'])}")
    if base["gate"] is not None:
        g = base["gate"]
        verdict = "FAILED" if g["failed"] else "passed"
        lines.append(
            f"  baseline gate {verdict}: RER {_pct(g['rer_baseline'])} -> {_pct(g['rer_current'])}"
            f" on {g['n_common']} shared items, lost {g['lost']}, gained {g['gained']}, "
            f"exact McNemar p={g['p_value']:.4g} (alpha {g['alpha']}, tolerance {g['tolerance']})"
        )
    elif not base["present"]:
        lines.append(f"  no baseline at {base['path']}: write one with --snapshot-update")
    return lines
