"""The example GitHub Actions workflow stays in step with the options it uses."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from rest_checks.config import OPTIONS

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "github-actions" / "rest-gate.yml"
PYTEST_FLAGS = {"--pyargs", "-n", "--junitxml"}


def _steps() -> list[dict[str, Any]]:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    (job,) = workflow["jobs"].values()
    return list(job["steps"])


def test_every_flag_of_the_gate_step_is_an_option_of_the_plugin_or_of_pytest() -> None:
    (gate,) = [s for s in _steps() if "pytest" in str(s.get("run", ""))]
    words = shlex.split(gate["run"])
    flags = {w for w in words if w.startswith("-")}
    known = {o.flag for o in OPTIONS} | PYTEST_FLAGS
    assert flags - known == set()
    assert {"--rest-html", "--rest-csv", "--rest-json", "--rest-fail-inconclusive"} <= flags
    assert "OPENAI_API_KEY" in gate["env"] and "secrets." in gate["env"]["OPENAI_API_KEY"]


def test_the_report_is_uploaded_whatever_the_verdict() -> None:
    (upload,) = [s for s in _steps() if str(s.get("uses", "")).startswith("actions/upload")]
    assert upload["if"] == "always()"
    (gate,) = [s for s in _steps() if "pytest" in str(s.get("run", ""))]
    html = re.search(r"--rest-html (\S+)", gate["run"])
    assert html is not None and html.group(1).startswith(upload["with"]["path"].rstrip("/"))
