"""The baseline document (``baselines/<model>.json``, docs/baselines.md) as typed structures.

``rest_checks.baselines`` writes and reads a ``BaselineDocument``;
``docs/baseline.schema.json`` is generated from these types
(``rest_checks.document_schema``) and checked in tests against real baselines.
"""

from __future__ import annotations

from typing import Any, Final, Literal, TypedDict

from rest_checks.results_document import Metrics

BASELINE_FORMAT: Final = 3


class BaselineCase(TypedDict):
    """A case as the baseline recorded it, and a hash of what it asked (item, rendering)."""

    consistent: bool
    fingerprint: str


class BaselineDocument(TypedDict):
    """A whole run's accepted behaviour: what its cases depend on (``signature``), the
    model's identity, the aggregate metrics (rounded) and every case by key."""

    format: Literal[3]
    model: str
    model_identity: dict[str, Any]
    suite: list[str]
    seed: int
    signature: dict[str, Any]
    metrics: Metrics
    cases: dict[str, BaselineCase]
