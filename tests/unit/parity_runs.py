"""A run of the parity ladder with a model that misreads pages below 100 DPI: what the
parity tests and the browser tests look at."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rest_checks.config import RestSettings
from rest_checks.models.base import Model
from rest_checks.parity import PARITY_LADDER
from rest_checks.run import RestRun

# A model that misreads pages below 100 DPI: the oracle elsewhere. Source text, so that
# the pytester project's conftest can register the same model.
SHARP_EYED_MODEL = """
from rest_checks.models.base import Model
from rest_checks.models.mock import MockModel
from rest_checks.models.registry import register_model
from rest_checks.parity import PARITY_LADDER


class SharpEyed(Model):
    def __init__(self):
        self.oracle = MockModel("oracle")
        self.blurred = MockModel("text-only")
        self.spec = "mock:sharp-eyed"

    def identity(self):
        return self.oracle.identity()

    def generate(self, requests):
        def dpi(request):
            spec = PARITY_LADDER.get(request.rendering)
            return 200 if spec is None else spec.dpi

        return [(self.blurred if dpi(r) < 100 else self.oracle).generate([r])[0] for r in requests]
"""
# What a pytester project's conftest adds: the model, registered as mock:sharp-eyed (kept out
# of this process's registry, which other tests read).
SHARP_EYED = SHARP_EYED_MODEL + """

register_model("mock:sharp-eyed", lambda options: SharpEyed())
"""


def _sharp_eyed() -> Model:
    namespace: dict[str, Any] = {}
    exec(SHARP_EYED_MODEL, namespace)  # the model's source above
    model: Model = namespace["SharpEyed"]()
    return model


def build_parity_run(root: Path) -> dict[str, Any]:
    """A run of the parity ladder with a model that misreads pages below 100 DPI, with
    its HTML report; the results document."""
    values = {
        "rest_model": "mock:oracle",
        "rest_suite": ("arith",),
        "rest_n": 8,
        "rest_plus": True,
        "rest_plus_n": 8,
        "rest_parity": True,
        "rest_no_cache": True,
        "rest_json": "results.json",
        "rest_html": "report.html",
    }
    run = RestRun(RestSettings.from_values(values, root), _sharp_eyed())
    for item in run.plus_items():
        for name in PARITY_LADDER:
            run.cross_modal(item, name)
    run.finish()
    return json.loads((root / "results.json").read_text(encoding="utf-8"))
