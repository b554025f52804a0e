"""Results of a run: the JSON document (docs/results-format.md) and the terminal summary."""

from __future__ import annotations

import itertools
import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rest_checks.atomic import write_atomic
from rest_checks.baselines import Baseline, GateResult, baseline_document, identity_differences
from rest_checks.case_rows import CaseVerdict, case_verdict
from rest_checks.config import RestSettings
from rest_checks.diagnosis import Diagnosis
from rest_checks.diagnosis_text import diagnosis_line
from rest_checks.metrics import Proportion, mean_ocr_cer, ocr_perfect, rer_counts, summarize
from rest_checks.modalities import ANSWER_MODALITIES
from rest_checks.model_gateway import describe_calls
from rest_checks.parity import parity_line, parity_table
from rest_checks.records import CaseRecord
from rest_checks.reply_outcomes import outcome_counts, outcome_phrases
from rest_checks.token_usage import usage_lines, usage_table
from rest_checks.verdict_text import NAMED, gate_lines, named, task_line

# 2: the gate's confidence bound and coverage, the run's coverage.
RESULTS_FORMAT = 2


def _case_identity(record: CaseRecord, subject: str | None = None) -> dict[str, Any]:
    """What names a case in the results: its item, task, rendering and expected answer."""
    return {
        "id": record.item_id,
        "key": record.key,
        "task": record.task,
        **({"subject": subject} if subject else {}),
        "rendering": record.rendering,
        "rendering_detail": record.detail,
        "expected": record.expected,
    }


def _item_json(
    record: CaseRecord, verdict: CaseVerdict, subject: str | None = None
) -> dict[str, Any]:
    outcome = record.outcome()
    return {
        **_case_identity(record, subject),
        "answers": {m: record.answers.get(m) for m in ANSWER_MODALITIES},
        # The rule that read each answer, or why there is none ("ambiguous", "truncated").
        "rules": {m: record.rules.get(m) for m in ANSWER_MODALITIES},
        "correct": dict(outcome.correct),
        "consistent": record.consistent,
        "verdict": verdict,
        "ocr_cer": record.ocr_cer,
        "n_visual_tokens": record.n_visual_tokens,
        "raw": record.raw,
        # Of a failed case: the pages the model saw (PNG paths) and the prompts it got.
        **({"images": record.images, "prompts": record.prompts} if record.images else {}),
        **({"extra": record.extra} if record.extra else {}),
    }


def _rate(proportion: Proportion) -> dict[str, Any]:
    """A rate as the results JSON writes it: value (None for 0/0), k, n and its 95% CI."""
    value = proportion.value
    return {
        "value": None if math.isnan(value) else value,
        "k": proportion.successes,
        "n": proportion.n,
        "ci95": list(proportion.interval),
    }


def rest_plus_table(records: Sequence[CaseRecord]) -> dict[str, Any]:
    """RER per REST+ rendering, over the items that were perturbed."""
    by_rendering: dict[str, list[CaseRecord]] = defaultdict(list)
    for record in records:
        if record.kind == "rest_plus":
            by_rendering[record.rendering].append(record)
    table = {}
    for rendering in sorted(by_rendering):
        rows = by_rendering[rendering]
        outcomes = [r.outcome() for r in rows]
        cer = mean_ocr_cer(outcomes)
        table[rendering] = {
            **_rate(Proportion.of(rer_counts(outcomes))),
            "rendering": rows[0].detail,
            # How legible the rendering was: the OCR control's view of it.
            "ocr_cer": None if math.isnan(cer) else cer,
            "n_ocr_perfect": len(ocr_perfect(outcomes)),
            "inconsistent": sorted(o.id for o in outcomes if not o.consistent),
        }
    return table


def invariance_table(records: Sequence[CaseRecord]) -> dict[str, Any]:
    rows = [r for r in records if r.kind == "invariance"]
    failed = [r for r in rows if not r.consistent]
    return {
        "n_items": len(rows),
        "n_invariant": sum(r.consistent for r in rows),
        "counterexamples": {r.item_id: r.detail for r in failed},
        # The page of each counterexample (the simplest failing rendering), as a PNG path.
        "pages": {r.item_id: r.images["image"] for r in failed if "image" in r.images},
    }


def _error_json(record: CaseRecord) -> dict[str, Any]:
    return {
        **_case_identity(record),
        "modality": record.error_modality,
        "message": record.error,
    }


def _gate_json(gate_result: GateResult) -> dict[str, Any]:
    covered = gate_result.coverage
    return {
        "verdict": gate_result.verdict,
        "failed": gate_result.failed,
        "alpha": gate_result.alpha,
        "tolerance": gate_result.tolerance,
        # The one-sided (1 - alpha) upper confidence bound of the paired RER drop: also the
        # smallest tolerance at which this run would pass.
        "upper_bound": gate_result.upper_bound,
        "items_to_decide": gate_result.items_to_decide,
        # A sequential run (--rest-sequential): items asked, the bound at the stop, and
        # the requests the items not asked would have made.
        "sequential": None if gate_result.sequential is None else gate_result.sequential.to_json(),
        "coverage": {**covered.to_json(), "describe": covered.describe()},
        **gate_result.comparison.to_json(),
        "by_task": {
            t.task: {
                "verdict": t.verdict,
                "alpha": t.alpha,
                "bound_alpha": t.bound_alpha,
                "upper_bound": t.upper_bound,
                **t.comparison.to_json(),
            }
            for t in gate_result.by_task
        },
    }


def _settings_json(settings: RestSettings) -> dict[str, Any]:
    """The settings that shape the verdicts, for a report to show (never a secret)."""
    return {
        "n": settings.n,
        "plus": settings.plus,
        "plus_n": settings.plus_n,
        "require_correct": settings.require_correct,
        "alpha": settings.alpha,
        "tolerance": settings.tolerance,
        "allow_errors": settings.allow_errors,
        "fail_inconclusive": settings.fail_inconclusive,
        "sequential": settings.sequential,
        "extract": settings.extract,
    }


def build_results(
    *,
    settings: RestSettings,
    identity: dict[str, Any],
    records: Sequence[CaseRecord],
    calls: Mapping[str, int],
    baseline: Baseline | None,
    gate_result: GateResult | None,
    diagnosis: Diagnosis | None = None,
    prices: Mapping[str, float] | None = None,
    baseline_explicit: bool = False,
    signature: dict[str, Any] | None = None,
    complete: bool = True,
    coverage: Mapping[str, Any] | None = None,
    sources: Sequence[Mapping[str, Any]] = (),
    subjects: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The results document. Errored cases (no reply) are listed under ``errors`` and
    kept out of every rate, table and case list. ``complete`` is true only for a whole
    run: every case of the configuration answered and nothing stopped it (``coverage``
    says what was not); otherwise its figures cover part of the suite. ``sources``: what
    each item file gave (``LoadResult.to_json``); ``subjects``:
    item id -> subject, where a file says."""
    errored = [r for r in records if r.error is not None]
    answered = [r for r in records if r.error is None]
    cross = [r for r in answered if r.kind == "cross_modal"]
    summary = summarize([r.outcome() for r in cross]).to_json()
    verdicts = {
        r.key: case_verdict(
            r.consistent,
            r.error is not None,
            None if baseline is None else baseline.consistent(r.key),
            settings.update_baseline,
        )
        for r in records
    }
    regressions = sorted(key for key, verdict in verdicts.items() if verdict == "regression")
    results: dict[str, Any] = {
        "format": RESULTS_FORMAT,
        "complete": complete,
        "coverage": dict(coverage) if coverage is not None else None,
        "model": settings.model,
        "model_identity": identity,
        "suite": list(settings.suite),
        "seed": settings.seed,
        "signature": signature or {},
        "extract": settings.extract,
        "settings": _settings_json(settings),
        "n_items": len(cross),
        "sources": [dict(source) for source in sources],
        "metrics": summary,
        "errors": [_error_json(r) for r in errored],
        "rest_plus": rest_plus_table(answered),
        "invariance": invariance_table(answered),
        # Sent, from the disk cache, read back, retried, failed (CallCounter.to_json).
        "calls": dict(calls),
        # Tokens per modality from the replies' usage, and the cost (docs/token-usage.md).
        "usage": usage_table(answered, prices),
        # Accuracy against visual tokens on the --rest-parity ladder (docs/parity.md).
        "parity": parity_table(answered),
        "baseline": {
            "path": str(settings.baseline_path),
            "present": baseline is not None,
            "explicit": baseline_explicit,
            "updating": settings.update_baseline,
            "model": None if baseline is None else baseline.model,
            "model_identity": None if baseline is None else baseline.model_identity,
            "identity_differences": (
                [] if baseline is None else identity_differences(identity, baseline.model_identity)
            ),
            "regressions": regressions,
            "gate": None if gate_result is None else _gate_json(gate_result),
            # Where the gate's lost cases lie, by factor level (docs/diagnosis.md).
            "diagnosis": None if diagnosis is None else diagnosis.to_json(),
        },
        "items": [_item_json(r, verdicts[r.key], (subjects or {}).get(r.item_id)) for r in cross],
        # Per modality, the replies cut by their budget and the ambiguous ones.
        "outcomes": outcome_counts(({"rules": r.rules} for r in answered), ANSWER_MODALITIES),
        "rest_plus_items": [
            _item_json(r, verdicts[r.key]) for r in answered if r.kind == "rest_plus"
        ],
        "cases": {r.key: r.consistent for r in answered},
        "fingerprints": {r.key: r.fingerprint for r in answered},
    }
    return results


def baseline_from_results(results: dict[str, Any]) -> dict[str, Any]:
    """The baseline a whole run writes: its signature, metrics and every case."""
    return baseline_document(
        model=results["model"],
        model_identity=results["model_identity"],
        suite=tuple(results["suite"]),
        seed=results["seed"],
        metrics=results["metrics"],
        cases=results["cases"],
        fingerprints=results["fingerprints"],
        signature=results["signature"],
    )


def write_results(path: Path, results: dict[str, Any]) -> None:
    """Write atomically, so an interrupted write never leaves half a file."""
    # Encoded a piece at a time: a run of tens of thousands of cases is tens of megabytes.
    encoder = json.JSONEncoder(indent=2, sort_keys=False, default=str)
    write_atomic(path, itertools.chain(encoder.iterencode(results), ["\n"]))


def _pct(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "  n/a"
    return f"{100 * float(value):5.1f}%"


def _leading_lines(results: dict[str, Any]) -> list[str]:
    """What a reader must see first: errors, what did not run, the verdict."""
    lines = []
    errors = results["errors"]
    if errors:
        lines.append(
            f"ERRORS: {len(errors)} case(s) got no reply from the model and are in no rate: "
            + "; ".join(
                f"{e['key']} ({e['modality'] or 'request'}): {e['message']}" for e in errors[:NAMED]
            )
        )
    coverage = results.get("coverage") or {}
    if coverage.get("not_run"):
        lines.append(
            f"NOT RUN: {len(coverage['not_run'])} of the {coverage['cases']} cases of this "
            f"configuration: {named(coverage['not_run'])}"
        )
    lines.extend(gate_lines(results))
    return lines


def _source_line(source: Mapping[str, Any]) -> str:
    """``  items from mmlu.csv (mmlu-csv): kept 37, dropped 3 (too_long: 3)``."""
    dropped = source["dropped"]
    reasons = ", ".join(f"{k}: {v}" for k, v in dropped.items())
    line = (
        f"  items from {Path(source['path']).name} ({source['layout']}): kept {source['kept']}, "
        f"dropped {sum(dropped.values())}" + (f" ({reasons})" if reasons else "")
    )
    if source.get("control_chars_removed"):
        line += f"; {source['control_chars_removed']} control character(s) removed"
    if source.get("used", source["kept"]) < source["kept"]:
        line += f"; {source['used']} used (--rest-n)"
    return line


def format_summary(results: dict[str, Any]) -> list[str]:
    m = results["metrics"]
    lines = _leading_lines(results)
    lines.append(
        f"model {results['model']}  items {results['n_items']}  seed {results['seed']}  "
        f"calls: {describe_calls(results['calls'])}"
    )

    def row(name: str, key: str, sub: str | None = None) -> str:
        value, counts, interval = m[key], m["counts"][key], m["intervals"][key]
        if sub is not None:
            value, counts, interval = value[sub], counts[sub], interval[sub]
        low, high = interval
        return f"  {name:<18}{_pct(value)}  [{_pct(low)}, {_pct(high)}]  ({counts[0]}/{counts[1]})"

    for source in results.get("sources", []):
        lines.append(_source_line(source))
    lines.extend(f"  no answer, {p}" for p in outcome_phrases(results.get("outcomes") or {}))
    if results.get("usage"):
        lines.extend(f"  {line}" for line in usage_lines(results["usage"]))
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
        for rendering, stat in results["rest_plus"].items():
            cer = "  n/a" if stat["ocr_cer"] is None else f"{stat['ocr_cer']:.3f}"
            lines.append(
                f"    {rendering:<24}{_pct(stat['value'])}  ({stat['k']}/{stat['n']}){'':>10}{cer}"
            )
    if results.get("parity"):
        lines.append("  " + parity_line(results["parity"]))
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
        lines.append(f"  regressions against the baseline: {named(base['regressions'])}")
    gate = base["gate"]
    if gate is not None:
        if gate["lost_ids"]:
            lines.append(f"  lost {gate['lost']}: {named(gate['lost_ids'])}")
        if gate["gained_ids"]:
            lines.append(f"  gained {gate['gained']}: {named(gate['gained_ids'])}")
        for task, t in gate["by_task"].items():
            lines.append("  " + task_line(task, t))
        if base.get("diagnosis"):
            lines.append("  " + diagnosis_line(base["diagnosis"]))
    elif base.get("updating"):
        lines.append("  no gate: the baseline is being written by this run (--snapshot-update)")
    elif not base["present"]:
        lines.append(f"  no baseline at {base['path']}: write one with --snapshot-update")
    return lines
