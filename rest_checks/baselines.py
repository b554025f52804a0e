"""Per-model baselines: what was consistent last time, and the gate against it.

A baseline is one JSON file per model under ``baselines/``. It records what its cases
depend on (the run's signature: seed, task sources with the content hash of every item
file, the Hypothesis profile), the model's identity, the aggregate metrics, and for every
case whether it was consistent and a fingerprint of its content (item and rendering). A
case is matched by key *and* fingerprint: a baseline of other items is refused, never used.

It is written through a syrupy extension (syrupy's JSON serialiser, with keys in a stable
order), and ``--snapshot-update``, syrupy's flag, is how a user accepts the current
results. The metrics block is compact, one line per metric with numbers rounded to
``METRIC_DIGITS`` digits, so that one flipped case changes a few lines of a pull request's
diff rather than dozens. It is not a syrupy snapshot: one baseline holds the aggregate of a
whole run (across xdist workers), which only the controller has at the end of the session, while
syrupy's ``snapshot`` fixture asserts one value per test.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from syrupy.extensions.json import JSONSnapshotExtension

from rest_checks.atomic import write_atomic
from rest_checks.metrics import PairedComparison, compare_runs, minimum_detectable_drop

if TYPE_CHECKING:
    from rest_checks.config import RestSettings

BASELINE_FORMAT = 2
# Digits after the point of the numbers in a baseline's metrics block.
METRIC_DIGITS = 4
# Lost and gained cases named in a message; the rest are counted.
NAMED_CASES = 20

Verdict = Literal["passed", "failed", "inconclusive"]


class BaselineError(ValueError):
    """A baseline file cannot be used; the message names the file and the problem."""


class BaselineMismatch(BaselineError):
    """The baseline records other items, settings or another model than this run."""


class BaselineExtension(JSONSnapshotExtension):
    """syrupy's JSON serialiser, with keys in a stable order and one file per model; the
    metrics block goes in compact (``compact_metrics``)."""

    file_extension = "json"

    def serialize_baseline(self, data: Mapping[str, Any]) -> str:
        if "metrics" not in data:
            return str(self.serialize(dict(data)))
        slot = "<metrics>"
        text = str(self.serialize({**data, "metrics": slot}))
        compact = compact_metrics(data["metrics"], level=1)
        return text.replace(f'"metrics": "{slot}"', f'"metrics": {compact}', 1)


def _rounded(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value):
        return round(value, METRIC_DIGITS)
    if isinstance(value, Mapping):
        return {key: _rounded(v) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return value


def _one_line(value: Any) -> bool:
    """A metric's value fits one line: a number, or numbers by name or in a list (a
    count, an interval), but no table of such."""
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, list):
        return all(
            not isinstance(v, Mapping) and (not isinstance(v, list) or _one_line(v)) for v in value
        )
    return True


def compact_metrics(metrics: Mapping[str, Any], level: int = 0, indent: int = 2) -> str:
    """``metrics`` as JSON with one line per metric (``"accuracy": {"image": 0.9667, ...}``,
    ``"rer": [29, 30]``), keys sorted, numbers rounded to ``METRIC_DIGITS`` digits; a
    table of metrics (``counts``, ``intervals``) opens with one line per metric inside.
    ``level``: the indentation level the block starts at."""
    rounded = _rounded(metrics)

    def dump(value: Any, depth: int) -> str:
        if not isinstance(value, Mapping) or (_one_line(value) and depth > level):
            return json.dumps(value, ensure_ascii=False, sort_keys=True)
        if not value:
            return "{}"
        pad = " " * indent * (depth + 1)
        rows = [f"{pad}{json.dumps(key)}: {dump(value[key], depth + 1)}" for key in sorted(value)]
        return "{\n" + ",\n".join(rows) + "\n" + " " * indent * depth + "}"

    return dump(rounded, level)


@dataclass(frozen=True)
class Baseline:
    """A model's accepted behaviour: case key -> consistent (and fingerprint), plus the
    metrics, model and signature it came with."""

    path: Path
    model: str
    model_identity: dict[str, Any]
    cases: dict[str, bool]
    metrics: dict[str, Any] = field(default_factory=dict)
    suite: tuple[str, ...] = ()
    seed: int | None = None
    fingerprints: dict[str, str] = field(default_factory=dict)
    signature: dict[str, Any] = field(default_factory=dict)

    def consistent(self, key: str) -> bool | None:
        """True/False as recorded, None for a case the baseline has never seen."""
        return self.cases.get(key)

    def item_cases(self) -> dict[str, bool]:
        """The cross-modal cases only (keys without a rendering), which RER is computed on."""
        return {key: value for key, value in self.cases.items() if "@" not in key}


# --- the run's signature -----------------------------------------------------------------


def _file_sha256(path: str) -> str:
    """The content hash of an item file, or of a directory's files (names and bytes)."""
    source = Path(path)
    if not source.is_dir():
        return hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    digest = hashlib.sha256()
    for file in sorted(p for p in source.iterdir() if p.is_file()):
        digest.update(file.name.encode() + b"\0" + hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()[:16]


def run_signature(settings: RestSettings, hypothesis_profile: str = "") -> dict[str, Any]:
    """What a run's cases depend on besides the model: the seed, the task sources (an item
    file by its name and content hash, never by its path), and, when REST+ runs the
    Hypothesis check, the profile that draws its renderings."""
    sources = []
    for name, resolved in zip(settings.suite, settings.suite_sources(), strict=True):
        if name == resolved:
            sources.append(name)
        else:
            sources.append(f"file:{Path(resolved).name}:{_file_sha256(resolved)}")
    signature: dict[str, Any] = {"seed": settings.seed, "sources": sources}
    if settings.plus:
        signature["hypothesis_profile"] = hypothesis_profile
    return signature


def check_compatible(
    baseline: Baseline,
    *,
    signature: Mapping[str, Any],
    fingerprints: Mapping[str, str],
    identity: Mapping[str, Any],
    model: str,
    explicit: bool,
) -> None:
    """Raise ``BaselineMismatch`` unless ``baseline`` can judge this run's cases.

    Refused: another seed, a task source the baseline does not have, another Hypothesis
    profile, a case whose content differs from the baseline's under the same key, and
    (unless the baseline was named with ``--rest-baseline``) another model identity.
    """
    problems: list[str] = []
    ways_out = "write a new baseline with --snapshot-update"
    theirs = baseline.signature
    if theirs.get("seed") != signature.get("seed"):
        problems.append(f"seed {signature.get('seed')} here, {theirs.get('seed')} in the baseline")
        ways_out += f", or run with --rest-seed {theirs.get('seed')}"
    missing = [s for s in signature.get("sources", []) if s not in theirs.get("sources", [])]
    if missing:
        problems.append(
            f"task source(s) {', '.join(missing)} not in the baseline's suite "
            f"({', '.join(theirs.get('sources', [])) or 'none'})"
        )
        ways_out += ", or run with the baseline's --rest-suite"
    profile = signature.get("hypothesis_profile")
    if profile is not None and theirs.get("hypothesis_profile") not in (None, profile):
        problems.append(
            f"Hypothesis profile {profile!r} here, "
            f"{theirs.get('hypothesis_profile')!r} in the baseline"
        )
        ways_out += f", or run with --hypothesis-profile {theirs.get('hypothesis_profile')}"
    differing = sorted(
        key
        for key, print_ in fingerprints.items()
        if key in baseline.fingerprints and baseline.fingerprints[key] != print_
    )
    if differing:
        problems.append(
            f"{len(differing)} case(s) ask other content than the baseline's cases of the "
            f"same name: {_named(differing)}"
        )
    if not explicit and dict(identity) != baseline.model_identity:
        problems.append(
            f"the baseline was written by model {baseline.model!r} with identity "
            f"{json.dumps(baseline.model_identity, sort_keys=True)}, this run is "
            f"{model!r} with identity {json.dumps(dict(identity), sort_keys=True)} "
            "(name it with --rest-baseline to compare against it on purpose)"
        )
    if problems:
        raise BaselineMismatch(
            f"{baseline.path}: this baseline does not match the run, so no case is judged "
            "against it:\n  - " + "\n  - ".join(problems) + f"\n  Either {ways_out}."
        )


def _named(keys: Iterable[str]) -> str:
    keys = list(keys)
    shown = ", ".join(keys[:NAMED_CASES])
    return shown + (f" and {len(keys) - NAMED_CASES} more" if len(keys) > NAMED_CASES else "")


# --- reading and writing -------------------------------------------------------------------


def _field(path: Path, data: Mapping[str, Any], name: str, kind: type, default: Any) -> Any:
    value = data.get(name, default)
    if value is None and default is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BaselineError(
            f"{path}: field {name!r} must be a {kind.__name__}, not {type(value).__name__}"
        )
    return value


def load_baseline(path: Path) -> Baseline | None:
    """Read and validate a baseline; None when the file does not exist. Every defect is
    a ``BaselineError`` naming the file and the field."""
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
    cases: dict[str, bool] = {}
    fingerprints: dict[str, str] = {}
    for key, entry in data["cases"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("consistent"), bool):
            raise BaselineError(f"{path}: case {key!r} must be a table with consistent true/false")
        if not isinstance(entry.get("fingerprint"), str):
            raise BaselineError(f"{path}: case {key!r} has no fingerprint string")
        cases[key] = entry["consistent"]
        fingerprints[key] = entry["fingerprint"]
    suite = _field(path, data, "suite", list, [])
    if not all(isinstance(s, str) for s in suite):
        raise BaselineError(f"{path}: field 'suite' must be a list of strings")
    return Baseline(
        path=path,
        model=_field(path, data, "model", str, ""),
        model_identity=_field(path, data, "model_identity", dict, {}),
        cases=cases,
        metrics=_field(path, data, "metrics", dict, {}),
        suite=tuple(suite),
        seed=_field(path, data, "seed", int, None),
        fingerprints=fingerprints,
        signature=_field(path, data, "signature", dict, {}),
    )


def baseline_document(
    *,
    model: str,
    model_identity: Mapping[str, Any],
    suite: tuple[str, ...],
    seed: int,
    metrics: Mapping[str, Any],
    cases: Mapping[str, bool],
    fingerprints: Mapping[str, str],
    signature: Mapping[str, Any],
) -> dict[str, Any]:
    return {
        "format": BASELINE_FORMAT,
        "model": model,
        "model_identity": dict(model_identity),
        "suite": list(suite),
        "seed": seed,
        "signature": dict(signature),
        "metrics": dict(metrics),
        "cases": {
            key: {"consistent": cases[key], "fingerprint": fingerprints[key]}
            for key in sorted(cases)
        },
    }


def write_baseline(path: Path, document: Mapping[str, Any]) -> None:
    write_atomic(path, BaselineExtension().serialize_baseline(document))


# --- the gate ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskGate:
    """The gate on one task source's items, at a Holm-adjusted significance level."""

    task: str
    comparison: PairedComparison
    alpha: float
    detectable_drop: float
    verdict: Verdict


@dataclass(frozen=True)
class GateResult:
    """The session-level verdict against a baseline.

    ``failed``: the pooled drop in RER, or one task source's drop, is significant (exact
    two-sided McNemar below ``alpha``; per task at Holm's adjusted level) and larger than
    ``tolerance``. ``inconclusive``: not failed, but the run is too small to detect a drop
    of ``tolerance`` (``detectable_drop`` above it). ``passed`` otherwise.
    """

    comparison: PairedComparison
    alpha: float
    tolerance: float
    detectable_drop: float
    verdict: Verdict
    by_task: tuple[TaskGate, ...] = ()

    @property
    def failed(self) -> bool:
        return self.verdict == "failed"

    def regressed_tasks(self) -> list[str]:
        return [t.task for t in self.by_task if t.verdict == "failed"]

    def describe(self) -> str:
        c = self.comparison
        return (
            f"baseline gate {self.verdict.upper()}: RER {c.rer_baseline:.3f} -> "
            f"{c.rer_current:.3f} on {c.n_common} shared items (lost {c.lost}, gained "
            f"{c.gained}; exact McNemar p={c.p_value:.4g}, alpha={self.alpha}, tolerance="
            f"{self.tolerance}; smallest detectable drop {_pct(self.detectable_drop)})"
        )


def _pct(share: float) -> str:
    return "none" if math.isinf(share) else f"{100 * share:.1f} points"


def _significant_drop(c: PairedComparison, alpha: float, tolerance: float) -> bool:
    return not math.isnan(c.p_value) and c.p_value < alpha and c.rer_drop > tolerance


def _detectable(n: int, alpha: float) -> float:
    # Two-sided exact test: below alpha exactly when the one-sided test is below alpha / 2.
    return minimum_detectable_drop(n, alpha / 2) if n else math.inf


def gate(
    baseline: Baseline,
    current: Mapping[str, bool],
    alpha: float,
    tolerance: float,
    tasks: Mapping[str, str] | None = None,
) -> GateResult:
    """Compare cross-modal consistency now (case key -> consistent) against the baseline,
    item by item, pooled and per task source (``tasks``: case key -> task)."""
    comparison = compare_runs(baseline.item_cases(), current)
    by_task: list[TaskGate] = []
    if tasks:
        names = sorted(set(tasks.values()))
        comparisons = {
            task: compare_runs(
                baseline.item_cases(), {k: v for k, v in current.items() if tasks.get(k) == task}
            )
            for task in names
        }
        # Holm: the smallest p-value is tested at alpha/m, the next at alpha/(m-1), ...;
        # once one is not significant, none after it is.
        order = sorted(names, key=lambda t: comparisons[t].p_value)
        stopped = False
        levels: dict[str, float] = {}
        significant: dict[str, bool] = {}
        for rank, task in enumerate(order):
            levels[task] = alpha / (len(order) - rank)
            c = comparisons[task]
            significant[task] = not stopped and _significant_drop(c, levels[task], tolerance)
            stopped = stopped or not (not math.isnan(c.p_value) and c.p_value < levels[task])
        for task in names:
            c = comparisons[task]
            detectable = _detectable(c.n_common, alpha / len(names))
            verdict: Verdict = (
                "failed"
                if significant[task]
                else "inconclusive"
                if detectable > tolerance
                else "passed"
            )
            by_task.append(TaskGate(task, c, levels[task], detectable, verdict))
    detectable = _detectable(comparison.n_common, alpha)
    if _significant_drop(comparison, alpha, tolerance) or any(
        t.verdict == "failed" for t in by_task
    ):
        overall: Verdict = "failed"
    elif detectable > tolerance:
        overall = "inconclusive"
    else:
        overall = "passed"
    return GateResult(comparison, alpha, tolerance, detectable, overall, tuple(by_task))
