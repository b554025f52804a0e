"""Models under test behind one small interface; backends import lazily."""

from rest_checks.models.base import (
    Model,
    ModelAuthError,
    ModelError,
    ModelLoadError,
    ModelUnusableError,
    Response,
    UnknownModelError,
    identity_key,
)
from rest_checks.models.registry import (
    ModelOptions,
    ModelsFileError,
    ResolvedModel,
    known_specs,
    load,
    register_model,
    resolve,
)

__all__ = [
    "Model",
    "ModelAuthError",
    "ModelError",
    "ModelLoadError",
    "ModelOptions",
    "ModelUnusableError",
    "ModelsFileError",
    "ResolvedModel",
    "Response",
    "UnknownModelError",
    "identity_key",
    "known_specs",
    "load",
    "register_model",
    "resolve",
]
