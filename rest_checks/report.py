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
from rest_checks.baseline_document import BaselineDocument
from rest_checks.baselines import (
    Baseline,
    Coverage,
    GateResult,
    TaskGate,
    baseline_document,
    identity_differences,
)
from rest_checks.case_rows import case_verdict
from rest_checks.config import RestSettings
from rest_checks.diagnosis import Diagnosis
from rest_checks.diagnosis_text import diagnosis_line
from rest_checks.metrics import Proportion, mean_ocr_cer, ocr_perfect, rer_counts, summarize
from rest_checks.modalities import ANSWER_MODALITIES
from rest_checks.model_gateway import describe_calls
from rest_checks.parity import parity_line, parity_table
from rest_checks.rates_text import agreement_rates, headline_rates
from rest_checks.records import CaseRecord
from rest_checks.reply_outcomes import outcome_counts, outcome_phrases
from rest_checks.results_document import (
    RESULTS_FORMAT,
    BaselineBlock,
    BaselineSource,
    Calls,
    CaseIdentity,
    CaseVerdict,
    Error,
    Gate,
    GateCoverage,
    Invariance,
    Item,
    Metrics,
    Rate,
    RestPlusRendering,
    ResultsDocument,
    RunCoverage,
    Settings,
    Source,
)
from rest_checks.results_document import TaskGate as TaskGateBlock
from rest_checks.token_usage import usage_lines, usage_table
from rest_checks.verdict_text import gate_lines, task_line
from rest_checks.wording import NAMED, named, pct


def _case_identity(record: CaseRecord, subject: str | None = None) -> CaseIdentity:
    """What names a case in the results: its item, task, rendering and expected answer."""
    identity: CaseIdentity = {
        "id": record.item_id,
        "key": record.key,
        "task": record.task,
        "rendering": record.rendering,
        "rendering_detail": record.detail,
        "expected": record.expected,
    }
    if subject:
        identity["subject"] = subject
    return identity


def _item_json(record: CaseRecord, verdict: CaseVerdict, subject: str | None = None) -> Item:
    outcome = record.outcome()
    item: Item = {
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
    }
    if record.images:  # of a failed case: the pages the model saw and the prompts it got
        item["images"], item["prompts"] = record.images, record.prompts
    if record.extra:
        item["extra"] = record.extra
    return item


def _rate(proportion: Proportion) -> Rate:
    """A rate as the results JSON writes it: value (None for 0/0), k, n and its 95% CI."""
    value = proportion.value
    return {
        "value": None if math.isnan(value) else value,
        "k": proportion.successes,
        "n": proportion.n,
        "ci95": list(proportion.interval),
    }


def rest_plus_table(records: Sequence[CaseRecord]) -> dict[str, RestPlusRendering]:
    """RER per REST+ rendering, over the items that were perturbed."""
    by_rendering: dict[str, list[CaseRecord]] = defaultdict(list)
    for record in records:
        if record.kind == "rest_plus":
            by_rendering[record.rendering].append(record)
    table: dict[str, RestPlusRendering] = {}
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


def invariance_table(records: Sequence[CaseRecord]) -> Invariance:
    rows = [r for r in records if r.kind == "invariance"]
    failed = [r for r in rows if not r.consistent]
    return {
        "n_items": len(rows),
        "n_invariant": sum(r.consistent for r in rows),
        "counterexamples": {r.item_id: r.detail for r in failed},
        # The page of each counterexample (the simplest failing rendering), as a PNG path.
        "pages": {r.item_id: r.images["image"] for r in failed if "image" in r.images},
    }


def _error_json(record: CaseRecord) -> Error:
    return {
        **_case_identity(record),
        "modality": record.error_modality,
        "message": record.error or "",
    }


def _coverage_json(covered: Coverage) -> GateCoverage:
    return {**covered.to_json(), "describe": covered.describe()}


def _task_gate_json(t: TaskGate) -> TaskGateBlock:
    return {
        "verdict": t.verdict,
        "alpha": t.alpha,
        "bound_alpha": t.bound_alpha,
        "upper_bound": t.upper_bound,
        **t.comparison.to_json(),
    }


def _gate_json(gate_result: GateResult) -> Gate:
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
        "coverage": _coverage_json(gate_result.coverage),
        **gate_result.comparison.to_json(),
        "by_task": {t.task: _task_gate_json(t) for t in gate_result.by_task},
    }


def _settings_json(settings: RestSettings) -> Settings:
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


def _baseline_json(
    settings: RestSettings, identity: dict[str, Any], baseline: Baseline | None, explicit: bool
) -> BaselineSource:
    """Which baseline judged the run, or where one would be."""
    return {
        "path": str(settings.baseline_path),
        "present": baseline is not None,
        "explicit": explicit,
        "updating": settings.update_baseline,
        "model": None if baseline is None else baseline.model,
        "model_identity": None if baseline is None else baseline.model_identity,
        "identity_differences": (
            [] if baseline is None else identity_differences(identity, baseline.model_identity)
        ),
    }


# Long by its keyword parameters and the document's literal, one line per key: split, the
# document would be read in several places.
def build_results(
    *,
    settings: RestSettings,
    identity: dict[str, Any],
    records: Sequence[CaseRecord],
    calls: Calls,
    baseline: Baseline | None,
    gate_result: GateResult | None,
    diagnosis: Diagnosis | None = None,
    prices: Mapping[str, float] | None = None,
    baseline_explicit: bool = False,
    signature: dict[str, Any] | None = None,
    complete: bool = True,
    coverage: RunCoverage | None = None,
    sources: Sequence[Source] = (),
    subjects: Mapping[str, str] | None = None,
) -> ResultsDocument:
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
    results: ResultsDocument = {
        "format": RESULTS_FORMAT,
        "complete": complete,
        "coverage": coverage,
        "model": settings.model,
        "model_identity": identity,
        "suite": list(settings.suite),
        "seed": settings.seed,
        "signature": signature or {},
        "extract": settings.extract,
        "settings": _settings_json(settings),
        "n_items": len(cross),
        "sources": list(sources),
        "metrics": summary,
        "errors": [_error_json(r) for r in errored],
        "rest_plus": rest_plus_table(answered),
        "invariance": invariance_table(answered),
        # Sent, from the disk cache, read back, retried, failed (CallCounter.to_json).
        "calls": calls,
        # Tokens per modality from the replies' usage, and the cost (docs/token-usage.md).
        "usage": usage_table(answered, prices),
        # Accuracy against visual tokens on the --rest-parity ladder (docs/parity.md).
        "parity": parity_table(answered),
        "baseline": {
            **_baseline_json(settings, identity, baseline, baseline_explicit),
            "regressions": sorted(k for k, v in verdicts.items() if v == "regression"),
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


def baseline_from_results(results: ResultsDocument) -> BaselineDocument:
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


def write_results(path: Path, results: ResultsDocument) -> None:
    """Write atomically, so an interrupted write never leaves half a file."""
    # Encoded a piece at a time: a run of tens of thousands of cases is tens of megabytes.
    encoder = json.JSONEncoder(indent=2, sort_keys=False, default=str)
    write_atomic(path, itertools.chain(encoder.iterencode(results), ["\n"]))


def _leading_lines(results: ResultsDocument) -> list[str]:
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
    coverage = results["coverage"]
    if coverage is not None and coverage["not_run"]:
        lines.append(
            f"NOT RUN: {len(coverage['not_run'])} of the {coverage['cases']} cases of this "
            f"configuration: {named(coverage['not_run'])}"
        )
    lines.extend(gate_lines(results))
    return lines


def _source_line(source: Source) -> str:
    """``  items from mmlu.csv (mmlu-csv): kept 37, dropped 3 (too_long: 3)``."""
    dropped = source["dropped"]
    reasons = ", ".join(f"{k}: {v}" for k, v in dropped.items())
    line = (
        f"  items from {Path(source['path']).name} ({source['layout']}): kept {source['kept']}, "
        f"dropped {sum(dropped.values())}" + (f" ({reasons})" if reasons else "")
    )
    if source["control_chars_removed"]:
        line += f"; {source['control_chars_removed']} control character(s) removed"
    if source["used"] < source["kept"]:
        line += f"; {source['used']} used (--rest-n)"
    return line


def _rate_line(name: str, rate: Rate) -> str:
    low, high = rate["ci95"]
    return (
        f"  {name:<18}{pct(rate['value'], 6)}  [{pct(low, 6)}, {pct(high, 6)}]  "
        f"({rate['k']}/{rate['n']})"
    )


def _metrics_lines(m: Metrics) -> list[str]:
    """The headline rates, the modalities' agreement and the OCR control."""
    lines = [_rate_line(name, rate) for name, rate in headline_rates(m)]
    lines += [_rate_line(f"agree {pair}", rate) for pair, rate in agreement_rates(m)]
    if m["ocr_cer"] is not None:
        lines.append(
            f"  OCR control       mean CER {m['ocr_cer']:.3f}; OCR-perfect "
            f"{m['n_ocr_perfect']}/{m['n_ocr']} items, RER on them {pct(m['rer_ocr_perfect'])}"
        )
    return lines


def _rendering_lines(results: ResultsDocument) -> list[str]:
    """REST+ per rendering, the parity ladder, the Hypothesis check."""
    lines = []
    if results["rest_plus"]:
        lines.append("  REST+ RER per rendering:                       OCR CER")
        for rendering, stat in results["rest_plus"].items():
            cer = "  n/a" if stat["ocr_cer"] is None else f"{stat['ocr_cer']:.3f}"
            lines.append(
                f"    {rendering:<24}{pct(stat['value'], 6)}  ({stat['k']}/{stat['n']})"
                f"{'':>10}{cer}"
            )
    if results["parity"]:
        lines.append("  " + parity_line(results["parity"]))
    inv = results["invariance"]
    if inv["n_items"]:
        lines.append(
            f"  render invariance (Hypothesis): {inv['n_invariant']}/{inv['n_items']} items "
            "kept their answer under every rendering tried"
        )
        for item_id, detail in inv["counterexamples"].items():
            lines.append(f"    {item_id}: {detail}")
    return lines


def _baseline_lines(base: BaselineBlock) -> list[str]:
    """Regressions, lost and gained cases, the gate per task, where the loss is."""
    lines = []
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
        if base["diagnosis"]:
            lines.append("  " + diagnosis_line(base["diagnosis"]))
    elif base["updating"]:
        lines.append("  no gate: the baseline is being written by this run (--snapshot-update)")
    elif not base["present"]:
        lines.append(f"  no baseline at {base['path']}: write one with --snapshot-update")
    return lines


def format_summary(results: ResultsDocument) -> list[str]:
    lines = _leading_lines(results)
    lines.append(
        f"model {results['model']}  items {results['n_items']}  seed {results['seed']}  "
        f"calls: {describe_calls(results['calls'])}"
    )
    lines += [_source_line(source) for source in results["sources"]]
    lines += [f"  no answer, {p}" for p in outcome_phrases(results["outcomes"])]
    if results["usage"]:
        lines += [f"  {line}" for line in usage_lines(results["usage"])]
    lines += _metrics_lines(results["metrics"])
    lines += _rendering_lines(results)
    lines += _baseline_lines(results["baseline"])
    return lines
