"""Model specs -> models. Resolving is pure and cheap (it runs before any test);
loading imports the backend lazily, so torch, transformers and openai stay optional."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rest_checks.models.base import Model, UnknownModelError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

BACKENDS = ("reference", "mock", "openai", "hf")
OLLAMA_BASE_URL = "http://localhost:11434/v1"
MODELS_FILE_NAME = "rest_models.toml"


@dataclass(frozen=True)
class ModelOptions:
    """Settings from the command line, environment or ini that shape how a model is built."""

    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    device: str | None = None
    dtype: str | None = None
    batch_size: int = 8
    concurrency: int = 16
    probe: bool = False
    models_file: Path | None = None


@dataclass(frozen=True)
class ResolvedModel:
    """A spec after aliases and user definitions are applied; enough to build the model."""

    spec: str
    backend: str
    name: str
    params: dict[str, Any] = field(default_factory=dict)


# Aliases map to a backend, a name and fixed parameters (pinned pixel budgets are part of
# the model identity, so a baseline is only compared with runs made the same way).
_QWEN_PIXELS = {"min_pixels": 256 * 28 * 28, "max_pixels": 1280 * 28 * 28}
ALIASES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "qwen2-vl": ("hf", "Qwen/Qwen2-VL-2B-Instruct", dict(_QWEN_PIXELS)),
    "qwen2.5-vl": ("hf", "Qwen/Qwen2.5-VL-3B-Instruct", dict(_QWEN_PIXELS)),
    "llava-1.5": ("hf", "llava-hf/llava-1.5-7b-hf", {}),
    "gpt-4o-mini": ("openai", "gpt-4o-mini", {}),
    "gpt-5-mini": ("openai", "gpt-5-mini", {}),
}
MOCKS = ("oracle", "text-only")

ModelFactory = Callable[["ModelOptions"], Model]
_REGISTERED: dict[str, ModelFactory] = {}


def register_model(spec: str, factory: ModelFactory) -> None:
    """Make ``--model SPEC`` build a model of your own (call it from a conftest.py)."""
    _REGISTERED[spec] = factory


def load_user_models(path: Path | None) -> dict[str, dict[str, Any]]:
    """Read ``rest_models.toml``: one table per model name, see README."""
    if path is None or not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UnknownModelError(f"{path}: not valid TOML: {exc}") from exc
    models = data.get("models", data)
    out: dict[str, dict[str, Any]] = {}
    for name, table in models.items():
        if not isinstance(table, dict):
            raise UnknownModelError(f"{path}: [models.{name}] must be a table")
        backend = table.get("backend")
        if backend not in ("openai", "hf"):
            raise UnknownModelError(
                f"{path}: model {name!r} has backend {backend!r}; use 'openai' or 'hf'"
            )
        if not isinstance(table.get("name"), str):
            raise UnknownModelError(f"{path}: model {name!r} needs a 'name' string")
        out[name] = table
    return out


def known_specs(options: ModelOptions | None = None) -> list[str]:
    """Every spec a user can pass, for the usage error of an unknown one."""
    options = options or ModelOptions()
    user = sorted(load_user_models(options.models_file))
    return [
        "reference",
        *(f"mock:{m}" for m in MOCKS),
        "openai:NAME",
        "hf:REPO_OR_PATH",
        "ollama:NAME",
        *sorted(ALIASES),
        *user,
        *sorted(_REGISTERED),
    ]


def resolve(spec: str, options: ModelOptions | None = None) -> ResolvedModel:
    """Turn a user's spec into a backend and name, or raise ``UnknownModelError``."""
    options = options or ModelOptions()
    spec = spec.strip()
    if spec in _REGISTERED:
        return ResolvedModel(spec, "registered", spec)
    user_models = load_user_models(options.models_file)
    if spec in user_models:
        table = dict(user_models[spec])
        backend, name = table.pop("backend"), table.pop("name")
        return ResolvedModel(spec, backend, name, table)
    if spec == "reference":
        return ResolvedModel(spec, "reference", "reference")
    if spec in ALIASES:
        backend, name, params = ALIASES[spec]
        return ResolvedModel(spec, backend, name, dict(params))
    prefix, sep, rest = spec.partition(":")
    if sep and rest:
        if prefix == "mock" and rest in MOCKS:
            return ResolvedModel(spec, "mock", rest)
        if prefix == "openai":
            return ResolvedModel(spec, "openai", rest)
        if prefix == "ollama":
            return ResolvedModel(
                spec, "openai", rest, {"base_url": OLLAMA_BASE_URL, "api_key": "ollama"}
            )
        if prefix == "hf":
            return ResolvedModel(spec, "hf", rest)
    known = ", ".join(known_specs(options))
    raise UnknownModelError(f"unknown model {spec!r}; known: {known}")


def load(resolved: ResolvedModel, options: ModelOptions | None = None) -> Model:
    """Build the model, importing its backend only now."""
    options = options or ModelOptions()
    params = dict(resolved.params)
    if resolved.backend == "registered":
        return _REGISTERED[resolved.name](options)
    if resolved.backend == "reference":
        from rest_checks.models.reference import ReferenceModel

        return ReferenceModel(spec=resolved.spec)
    if resolved.backend == "mock":
        from rest_checks.models.mock import MockModel

        return MockModel(resolved.name, spec=resolved.spec)
    if resolved.backend == "openai":
        from rest_checks.models.openai_api import OpenAIModel

        return OpenAIModel(
            resolved.name,
            spec=resolved.spec,
            base_url=params.pop("base_url", None) or options.base_url,
            api_key_env=params.pop("api_key_env", options.api_key_env),
            api_key=params.pop("api_key", None),
            concurrency=int(params.pop("concurrency", options.concurrency)),
            settings=params,
        )
    if resolved.backend == "hf":
        from rest_checks.models.hf import HFModel

        return HFModel(
            resolved.name,
            spec=resolved.spec,
            device=params.pop("device", options.device),
            dtype=params.pop("dtype", options.dtype),
            batch_size=int(params.pop("batch_size", options.batch_size)),
            probe=options.probe,
            settings=params,
        )
    raise UnknownModelError(f"model {resolved.spec!r} names unknown backend {resolved.backend!r}")
