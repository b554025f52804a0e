"""The results document (``--rest-json``, docs/results-format.md) as typed structures.

``rest_checks.report`` writes a ``ResultsDocument``; every reader (the summaries, the HTML
report, the CSV export, ``rest-checks compare``, the leaderboard) reads one, so mypy checks
each key on both sides. ``docs/results.schema.json`` is generated from these types
(``rest_checks.document_schema``) and checked in tests against real runs' files.

A rate over no items is ``None``; answers are canonical strings or ``None`` (no answer).
Keys that only some documents have are in the ``total=False`` halves.
"""

from __future__ import annotations

from typing import Any, Final, Literal, TypedDict

# 2: the gate's confidence bound and coverage, the run's coverage.
# 3: ``calls`` says what happened to every request: memory, retried and failed beside
#    model and cache (a cache hit is an earlier run's reply only).
RESULTS_FORMAT: Final = 3

CaseVerdict = Literal["consistent", "inconsistent", "regression", "error"]
GateVerdict = Literal["passed", "failed", "inconclusive"]
# A count as [successes, n], and a Wilson interval as [low, high].
Counts = list[int]
Interval = list[float]


class Rate(TypedDict):
    """A rate: value (None over no items), successes ``k`` of ``n``, the 95% interval."""

    value: float | None
    k: int
    n: int
    ci95: Interval


class MetricCounts(TypedDict):
    """Each rate's [successes, n]."""

    rer: Counts
    cfr: Counts
    mmc: Counts
    accuracy: dict[str, Counts]
    agreement: dict[str, Counts]
    rer_ocr_perfect: Counts


class MetricIntervals(TypedDict):
    """Each rate's Wilson interval [low, high] at the metrics' ``confidence``."""

    rer: Interval
    cfr: Interval
    mmc: Interval
    accuracy: dict[str, Interval]
    agreement: dict[str, Interval]
    rer_ocr_perfect: Interval


class Metrics(TypedDict):
    """The cross-modal items' headline rates; ``counts`` and ``intervals`` hold the same
    keys as the rates (``accuracy`` and ``agreement`` by modality or pair)."""

    n_items: int
    rer: float | None
    cfr: float | None
    mmc: float | None
    accuracy: dict[str, float | None]
    agreement: dict[str, float | None]
    rer_ocr_perfect: float | None
    ocr_cer: float | None
    n_ocr: int
    n_ocr_perfect: int
    confidence: float
    counts: MetricCounts
    intervals: MetricIntervals


class RunCoverage(TypedDict):
    """Which cases of the run's configuration got an answer."""

    complete: bool
    ended_early: bool
    cases: int
    answered: int
    errors: int
    not_run: list[str]
    not_needed: int


class Source(TypedDict):
    """What an item file gave (``LoadResult.to_json``)."""

    path: str
    layout: str
    detected: bool
    files: int
    kept: int
    used: int
    dropped: dict[str, int]
    control_chars_removed: int


class Settings(TypedDict):
    """The settings that shape the verdicts (never a secret)."""

    n: int
    plus: bool
    plus_n: int
    require_correct: bool
    alpha: float
    tolerance: float
    allow_errors: int
    fail_inconclusive: bool
    sequential: bool
    extract: str


class _CaseIdentity(TypedDict):
    id: str
    key: str
    task: str
    rendering: str
    rendering_detail: str
    expected: str


class CaseIdentity(_CaseIdentity, total=False):
    """What names a case: its item, task, rendering and expected answer."""

    subject: str


class _Item(CaseIdentity):
    answers: dict[str, str | None]
    # The rule that read each answer, or why there is none ("ambiguous", "truncated").
    rules: dict[str, str | None]
    correct: dict[str, bool]
    consistent: bool
    verdict: CaseVerdict
    ocr_cer: float | None
    n_visual_tokens: dict[str, int | None]
    raw: dict[str, str]


class Item(_Item, total=False):
    """One answered case. ``images`` and ``prompts``: of a failed case (or of every case
    with ``--rest-report-pages all``), the pages the model saw and the prompts it got;
    ``extra``: the backends' extras per modality (usage, finish reason)."""

    images: dict[str, str]
    prompts: dict[str, str]
    extra: dict[str, Any]


class Error(CaseIdentity):
    """A case whose request failed for good: in no rate."""

    modality: str | None
    message: str


class RestPlusRendering(Rate):
    """RER at one REST+ rendering, with the OCR control's view of it."""

    rendering: str
    ocr_cer: float | None
    n_ocr_perfect: int
    inconsistent: list[str]


class Invariance(TypedDict):
    """The Hypothesis check: items that kept their answer under every rendering tried,
    and per counterexample its simplest failing rendering and page."""

    n_items: int
    n_invariant: int
    counterexamples: dict[str, str]
    pages: dict[str, str]


class Calls(TypedDict):
    """What happened to the run's requests (``model_gateway.CallCounter``)."""

    model: int  # sent to the model
    cache: int  # answered from the disk cache (an earlier run's replies)
    memory: int  # read back from this run's replies (asked ahead, or shared by a worker)
    retried: int  # attempts that failed and were tried again
    failed: int  # requests that failed for good


class ModalityUsage(TypedDict):
    replies: int
    prompt_tokens: int
    completion_tokens: int
    mean_prompt_tokens: float
    mean_completion_tokens: float


class _Usage(TypedDict):
    modalities: dict[str, ModalityUsage]
    prompt_tokens: int
    completion_tokens: int
    image_vs_text: float | None


class Usage(_Usage, total=False):
    """Tokens per modality (docs/token-usage.md); ``prices`` and ``cost`` where the
    models file gives prices."""

    prices: dict[str, float]
    cost: dict[str, float]


class ParityStep(TypedDict):
    dpi: int
    rendering: str
    visual_tokens: float | None
    image_accuracy: Rate
    rer: Rate


class ParityPoint(TypedDict):
    dpi: int
    visual_tokens: float | None


class Parity(TypedDict):
    """Accuracy against visual tokens on the ``--rest-parity`` ladder (docs/parity.md)."""

    steps: list[ParityStep]
    text_accuracy: Rate
    tokens_from: str | None
    parity_point: ParityPoint | None


class PairedCounts(TypedDict):
    """Consistency of the same items in the baseline and now (``PairedComparison``)."""

    n_common: int
    both_consistent: int
    lost: int
    gained: int
    both_inconsistent: int
    rer_baseline: float | None
    rer_current: float | None
    rer_drop: float | None
    p_value: float
    p_value_drop: float
    lost_ids: list[str]
    gained_ids: list[str]
    only_in_baseline: list[str]
    only_in_current: list[str]


class Sequential(TypedDict):
    """A sequential run's decision (``--rest-sequential``)."""

    verdict: GateVerdict
    items_asked: int
    items: int
    lost: int
    gained: int
    upper_bound: float | None
    looks: int
    requests_saved: int


class CoverageCounts(TypedDict):
    """How much of the baseline the gate judged."""

    partial: bool
    baseline_items: int
    judged_items: int
    not_run: list[str]


class GateCoverage(CoverageCounts):
    """``describe``: the coverage in words (``partial: 300 of 450 baseline items; ...``)."""

    describe: str


class TaskGate(PairedCounts):
    """The gate on one task source: ``alpha`` its Holm level (None: not tested)."""

    verdict: GateVerdict
    alpha: float | None
    bound_alpha: float
    upper_bound: float


class Gate(PairedCounts):
    """The session's verdict against the baseline (docs/gate.md)."""

    verdict: GateVerdict
    failed: bool
    alpha: float
    tolerance: float
    # The one-sided (1 - alpha) upper confidence bound of the paired RER drop: also the
    # smallest tolerance at which this run would pass.
    upper_bound: float
    items_to_decide: int | None
    sequential: Sequential | None
    coverage: GateCoverage
    by_task: dict[str, TaskGate]


class LevelTest(TypedDict):
    """One factor level of the diagnosis, its two tests and their Holm levels."""

    factor: str
    level: str
    n: int
    lost: int
    gained: int
    p_net_loss: float
    p_concentration: float
    holm_net_loss: float | None
    holm_concentration: float | None
    significant: bool


class Where(TypedDict):
    """The shared cases in every named level: how many, lost and gained there."""

    factors: dict[str, list[str]]
    n: int
    lost: int
    gained: int
    lost_in_any: int


class Diagnosis(TypedDict):
    """Where the gate's lost cases lie, by factor level (docs/diagnosis.md)."""

    alpha: float
    n_shared: int
    lost: int
    gained: int
    significant: dict[str, list[str]]
    named: dict[str, list[str]]
    where: Where | None
    single_level: list[str]
    levels: list[LevelTest]


class BaselineSource(TypedDict):
    """The baseline the run was judged against (``present``), or where it would be."""

    path: str
    present: bool
    explicit: bool
    updating: bool
    model: str | None
    model_identity: dict[str, Any] | None
    identity_differences: list[str]


class BaselineBlock(BaselineSource):
    """The baseline, the cases that regressed against it, the gate and where the loss is."""

    regressions: list[str]
    gate: Gate | None
    diagnosis: Diagnosis | None


class ResultsDocument(TypedDict):
    """A run's results. ``complete``: a whole run (every case of the configuration
    answered, nothing stopped it); ``cases``: every answered case key -> consistent;
    ``fingerprints``: case key -> a hash of what it asked."""

    format: Literal[3]
    complete: bool
    coverage: RunCoverage | None
    model: str
    model_identity: dict[str, Any]
    suite: list[str]
    seed: int
    signature: dict[str, Any]
    extract: str
    settings: Settings
    n_items: int
    sources: list[Source]
    metrics: Metrics
    errors: list[Error]
    rest_plus: dict[str, RestPlusRendering]
    invariance: Invariance
    calls: Calls
    usage: Usage | None
    parity: Parity | None
    baseline: BaselineBlock
    items: list[Item]
    # Per outcome ("truncated", "ambiguous"), per modality: how many replies had it.
    outcomes: dict[str, dict[str, int]]
    rest_plus_items: list[Item]
    cases: dict[str, bool]
    fingerprints: dict[str, str]
