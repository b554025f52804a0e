"""What a run shows and leaves behind is safe and never stale, end to end through pytester:
hostile model text is spelled out on the terminal and kept exactly in the results, and a
run that stops early never leaves an earlier results file in place."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from suite_runs import make_suite, run_suite

CONFTEST = '''
from rest_checks.models.base import ModelAuthError, Response
from rest_checks.models.mock import MockModel
from rest_checks.models.registry import register_model

HOSTILE = "\\x1b[2J\\x1b]0;owned\\x07Looks fine.\\nANSWER: 999"


class Hostile(MockModel):
    """Oracle in text; in images a reply that would clear and retitle the terminal."""

    def generate(self, requests):
        answers = super().generate(requests)
        return [
            Response(HOSTILE) if r.modality == "image" else a
            for r, a in zip(requests, answers)
        ]


class RefusedKey(MockModel):
    def generate(self, requests):
        raise ModelAuthError("the server refused the API key; check OPENAI_API_KEY")


register_model("mock:hostile", lambda options: Hostile("oracle", spec="mock:hostile"))
register_model("mock:refused", lambda options: RefusedKey("oracle", spec="mock:refused"))
register_model(
    "mock:breaks-two",
    lambda options: MockModel("text-only", spec="mock:breaks-two",
                              only_items={"soebench-0002", "arith-0001"}),
)
'''

FAST = ["--rest-n", "2", "--rest-no-cache"]


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    return make_suite(pytester, CONFTEST)


def run(pytester: pytest.Pytester, *args: str, workers: int = 0) -> pytest.RunResult:
    return run_suite(pytester, *FAST, *args, workers=workers)


def results(pytester: pytest.Pytester) -> dict[str, Any]:
    return json.loads((pytester.path / "out.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("workers", [0, 2])
def test_hostile_reply_is_spelled_out_on_the_terminal_and_kept_in_the_results(
    suite: pytest.Pytester, workers: int
) -> None:
    result = run(
        suite,
        "--model",
        "mock:hostile",
        "--rest-json",
        "out.json",
        "--junitxml",
        "junit.xml",
        workers=workers,
    )
    assert result.ret == 1
    shown = result.stdout.str() + result.stderr.str()
    assert "raw image tail" in shown
    assert "\\x1b[2J\\x1b]0;owned\\x07" in shown
    assert "\x1b" not in shown and "\x07" not in shown
    # The results keep the exact reply; JSON escapes it, so the file stays valid.
    items = results(suite)["items"]
    assert items and all(item["raw"]["image"].startswith("\x1b[2J\x1b]0;owned") for item in items)
    # JUnit XML stays well-formed and says what failed, without the raw escape.
    tree = ET.parse(suite.path / "junit.xml")
    failures = [f.get("message", "") + (f.text or "") for f in tree.iter("failure")]
    assert failures and all("\x1b" not in text for text in failures)
    assert any("\\x1b[2J" in text for text in failures)


@pytest.mark.parametrize("workers", [0, 2])
def test_a_run_that_stops_before_any_case_leaves_no_stale_results(
    suite: pytest.Pytester, workers: int
) -> None:
    stale = suite.path / "out.json"
    stale.write_text('{"stale": true}', encoding="utf-8")
    result = run(suite, "--model", "mock:refused", "--rest-json", "out.json", workers=workers)
    assert result.ret != 0
    assert not stale.exists()


def test_results_say_whether_the_run_went_to_its_end(suite: pytest.Pytester) -> None:
    full = run(suite, "--model", "mock:breaks-two", "--rest-json", "out.json")
    assert full.ret == 1
    assert results(suite)["complete"] is True

    stopped = run(suite, "--model", "mock:breaks-two", "--rest-json", "out.json", "-x")
    assert stopped.ret == 1
    document = results(suite)
    assert document["complete"] is False
    assert document["n_items"] < 6
