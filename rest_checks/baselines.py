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
from rest_checks.baseline_document import BASELINE_FORMAT, BaselineDocument
from rest_checks.metrics import PairedComparison, compare_runs, holm_levels
from rest_checks.metrics.paired_bound import (
    drop_upper_bound,
    fails,
    items_to_decide,
    paired_verdict,
    shows_within,
)
from rest_checks.wording import named

if TYPE_CHECKING:
    from rest_checks.config import RestSettings
    from rest_checks.results_document import CoverageCounts, Metrics
    from rest_checks.sequential import SequentialDecision

# Digits after the point of the numbers in a baseline's metrics block.
METRIC_DIGITS = 4

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


def _prompt_texts_sha256() -> str:
    """A hash of every instruction text a request is built from (templates and the answer
    formats): changing one changes what the model is asked."""
    from rest_checks import prompts

    texts = {
        "text": prompts.TEXT_TEMPLATE,
        "image": prompts.IMAGE_TEMPLATE,
        "mixed": prompts.MIXED_TEMPLATE,
        "ocr": prompts.OCR_TEMPLATE,
        "reasoning": prompts._REASONING,
        "formats": prompts._FORMAT_BY_TYPE,
    }
    blob = json.dumps(texts, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]


def _answer_budgets(max_tokens: int | None) -> dict[str, int]:
    """The answer budget (max new tokens) of each task, and of any other task; ``all``
    where ``--rest-max-tokens`` sets one for every request."""
    from rest_checks import prompts

    if max_tokens is not None:
        return {"all": max_tokens}
    return {"default": prompts.DEFAULT_MAX_TOKENS, **prompts.MAX_TOKENS_BY_TASK}


def _font_hashes() -> dict[str, str]:
    from rest_checks.fonts import font_names, font_sha256

    return {name: font_sha256(name)[:16] for name in font_names()}


def run_signature(settings: RestSettings, hypothesis_profile: str = "") -> dict[str, Any]:
    """What a run's answers and their reading depend on besides the model: the seed, the
    task sources (an item file by its name and content hash, never by its path), how
    replies are read (extraction mode), what the model is asked (a hash of the prompt
    texts, the answer budgets), how pages are drawn (renderer version, font file hashes)
    and, when REST+ runs the Hypothesis check, the profile that draws its renderings."""
    from rest_checks.render.drawing import RENDERER_VERSION

    sources = []
    for name, resolved in zip(settings.suite, settings.suite_sources(), strict=True):
        if name == resolved:
            sources.append(name)
        else:
            sources.append(f"file:{Path(resolved).name}:{_file_sha256(resolved)}")
    signature: dict[str, Any] = {
        "seed": settings.seed,
        "sources": sources,
        "extract": settings.extract,
        "prompts": _prompt_texts_sha256(),
        "answer_budgets": _answer_budgets(settings.max_tokens),
        "renderer": RENDERER_VERSION,
        "fonts": _font_hashes(),
    }
    if settings.plus:
        signature["hypothesis_profile"] = hypothesis_profile
    return signature


# Fields of the signature that must be equal, with the way out when they are not: the
# option that restores the baseline's value, or None where only a new baseline helps
# (the field changed with rest-checks itself).
_MATCHED_FIELDS: dict[str, str | None] = {
    "seed": "--rest-seed {value}",
    "extract": "--rest-extract {value}",
    "prompts": None,
    "answer_budgets": None,
    "renderer": None,
    "fonts": None,
}


def _shown(value: Any) -> str:
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else str(value)


def identity_differences(here: Mapping[str, Any], there: Mapping[str, Any]) -> list[str]:
    """The fields in which two model identities differ, one phrase each:
    ``temperature 0.7 here, 0 in the baseline``."""
    differences = []
    for key in sorted(set(here) | set(there)):
        if here.get(key) != there.get(key):
            differences.append(
                f"{key} {_shown(here.get(key, '(unset)'))} here, "
                f"{_shown(there.get(key, '(unset)'))} in the baseline"
            )
    return differences


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

    Refused, each differing field named with the way out: a signature field that differs
    (seed, extraction mode, prompt texts, answer budgets, renderer, fonts), a task source
    the baseline does not have, another Hypothesis profile, a case whose content differs
    from the baseline's under the same key, and (unless the baseline was named with
    ``--rest-baseline``) another model identity. A baseline named on purpose is used
    across identities; the verdict then lists the differing fields.
    """
    problems, ways_out = _signature_problems(baseline.signature, signature)
    differing = sorted(
        key
        for key, print_ in fingerprints.items()
        if key in baseline.fingerprints and baseline.fingerprints[key] != print_
    )
    if differing:
        problems.append(
            f"{len(differing)} case(s) ask other content than the baseline's cases of the "
            f"same name: {named(differing)}"
        )
    if not explicit and dict(identity) != baseline.model_identity:
        problems.append(
            f"the baseline was written by model {baseline.model!r} with another identity "
            f"({'; '.join(identity_differences(identity, baseline.model_identity))}); this run "
            f"is {model!r} (name the file with --rest-baseline to compare against it on purpose)"
        )
    if problems:
        raise BaselineMismatch(
            f"{baseline.path}: this baseline does not match the run, so no case is judged "
            "against it:\n  - " + "\n  - ".join(problems) + f"\n  Either {', or '.join(ways_out)}."
        )


def _signature_problems(
    theirs: Mapping[str, Any], signature: Mapping[str, Any]
) -> tuple[list[str], list[str]]:
    """What differs between the run's signature and the baseline's, and the ways out."""
    problems: list[str] = []
    ways_out = ["write a new baseline with --snapshot-update"]
    for name, option in _MATCHED_FIELDS.items():
        if theirs.get(name) != signature.get(name):
            problems.append(
                f"{name}: {_shown(signature.get(name))} here, "
                f"{_shown(theirs.get(name, '(not recorded)'))} in the baseline"
            )
            if option is not None and name in theirs:
                ways_out.append("run with " + option.format(value=theirs[name]))
            if name == "answer_budgets" and "all" in theirs.get(name, {}):
                ways_out.append(f"run with --rest-max-tokens {theirs[name]['all']}")
    missing = [s for s in signature.get("sources", []) if s not in theirs.get("sources", [])]
    if missing:
        problems.append(
            f"task source(s) {', '.join(missing)} not in the baseline's suite "
            f"({', '.join(theirs.get('sources', [])) or 'none'})"
        )
        ways_out.append("run with the baseline's --rest-suite")
    profile = signature.get("hypothesis_profile")
    if profile is not None and theirs.get("hypothesis_profile") not in (None, profile):
        problems.append(
            f"Hypothesis profile {profile!r} here, "
            f"{theirs.get('hypothesis_profile')!r} in the baseline"
        )
        ways_out.append(f"run with --hypothesis-profile {theirs.get('hypothesis_profile')}")
    return problems, ways_out


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


def _check_format(path: Path, data: object) -> None:
    """A ``BaselineError`` unless ``data`` is a baseline of this version's format: the
    message names the file, what it is or the format it has, the one expected, and the
    way out."""
    if isinstance(data, dict) and "items" in data and "n_items" in data:
        raise BaselineError(
            f"{path}: a rest-checks results file (--rest-json, format {data.get('format')!r}), "
            "not a baseline; name a baseline written with --snapshot-update (baselines/...)"
        )
    if not isinstance(data, dict) or not isinstance(data.get("cases"), dict):
        raise BaselineError(f"{path}: not a rest-checks baseline (no 'cases' table)")
    found = data.get("format")
    if found != BASELINE_FORMAT:
        newer = isinstance(found, int) and not isinstance(found, bool) and found > BASELINE_FORMAT
        raise BaselineError(
            f"{path}: baseline format {found!r}, this rest-checks reads format "
            f"{BASELINE_FORMAT}; "
            + (
                "upgrade rest-checks to read it, or write it again with --snapshot-update"
                if newer
                else "write it again with --snapshot-update"
            )
        )


def load_baseline(path: Path, *, explicit: bool = False, updating: bool = False) -> Baseline | None:
    """Read and validate a baseline; None when the file does not exist. Every defect is
    a ``BaselineError`` naming the file and the field.

    ``explicit``: the file was named (``--rest-baseline``), so a missing one is an error
    rather than "no baseline yet". ``updating``: the baseline is being rewritten
    (``--snapshot-update``), so a missing file, or one of an older format or unreadable,
    is simply replaced: None.
    """
    if updating:
        try:
            return load_baseline(path)
        except BaselineError:
            return None
    if not path.is_file():
        if explicit:
            raise BaselineError(
                f"{path}: no such baseline file (named with --rest-baseline); write it with "
                "--snapshot-update, or name an existing one"
            )
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    _check_format(path, data)
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
    metrics: Metrics,
    cases: Mapping[str, bool],
    fingerprints: Mapping[str, str],
    signature: Mapping[str, Any],
) -> BaselineDocument:
    return {
        "format": BASELINE_FORMAT,
        "model": model,
        "model_identity": dict(model_identity),
        "suite": list(suite),
        "seed": seed,
        "signature": dict(signature),
        "metrics": metrics,
        "cases": {
            key: {"consistent": cases[key], "fingerprint": fingerprints[key]}
            for key in sorted(cases)
        },
    }


def write_baseline(path: Path, document: BaselineDocument) -> None:
    write_atomic(path, BaselineExtension().serialize_baseline(document))


# --- the gate ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """How much of the baseline this run judged. A verdict covers only what was judged: a
    run that left some of the baseline's cases out (``-k``, ``--lf``, ``-x``, fewer task
    sources, a smaller ``--rest-n``, errors, a lost worker) is partial, and a partial run
    is at best inconclusive."""

    baseline_items: int
    judged_items: int
    # Baseline cases (items and REST+ cases) this run has no answered case for.
    not_run: tuple[str, ...] = ()
    # Of those, the cross-modal items.
    items_not_run: tuple[str, ...] = ()

    @property
    def partial(self) -> bool:
        return bool(self.not_run)

    def describe(self) -> str:
        """``partial: 300 of 450 baseline items; not run: mcq-0001, ...``."""
        others = len(self.not_run) - len(self.items_not_run)
        text = f"partial: {self.judged_items} of {self.baseline_items} baseline items"
        if others:
            text += f", {others} of the baseline's REST+ cases not judged"
        return text + f"; not run: {named(self.not_run)}"

    def to_json(self) -> CoverageCounts:
        return {
            "partial": self.partial,
            "baseline_items": self.baseline_items,
            "judged_items": self.judged_items,
            "not_run": list(self.not_run),
        }


def coverage(baseline: Baseline, answered: Iterable[str]) -> Coverage:
    """Which of the baseline's cases this run answered (``answered``: case keys)."""
    done = set(answered)
    items = baseline.item_cases()
    not_run = tuple(sorted(key for key in baseline.cases if key not in done))
    return Coverage(
        baseline_items=len(items),
        judged_items=sum(1 for key in items if key in done),
        not_run=not_run,
        items_not_run=tuple(key for key in not_run if key in items),
    )


@dataclass(frozen=True)
class TaskGate:
    """The gate on one task source's items. ``alpha``: the Holm-adjusted level its McNemar
    test was held to, or None where Holm's step-down stopped before it (not tested);
    ``upper_bound``: its one-sided bound of the drop at ``bound_alpha`` (Bonferroni)."""

    task: str
    comparison: PairedComparison
    alpha: float | None
    bound_alpha: float
    upper_bound: float
    verdict: Verdict


@dataclass(frozen=True)
class GateResult:
    """The session-level verdict against a baseline; ``theta`` is the paired RER drop.

    ``passed``: the run is whole (``coverage``) and the one-sided ``1 - alpha`` upper
    confidence bound of the pooled drop is at most ``tolerance``, and no task source
    failed. ``failed``: the pooled drop, or a task source's (Holm), is significant (exact
    two-sided McNemar below the level) and above ``tolerance``. ``inconclusive``:
    otherwise (the bound is above the tolerance, or the run is partial).
    """

    comparison: PairedComparison
    alpha: float
    tolerance: float
    upper_bound: float
    verdict: Verdict
    coverage: Coverage
    by_task: tuple[TaskGate, ...] = ()
    # Shared items that would decide the gate at the observed rates (None: none would).
    items_to_decide: int | None = None
    # A sequential run's decision (--rest-sequential): the verdict and bound are its.
    sequential: SequentialDecision | None = None

    @property
    def failed(self) -> bool:
        return self.verdict == "failed"


def _task_gates(
    baseline_cases: Mapping[str, bool],
    current: Mapping[str, bool],
    tasks: Mapping[str, str],
    alpha: float,
    tolerance: float,
) -> list[TaskGate]:
    names = sorted(set(tasks.values()))
    comparisons = {
        task: compare_runs(
            {k: v for k, v in baseline_cases.items() if tasks.get(k) == task},
            {k: v for k, v in current.items() if tasks.get(k) == task},
        )
        for task in names
    }
    # Holm: the smallest p-value is tested at alpha/m, the next at alpha/(m-1), ...; once
    # one is not significant, none after it is tested.
    levels = holm_levels({task: comparisons[task].p_value for task in names}, alpha)
    gates = []
    bound_alpha = alpha / len(names)
    for task in names:
        c, level = comparisons[task], levels[task]
        bound = drop_upper_bound(c.lost, c.gained, c.n_common, bound_alpha)
        verdict: Verdict
        if level is not None and fails(c.lost, c.gained, c.n_common, tolerance, level):
            verdict = "failed"
        elif shows_within(c.lost, c.gained, c.n_common, tolerance, bound_alpha):
            verdict = "passed"
        else:
            verdict = "inconclusive"
        gates.append(TaskGate(task, c, level, bound_alpha, bound, verdict))
    return gates


def gate(
    baseline: Baseline,
    current: Mapping[str, bool],
    alpha: float,
    tolerance: float,
    tasks: Mapping[str, str] | None = None,
    answered: Iterable[str] | None = None,
) -> GateResult:
    """Compare cross-modal consistency now (case key -> consistent) against the baseline,
    item by item, pooled and per task source (``tasks``: case key -> task).
    ``answered``: every case key this run answered (REST+ cases too), to tell whether it
    covered the whole baseline; by default the keys of ``current``."""
    items = baseline.item_cases()
    comparison = compare_runs(items, current)
    by_task = _task_gates(items, current, tasks, alpha, tolerance) if tasks else []
    covered = coverage(baseline, current if answered is None else answered)
    c = comparison
    upper = drop_upper_bound(c.lost, c.gained, c.n_common, alpha)
    verdict: Verdict = paired_verdict(c.lost, c.gained, c.n_common, tolerance, alpha)
    if any(t.verdict == "failed" for t in by_task):
        verdict = "failed"
    elif verdict == "passed" and covered.partial:
        verdict = "inconclusive"  # shown only for the items that ran
    needed = (
        None
        if verdict != "inconclusive"
        else items_to_decide(c.lost, c.gained, c.n_common, tolerance, alpha)
    )
    return GateResult(c, alpha, tolerance, upper, verdict, covered, tuple(by_task), needed)
