"""The run's settings: one table of options, each settable on the command line, in the
environment and as an ini key, with precedence CLI > environment > ini > default."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_SUITE = ("soebench", "arith", "mcq")
DEFAULT_N = 10
DEFAULT_PLUS_N = 2


class SettingError(ValueError):
    """A setting has a value we cannot use; the message says which and what is accepted."""


# --- value parsers: each raises argparse.ArgumentTypeError with what is accepted ----------


def positive_int(text: str) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; use 0 for all, or a count")
    return value


def seed_int(text: str) -> int:
    try:
        return int(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer seed") from None


def probability(text: str) -> float:
    try:
        value = float(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is outside [0, 1]")
    return value


def suite_list(text: str) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in str(text).split(",") if p.strip())
    if not parts:
        raise argparse.ArgumentTypeError(
            "the suite is empty; give a comma list of soebench, arith, mcq or item-file paths"
        )
    for part in parts:
        if part not in DEFAULT_SUITE and not Path(part).is_file():
            raise argparse.ArgumentTypeError(
                f"{part!r} is neither a task source (soebench, arith, mcq) nor an item file"
            )
    return parts


def boolean(text: str) -> bool:
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not a boolean (use 1/0, true/false)")


def text_value(text: str) -> str:
    return str(text)


def dtype_name(text: str) -> str:
    value = str(text).strip()
    if value not in ("auto", "float32", "bfloat16", "float16"):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a dtype; use auto, float32, bfloat16 or float16"
        )
    return value


@dataclass(frozen=True)
class Option:
    """One setting: its flag, environment variable, ini key, parser and default."""

    dest: str
    flag: str
    env: str
    parse: Callable[[str], Any]
    default: Any
    help: str
    is_flag: bool = False  # a store_true switch on the command line

    @property
    def ini(self) -> str:
        return self.dest


OPTIONS: tuple[Option, ...] = (
    Option(
        "rest_model",
        "--model",
        "REST_MODEL",
        text_value,
        "reference",
        "model under test (default: the embedded reference model)",
    ),
    Option(
        "rest_suite",
        "--rest-suite",
        "REST_SUITE",
        suite_list,
        DEFAULT_SUITE,
        "comma list of task sources: soebench, arith, mcq, or item-file paths",
    ),
    Option(
        "rest_n",
        "--rest-n",
        "REST_N",
        positive_int,
        DEFAULT_N,
        "items per task source (0: all of a file or the built-in set)",
    ),
    Option("rest_seed", "--rest-seed", "REST_SEED", seed_int, 0, "seed of the item generators"),
    Option(
        "rest_json",
        "--rest-json",
        "REST_JSON",
        text_value,
        None,
        "write the run's results as JSON to this path",
    ),
    Option(
        "rest_cache",
        "--rest-cache",
        "REST_CACHE",
        text_value,
        ".rest-cache",
        "response cache directory (relative to the rootdir)",
    ),
    Option(
        "rest_no_cache",
        "--rest-no-cache",
        "REST_NO_CACHE",
        boolean,
        False,
        "bypass the response cache",
        is_flag=True,
    ),
    Option(
        "rest_plus",
        "--rest-plus",
        "REST_PLUS",
        boolean,
        False,
        "also run REST+: the fixed render grid and Hypothesis render perturbations",
        is_flag=True,
    ),
    Option(
        "rest_plus_n",
        "--rest-plus-n",
        "REST_PLUS_N",
        positive_int,
        DEFAULT_PLUS_N,
        "items per task source that REST+ perturbs (0: all)",
    ),
    Option(
        "rest_require_correct",
        "--rest-require-correct",
        "REST_REQUIRE_CORRECT",
        boolean,
        False,
        "fail an item unless all three answers are also correct",
        is_flag=True,
    ),
    Option(
        "rest_baseline",
        "--rest-baseline",
        "REST_BASELINE",
        text_value,
        None,
        "baseline file (default: baselines/<model>.json under the rootdir)",
    ),
    Option(
        "rest_alpha",
        "--rest-alpha",
        "REST_ALPHA",
        probability,
        0.05,
        "significance level of the paired McNemar test on RER against the baseline",
    ),
    Option(
        "rest_tolerance",
        "--rest-tolerance",
        "REST_TOLERANCE",
        probability,
        0.02,
        "RER drop against the baseline (absolute) that is tolerated",
    ),
    Option(
        "rest_models_file",
        "--rest-models-file",
        "REST_MODELS_FILE",
        text_value,
        "rest_models.toml",
        "file of user-defined models (relative to the rootdir)",
    ),
    Option(
        "model_base_url",
        "--model-base-url",
        "REST_MODEL_BASE_URL",
        text_value,
        None,
        "base URL of an OpenAI-compatible server (else OPENAI_BASE_URL)",
    ),
    Option(
        "rest_api_key_env",
        "--rest-api-key-env",
        "REST_API_KEY_ENV",
        text_value,
        "OPENAI_API_KEY",
        "name of the environment variable holding the API key",
    ),
    Option(
        "rest_concurrency",
        "--rest-concurrency",
        "REST_CONCURRENCY",
        positive_int,
        16,
        "requests in flight at once for API models",
    ),
    Option(
        "rest_device",
        "--rest-device",
        "REST_DEVICE",
        text_value,
        None,
        "device of a local model: cpu, cuda, cuda:1, auto",
    ),
    Option(
        "rest_dtype",
        "--rest-dtype",
        "REST_DTYPE",
        dtype_name,
        None,
        "dtype of a local model: auto, float32, bfloat16, float16",
    ),
    Option(
        "rest_batch_size",
        "--rest-batch-size",
        "REST_BATCH_SIZE",
        positive_int,
        8,
        "batch size of a local model",
    ),
    Option(
        "rest_probe",
        "--rest-probe",
        "REST_PROBE",
        boolean,
        False,
        "record the image/text representation probe of local models",
        is_flag=True,
    ),
)
OPTIONS_BY_DEST = {option.dest: option for option in OPTIONS}


def resolve_option(option: Option, cli_value: Any, environ: dict[str, str], ini_value: Any) -> Any:
    """CLI > environment > ini > default; env and ini values are parsed and checked here."""
    if cli_value is not None and cli_value is not False:
        return cli_value
    for origin, raw in (
        (f"environment variable {option.env}", environ.get(option.env)),
        (f"ini key {option.ini}", ini_value),
    ):
        if raw is None or str(raw).strip() == "":
            continue  # an empty value means "not set here"

        try:
            return option.parse(raw)
        except argparse.ArgumentTypeError as exc:
            raise SettingError(f"{origin}={raw!r}: {exc}") from None
    return option.default


def slug(text: str) -> str:
    """A file-name-safe form of a model spec: ``openai:gpt-4o-mini`` -> ``openai_gpt-4o-mini``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "model"


@dataclass(frozen=True)
class RestSettings:
    """Every setting of a run, resolved and validated."""

    model: str
    suite: tuple[str, ...]
    n: int
    seed: int
    json_path: Path | None
    cache_dir: Path | None
    plus: bool
    plus_n: int
    require_correct: bool
    baseline_path: Path
    alpha: float
    tolerance: float
    models_file: Path
    base_url: str | None
    api_key_env: str
    concurrency: int
    device: str | None
    dtype: str | None
    batch_size: int
    probe: bool
    update_baseline: bool

    @classmethod
    def from_values(
        cls, values: dict[str, Any], rootdir: Path, update_baseline: bool = False
    ) -> RestSettings:
        def path(value: str | None) -> Path | None:
            if value is None:
                return None
            p = Path(value).expanduser()
            return p if p.is_absolute() else rootdir / p

        model = str(values["rest_model"]).strip()
        baseline = path(values["rest_baseline"]) or rootdir / "baselines" / f"{slug(model)}.json"
        cache_dir = None if values["rest_no_cache"] else path(values["rest_cache"])
        models_file = path(values["rest_models_file"])
        assert models_file is not None
        return cls(
            model=model,
            suite=tuple(values["rest_suite"]),
            n=int(values["rest_n"]),
            seed=int(values["rest_seed"]),
            json_path=path(values["rest_json"]),
            cache_dir=cache_dir,
            plus=bool(values["rest_plus"]),
            plus_n=int(values["rest_plus_n"]),
            require_correct=bool(values["rest_require_correct"]),
            baseline_path=baseline,
            alpha=float(values["rest_alpha"]),
            tolerance=float(values["rest_tolerance"]),
            models_file=models_file,
            base_url=values["model_base_url"],
            api_key_env=str(values["rest_api_key_env"]),
            concurrency=max(1, int(values["rest_concurrency"])),
            device=values["rest_device"],
            dtype=values["rest_dtype"],
            batch_size=max(1, int(values["rest_batch_size"])),
            probe=bool(values["rest_probe"]),
            update_baseline=update_baseline,
        )

    def header(self) -> str:
        return (
            f"rest-checks: model={self.model} suite={','.join(self.suite)} "
            f"n={self.n} seed={self.seed}" + (f" rest-plus-n={self.plus_n}" if self.plus else "")
        )
