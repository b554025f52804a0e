"""Model specs -> models.

A spec resolves to a ``ResolvedModel`` (a backend name, a model name and fixed parameters)
through one of three layers, a later one overriding an earlier one: the built-in specs
(``reference``, the mocks, the aliases), the user's models file, and the models registered
from Python with ``register_model``. Open-ended specs (``openai:NAME``, ``hf:REPO_OR_PATH``,
``ollama:NAME``) resolve by their prefix. Resolving is pure and cheap: it runs before any
test.

``BACKENDS`` maps every backend name to the factory that builds its models. The factories
import their backend modules only when called, so torch, transformers, openai and RapidOCR
stay unimported until a model of theirs is built (the mocks need none of them).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rest_checks.models import setting_rules
from rest_checks.models.base import (
    Model,
    ModelAuthError,
    ModelError,
    ModelLoadError,
    UnknownModelError,
)
from rest_checks.models.mock import MOCK_BEHAVIOURS, MockModel
from rest_checks.models.pixels import QWEN_PIXEL_BUDGET
from rest_checks.options import (
    boolean,
    one_of,
    positive_int,
    positive_seconds,
    setting,
    text_value,
    variable_name,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

OLLAMA_BASE_URL = "http://localhost:11434/v1"
# The models file read when none is named (relative to the rootdir); it may be absent.
DEFAULT_MODELS_FILE = "rest_models.toml"
# Keys checked where a models file is read, so their errors name the key's line: those the
# registry hands to a backend itself, the prices and the time limits. The others are checked
# by the backend as it is built (``setting_rules``, the same rules), and named with the
# table's line.
FILE_CHECKED_KEYS = (
    "api_key_env",
    "concurrency",
    "batch_size",
    "base_url",
    "device",
    "dtype",
    "price_prompt",
    "price_completion",
    "timeout",
    "retry_base_delay",
    "retry_max_delay",
    "retry_after_max",
)
# Prices per million tokens, for a run's cost in its report; no backend reads them.
PRICE_KEYS = {"price_prompt": "prompt", "price_completion": "completion"}


class ModelsFileError(ValueError):
    """The user's models file cannot be used; the message names the file, the line where it
    is known, and what is wrong."""


@dataclass(frozen=True)
class ModelOptions:
    """Settings from the command line, environment or ini that shape how a model is built
    (declared here once; ``config.RestSettings`` holds them as its ``model_options``)."""

    models_file: Path | None = setting(
        "--rest-models-file",
        "REST_MODELS_FILE",
        "rest_models_file",
        text_value,
        None,
        "file of user-defined models (relative to the rootdir; default rest_models.toml, "
        "which may be absent: a file named here must exist)",
        is_path=True,
    )
    # Whether the user named the models file (then it must be there), not an option.
    models_file_named: bool = False
    base_url: str | None = setting(
        "--model-base-url",
        "REST_MODEL_BASE_URL",
        "model_base_url",
        text_value,
        None,
        "base URL of an OpenAI-compatible server (else OPENAI_BASE_URL)",
    )
    api_key_env: str = setting(
        "--rest-api-key-env",
        "REST_API_KEY_ENV",
        "rest_api_key_env",
        variable_name,
        "OPENAI_API_KEY",
        "name of the environment variable holding the API key",
    )
    concurrency: int = setting(
        "--rest-concurrency",
        "REST_CONCURRENCY",
        "rest_concurrency",
        positive_int,
        16,
        "requests in flight at once for API models",
    )
    timeout: float | None = setting(
        "--rest-timeout",
        "REST_TIMEOUT",
        "rest_timeout",
        positive_seconds,
        None,
        "seconds to wait for one API reply before asking again (default 180)",
    )
    device: str | None = setting(
        "--rest-device",
        "REST_DEVICE",
        "rest_device",
        text_value,
        None,
        "device of a local model: cpu, cuda, cuda:1, auto (one GPU if it fits, else spread)",
    )
    dtype: str | None = setting(
        "--rest-dtype",
        "REST_DTYPE",
        "rest_dtype",
        one_of("auto", "float32", "bfloat16", "float16"),
        None,
        "dtype of a local model: auto, float32, bfloat16, float16",
    )
    batch_size: int = setting(
        "--rest-batch-size",
        "REST_BATCH_SIZE",
        "rest_batch_size",
        positive_int,
        8,
        "batch size of a local model",
    )
    probe: bool = setting(
        "--rest-probe",
        "REST_PROBE",
        "rest_probe",
        boolean,
        False,
        "record the image/text representation probe of local models",
        is_flag=True,
    )


@dataclass(frozen=True)
class ResolvedModel:
    """A spec after aliases and user definitions are applied; enough to build the model."""

    spec: str
    backend: str
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    # Where a models file defines it (``path:line``), for the errors of building it.
    origin: str | None = field(default=None, compare=False)
    # What its tokens cost, per million ("prompt", "completion"), where the models file
    # says (``price_prompt``, ``price_completion``): for the report, never sent anywhere.
    prices: dict[str, float] = field(default_factory=dict, compare=False)


# -- backends --------------------------------------------------------------------------

Backend = Callable[[ResolvedModel, ModelOptions], Model]
ModelFactory = Callable[[ModelOptions], Model]


def _reference(resolved: ResolvedModel, options: ModelOptions) -> Model:
    from rest_checks.models.reference import OCR_PACKAGE, ReferenceModel

    if importlib.util.find_spec(OCR_PACKAGE) is None:
        # Said before anything else: a baseline check would otherwise refuse the run for an
        # identity that reads "not installed".
        raise ModelLoadError(
            "the reference model reads pages with RapidOCR, which is not installed: "
            "pip install 'rest-checks[reference]'"
        )
    return ReferenceModel(spec=resolved.spec)


def _mock(resolved: ResolvedModel, options: ModelOptions) -> Model:
    return MockModel(resolved.name, spec=resolved.spec)


def _openai(resolved: ResolvedModel, options: ModelOptions) -> Model:
    from rest_checks.models.openai_api import OpenAIModel

    params = dict(resolved.params)
    if options.timeout is not None:  # the run's option over a models file's default
        params["timeout"] = options.timeout
    return OpenAIModel(
        resolved.name,
        spec=resolved.spec,
        base_url=params.pop("base_url", None) or options.base_url,
        api_key_env=params.pop("api_key_env", options.api_key_env),
        api_key=params.pop("api_key", None),
        concurrency=int(params.pop("concurrency", options.concurrency)),
        settings=params,
    )


def _hf(resolved: ResolvedModel, options: ModelOptions) -> Model:
    from rest_checks.models.hf import HFModel

    params = dict(resolved.params)
    return HFModel(
        resolved.name,
        spec=resolved.spec,
        device=params.pop("device", options.device),
        dtype=params.pop("dtype", options.dtype),
        batch_size=int(params.pop("batch_size", options.batch_size)),
        probe=options.probe,
        settings=params,
    )


#: Backend name -> factory. ``register_model`` adds one entry per registered spec.
BACKENDS: dict[str, Backend] = {
    "reference": _reference,
    "mock": _mock,
    "openai": _openai,
    "hf": _hf,
}
# The backends a models file may name (the others take no model name).
FILE_BACKENDS = ("openai", "hf")
# Backend names of models registered from Python: this prefix, then the spec. No built-in
# backend name holds a colon, so a registered spec never replaces a built-in backend.
REGISTERED_BACKEND_PREFIX = "python:"


# -- specs -----------------------------------------------------------------------------


def _spec(
    spec: str, backend: str, name: str, params: Mapping[str, Any] | None = None
) -> tuple[str, ResolvedModel]:
    return spec, ResolvedModel(spec, backend, name, dict(params or {}))


# Exact specs: the built-ins, then those registered from Python. Pinned pixel budgets are
# part of the model identity, so a baseline is only compared with runs made the same way.
_SPECS: dict[str, ResolvedModel] = dict(
    [
        _spec("reference", "reference", "reference"),
        *(_spec(f"mock:{b}", "mock", b) for b in MOCK_BEHAVIOURS),
        _spec("qwen2-vl", "hf", "Qwen/Qwen2-VL-2B-Instruct", QWEN_PIXEL_BUDGET),
        _spec("qwen2.5-vl", "hf", "Qwen/Qwen2.5-VL-3B-Instruct", QWEN_PIXEL_BUDGET),
        _spec("llava-1.5", "hf", "llava-hf/llava-1.5-7b-hf"),
        _spec("gpt-4o-mini", "openai", "gpt-4o-mini"),
        _spec("gpt-5-mini", "openai", "gpt-5-mini"),
    ]
)

# Open-ended specs, PREFIX:NAME -> (backend, what NAME is, fixed parameters).
PREFIXES: dict[str, tuple[str, str, Mapping[str, Any]]] = {
    "openai": ("openai", "NAME", {}),
    "hf": ("hf", "REPO_OR_PATH", {}),
    "ollama": ("openai", "NAME", {"base_url": OLLAMA_BASE_URL, "api_key": "ollama"}),
}


def register_model(spec: str, factory: ModelFactory) -> None:
    """Make ``--model SPEC`` build a model of your own (call it from a conftest.py).

    A registered spec takes precedence over one of the same name in the models file and over
    a built-in one; registering a spec again replaces its factory.
    """
    backend = REGISTERED_BACKEND_PREFIX + spec

    def build(resolved: ResolvedModel, options: ModelOptions) -> Model:
        return factory(options)

    BACKENDS[backend] = build
    _SPECS[spec] = ResolvedModel(spec, backend, spec)


def _is_registered(resolved: ResolvedModel) -> bool:
    return resolved.backend.startswith(REGISTERED_BACKEND_PREFIX)


def _table_line(text: str, name: str) -> int | None:
    """The line of the ``[models.NAME]`` (or ``[NAME]``) header in a models file."""
    quoted = rf"(?:{re.escape(name)}|\"{re.escape(name)}\"|'{re.escape(name)}')"
    header = re.compile(rf"^\s*\[\s*(?:models\s*\.\s*)?{quoted}\s*\]")
    for number, line in enumerate(text.splitlines(), start=1):
        if header.match(line):
            return number
    return None


def _key_line(text: str, table_line: int | None, key: str) -> int | None:
    """The line of ``key = ...`` in the table whose header is on ``table_line``."""
    if table_line is None:
        return None
    assignment = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\")\s*=")
    lines = text.splitlines()
    for number in range(table_line + 1, len(lines) + 1):
        line = lines[number - 1]
        if line.lstrip().startswith("["):
            break
        if assignment.match(line):
            return number
    return table_line


def _key_problem(key: str, value: Any) -> str | None:
    """What is wrong with a key checked where the models file is read, or ``None``. The
    file is no place for a key; the rest follow ``setting_rules``, the rules the backends
    build with."""
    if key == "api_key":
        return (
            "holds the API key itself; a models file is read, copied and committed, so it "
            "is no place for one: put the key in an environment variable and name that "
            'variable with api_key_env = "VARIABLE"'
        )
    if key not in FILE_CHECKED_KEYS:
        return None
    return setting_rules.problem(key, value)


def load_user_models(path: Path | None, *, required: bool = False) -> dict[str, ResolvedModel]:
    """Read the models file (``rest_models.toml``): one table per model name, see docs/models.md.

    Raises ``ModelsFileError`` naming the file (and the line and key, where they apply)
    when it is not valid UTF-8 TOML or a table is not a model definition; with
    ``required`` (the user named the file), also when it is not there.
    """
    if path is None or not path.is_file():
        if required and path is not None:
            raise ModelsFileError(f"{path}: no such models file (--rest-models-file)")
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        bad_line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ModelsFileError(
            f"{path}:{bad_line}: not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ModelsFileError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Newer tomllib and tomli give the line as ``lineno``; older ones only in the message.
        found = re.search(r"at line (\d+)", str(exc))
        at = getattr(exc, "lineno", None) or (int(found.group(1)) if found else None)
        where = f"{path}:{at}" if at else str(path)
        raise ModelsFileError(f"{where}: not valid TOML: {exc}") from exc
    models = data.get("models", data)
    if not isinstance(models, dict):
        raise ModelsFileError(f"{path}: 'models' must be a table of model tables")
    out: dict[str, ResolvedModel] = {}
    for name, table in models.items():
        line = _table_line(text, name)
        where = f"{path}:{line}" if line else str(path)
        if not isinstance(table, dict):
            raise ModelsFileError(f"{where}: [models.{name}] must be a table")
        params = dict(table)
        for key, value in params.items():
            problem = _key_problem(key, value)
            if problem is not None:
                key_line = _key_line(text, line, key)
                raise ModelsFileError(
                    f"{path}:{key_line}: model {name!r}, key {key!r}: {problem}"
                    if key_line
                    else f"{path}: model {name!r}, key {key!r}: {problem}"
                )
        backend = params.pop("backend", None)
        if backend not in FILE_BACKENDS:
            raise ModelsFileError(
                f"{where}: model {name!r} has backend {backend!r}; "
                f"use {' or '.join(repr(b) for b in FILE_BACKENDS)}"
            )
        model_name = params.pop("name", None)
        if not isinstance(model_name, str):
            raise ModelsFileError(f"{where}: model {name!r} needs a 'name' string")
        prices = {part: float(params.pop(key)) for key, part in PRICE_KEYS.items() if key in params}
        out[name] = ResolvedModel(name, backend, model_name, params, origin=where, prices=prices)
    return out


def _exact_specs(options: ModelOptions) -> dict[str, ResolvedModel]:
    """Every exact spec: built-ins, overridden by the models file, overridden by models
    registered from Python."""
    registered = {spec: r for spec, r in _SPECS.items() if _is_registered(r)}
    user = load_user_models(options.models_file, required=options.models_file_named)
    return {**_SPECS, **user, **registered}


def known_specs(options: ModelOptions | None = None) -> list[str]:
    """Every spec a user can pass, for the usage error of an unknown one: ``reference`` and
    the mocks, the open-ended forms, then the aliases, the models file's and the registered
    ones in alphabetical order."""
    specs = _exact_specs(options or ModelOptions())
    first = [s for s, r in specs.items() if r.backend in ("reference", "mock")]
    open_ended = [f"{prefix}:{what}" for prefix, (_, what, _) in PREFIXES.items()]
    return [*first, *open_ended, *sorted(set(specs) - set(first))]


def resolve(spec: str, options: ModelOptions | None = None) -> ResolvedModel:
    """Turn a user's spec into a backend and name, or raise ``UnknownModelError``
    (``ModelsFileError`` when the models file cannot be read)."""
    options = options or ModelOptions()
    spec = spec.strip()
    exact = _exact_specs(options).get(spec)
    if exact is not None:
        return replace(exact, params=dict(exact.params))
    prefix, sep, rest = spec.partition(":")
    if sep and rest and prefix in PREFIXES:
        backend, _, params = PREFIXES[prefix]
        return ResolvedModel(spec, backend, rest, dict(params))
    known = ", ".join(known_specs(options))
    raise UnknownModelError(f"unknown model {spec!r}; known: {known}")


def load(resolved: ResolvedModel, options: ModelOptions | None = None) -> Model:
    """Build the model, importing its backend only now. A model of the models file that
    cannot be built is a ``ModelsFileError`` naming the file and its table's line."""
    factory = BACKENDS.get(resolved.backend)
    if factory is None:
        raise UnknownModelError(
            f"model {resolved.spec!r} names unknown backend {resolved.backend!r}"
        )
    if resolved.origin is None:
        return factory(resolved, options or ModelOptions())
    try:
        return factory(resolved, options or ModelOptions())
    except ModelAuthError:
        raise  # no key in the environment: not the file's fault
    except (ModelError, ValueError, TypeError) as exc:
        raise ModelsFileError(f"{resolved.origin}: {exc}") from None
