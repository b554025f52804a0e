"""The run's settings, each declared once as a field of ``RestSettings`` (or of
``ModelOptions``, which is part of it): flag, environment variable, ini key, parser, default
and help together. Precedence: CLI > environment > ini > default. Paths are relative to
pytest's rootdir.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rest_checks.items.files.layouts import LAYOUT_NAMES
from rest_checks.models.registry import DEFAULT_MODELS_FILE, ModelOptions
from rest_checks.options import (
    Option,
    SettingError,
    boolean,
    count_or_all,
    one_of,
    options_of,
    positive_int,
    probability,
    resolve_option,
    seed_int,
    setting,
    text_value,
)

__all__ = [
    "DEFAULT_SUITE",
    "OPTIONS",
    "OPTIONS_BY_DEST",
    "Option",
    "RestSettings",
    "SettingError",
    "resolve_option",
    "slug",
    "suite_list",
]

DEFAULT_SUITE = ("soebench", "arith", "mcq")
# The paper's sizes: 150 items per task source.
DEFAULT_N = 150
DEFAULT_PLUS_N = 2


def suite_list(text: str) -> tuple[str, ...]:
    """A comma list of task sources; item-file paths are checked once the rootdir is known."""
    parts = tuple(p.strip() for p in str(text).split(",") if p.strip())
    if not parts:
        raise argparse.ArgumentTypeError(
            "the suite is empty; give a comma list of soebench, arith, mcq or item-file paths"
        )
    return parts


def slug(text: str) -> str:
    """A file-name-safe form of a model spec: ``openai:gpt-4o-mini`` -> ``openai_gpt-4o-mini``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "model"


# Long by its fields: one declaration (flag, environment variable, ini key, parser,
# default, help) per option, so that each option is said in one place.
@dataclass(frozen=True)
class RestSettings:
    """Every setting of a run, resolved and validated."""

    model: str = setting(
        "--model",
        "REST_MODEL",
        "rest_model",
        text_value,
        "reference",
        "model under test (default: the embedded reference model)",
    )
    suite: tuple[str, ...] = setting(
        "--rest-suite",
        "REST_SUITE",
        "rest_suite",
        suite_list,
        DEFAULT_SUITE,
        "comma list of task sources: soebench, arith, mcq, or item-file paths",
    )
    n: int = setting(
        "--rest-n",
        "REST_N",
        "rest_n",
        count_or_all,
        DEFAULT_N,
        "items per task source (0: all of a file or the built-in set)",
    )
    file_format: str = setting(
        "--rest-format",
        "REST_FORMAT",
        "rest_format",
        one_of("auto", *LAYOUT_NAMES),
        "auto",
        "layout of every item file: auto (detected from each file) or one of "
        + ", ".join(LAYOUT_NAMES),
    )
    seed: int = setting(
        "--rest-seed", "REST_SEED", "rest_seed", seed_int, 0, "seed of the item generators"
    )
    json_path: Path | None = setting(
        "--rest-json",
        "REST_JSON",
        "rest_json",
        text_value,
        None,
        "write the run's results as JSON to this path",
        is_path=True,
    )
    html_path: Path | None = setting(
        "--rest-html",
        "REST_HTML",
        "rest_html",
        text_value,
        None,
        "write a self-contained HTML report to this path (needs rest-checks[report])",
        is_path=True,
    )
    report_pages: str = setting(
        "--rest-report-pages",
        "REST_REPORT_PAGES",
        "rest_report_pages",
        one_of("failures", "all"),
        "failures",
        "the pages kept for the report: of the failed cases, or of every case (all)",
    )
    csv_path: Path | None = setting(
        "--rest-csv",
        "REST_CSV",
        "rest_csv",
        text_value,
        None,
        "write every case as a CSV row to this path",
        is_path=True,
    )
    cache: Path | None = setting(
        "--rest-cache",
        "REST_CACHE",
        "rest_cache",
        text_value,
        ".rest-cache",
        "response cache directory (relative to the rootdir)",
        is_path=True,
        field_default=None,
    )
    no_cache: bool = setting(
        "--rest-no-cache",
        "REST_NO_CACHE",
        "rest_no_cache",
        boolean,
        False,
        "bypass the response cache",
        is_flag=True,
    )
    plus: bool = setting(
        "--rest-plus",
        "REST_PLUS",
        "rest_plus",
        boolean,
        False,
        "also run REST+: the fixed render grid and Hypothesis render perturbations",
        is_flag=True,
    )
    parity: bool = setting(
        "--rest-parity",
        "REST_PARITY",
        "rest_parity",
        boolean,
        False,
        "with --rest-plus: also draw the REST+ items at 8 resolutions from 36 to 300 DPI and "
        "report accuracy against visual tokens (docs/parity.md)",
        is_flag=True,
    )
    plus_n: int = setting(
        "--rest-plus-n",
        "REST_PLUS_N",
        "rest_plus_n",
        count_or_all,
        DEFAULT_PLUS_N,
        "items per task source that REST+ perturbs (0: all)",
    )
    require_correct: bool = setting(
        "--rest-require-correct",
        "REST_REQUIRE_CORRECT",
        "rest_require_correct",
        boolean,
        False,
        "fail an item unless all three answers are also correct",
        is_flag=True,
    )
    baseline: Path | None = setting(
        "--rest-baseline",
        "REST_BASELINE",
        "rest_baseline",
        text_value,
        None,
        "baseline file (default: <model>.json in --rest-baselines-dir)",
        is_path=True,
    )
    baselines_dir: Path | None = setting(
        "--rest-baselines-dir",
        "REST_BASELINES_DIR",
        "rest_baselines_dir",
        text_value,
        "baselines",
        "directory of the per-model baselines <model>.json (relative to the rootdir)",
        is_path=True,
        field_default=None,
    )
    alpha: float = setting(
        "--rest-alpha",
        "REST_ALPHA",
        "rest_alpha",
        probability,
        0.05,
        "error level of the gate: the paired McNemar test's and the one-sided bound's of "
        "the RER drop against the baseline",
    )
    tolerance: float = setting(
        "--rest-tolerance",
        "REST_TOLERANCE",
        "rest_tolerance",
        probability,
        0.02,
        "RER drop against the baseline (absolute) that is tolerated",
    )
    allow_errors: int = setting(
        "--rest-allow-errors",
        "REST_ALLOW_ERRORS",
        "rest_allow_errors",
        count_or_all,
        0,
        "model errors (items that got no reply) tolerated before the run fails",
    )
    fail_inconclusive: bool = setting(
        "--rest-fail-inconclusive",
        "REST_FAIL_INCONCLUSIVE",
        "rest_fail_inconclusive",
        boolean,
        False,
        "fail the run when the baseline gate is inconclusive (a pass not shown: too few "
        "items, too much churn or a partial run); for CI",
        is_flag=True,
    )
    sequential: bool = setting(
        "--rest-sequential",
        "REST_SEQUENTIAL",
        "rest_sequential",
        boolean,
        False,
        "sequential gate: ask the baseline's items in waves and stop once the verdict is "
        "certain (an anytime-valid confidence sequence); the items not needed are skipped. "
        "Needs a baseline; not with --snapshot-update or -n N",
        is_flag=True,
    )
    extract: str = setting(
        "--rest-extract",
        "REST_EXTRACT",
        "rest_extract",
        one_of("strict", "lenient"),
        "strict",
        "answer extraction: strict (ANSWER: line, then \\boxed{}) or lenient "
        "(also 'the final answer is X')",
    )
    max_tokens: int | None = setting(
        "--rest-max-tokens",
        "REST_MAX_TOKENS",
        "rest_max_tokens",
        positive_int,
        None,
        "answer budget in tokens of every text, image and mixed request (default: 1024, "
        "2048 for SoEBench); part of the model identity",
    )
    model_options: ModelOptions = field(default_factory=ModelOptions)
    # Not options of their own: syrupy's --snapshot-update, and pytest's rootdir.
    update_baseline: bool = False
    rootdir: Path = Path(".")

    @classmethod
    def from_values(
        cls, values: Mapping[str, Any], rootdir: Path, update_baseline: bool = False
    ) -> RestSettings:
        """Settings from resolved option values keyed by ``Option.dest``; missing values
        take their defaults. Paths are made absolute against ``rootdir``."""
        rootdir = Path(rootdir)

        def value(option: Option) -> Any:
            raw = values.get(option.dest, option.default)
            if option.is_path and raw is not None:
                path = Path(str(raw)).expanduser()
                return path if path.is_absolute() else rootdir / path
            return raw

        own = {o.field: value(o) for o in options_of(cls)}
        model_values = {o.field: value(o) for o in options_of(ModelOptions)}
        named = model_values["models_file"] is not None  # then it must exist
        if not named:
            model_values["models_file"] = rootdir / DEFAULT_MODELS_FILE
        model_options = ModelOptions(**model_values, models_file_named=named)
        settings = cls(
            **own, model_options=model_options, update_baseline=update_baseline, rootdir=rootdir
        )
        settings.suite_sources()  # an item file that is not there is a setting error now
        if settings.parity and not settings.plus:
            raise SettingError(
                "--rest-parity draws the REST+ items (--rest-plus-n per task source) at a "
                "ladder of resolutions: add --rest-plus"
            )
        return settings

    @property
    def baseline_path(self) -> Path:
        directory = self.baselines_dir or self.rootdir / "baselines"
        return self.baseline or directory / f"{slug(self.model)}.json"

    @property
    def cache_dir(self) -> Path | None:
        return None if self.no_cache else self.cache

    @property
    def lenient(self) -> bool:
        return self.extract == "lenient"

    @property
    def layout(self) -> str | None:
        """The item-file layout named by ``--rest-format``; ``None`` to detect it."""
        return None if self.file_format == "auto" else self.file_format

    def suite_sources(self) -> tuple[str, ...]:
        """The suite with item-file (and directory) paths resolved against the rootdir."""
        sources = []
        for part in self.suite:
            if part in DEFAULT_SUITE:
                sources.append(part)
                continue
            path = Path(part).expanduser()
            path = path if path.is_absolute() else self.rootdir / path
            if not path.is_file() and not path.is_dir():
                raise SettingError(
                    f"--rest-suite: {part!r} is neither a task source (soebench, arith, mcq) "
                    f"nor an item file or directory (looked for {path})"
                )
            sources.append(str(path))
        return tuple(sources)

    def header(self) -> str:
        return (
            f"rest-checks: model={self.model} suite={','.join(self.suite)} "
            f"n={self.n} seed={self.seed}"
            + (f" format={self.file_format}" if self.layout else "")
            + (f" rest-plus-n={self.plus_n}" if self.plus else "")
            + (" parity" if self.parity else "")
            + (f" max-tokens={self.max_tokens}" if self.max_tokens is not None else "")
        )


OPTIONS: tuple[Option, ...] = options_of(RestSettings) + options_of(ModelOptions)
OPTIONS_BY_DEST = {option.dest: option for option in OPTIONS}
