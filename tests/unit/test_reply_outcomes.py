"""Replies with no answer for a reason of their own: cut off by the answer budget
(``truncated``) or naming one option while quoting another (``ambiguous``). Each is kept per
modality in ``CaseRecord.rules`` and shown in the failure message, the results JSON, the
summary, the CSV and the report; so is the rule that read every other answer."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from rest_checks.csv_export import csv_text
from rest_checks.items.base import OPTION_LETTERS
from rest_checks.models.base import Model, Response
from rest_checks.models.mock import MockModel
from rest_checks.prompts import Request
from rest_checks.reply_outcomes import answer_label, cut_at, outcome_counts, was_cut
from rest_checks.run import RestRun
from rest_checks.step_summary import markdown_summary
from rest_checks.verdicts import failure_message
from tests.unit.test_run import settings


def test_a_reply_stopped_by_its_budget_is_cut() -> None:
    assert was_cut({"finish_reason": "length"})
    assert not was_cut({"finish_reason": "stop"})
    assert not was_cut({})


def test_where_a_reply_was_cut_prefers_what_the_backend_counted() -> None:
    assert cut_at({"usage": {"completion_tokens": 900}, "max_tokens": 1024}) == 900
    assert cut_at({"new_tokens": 700, "max_tokens": 1024}) == 700
    assert cut_at({"max_tokens": 2048}) == 2048
    assert cut_at({"usage": None}) is None


def test_an_answer_label_says_why_there_is_no_answer() -> None:
    assert answer_label("B", "answer_line") == "B"
    assert answer_label(None, None) == "(no answer)"
    assert answer_label(None, "ambiguous") == "(ambiguous)"
    assert answer_label(None, "truncated", {"max_tokens": 1024}) == (
        "(truncated: cut at 1024 tokens)"
    )
    assert answer_label(None, "truncated") == "(truncated)"


def test_outcomes_are_counted_per_modality() -> None:
    items = [
        {"rules": {"text": "answer_line", "image": "truncated", "mixed": "ambiguous"}},
        {"rules": {"text": "truncated", "image": "truncated", "mixed": None}},
        {},
    ]
    assert outcome_counts(items, ("text", "image", "mixed")) == {
        "ambiguous": {"text": 0, "image": 0, "mixed": 1},
        "truncated": {"text": 1, "image": 2, "mixed": 0},
    }


class CutAndAmbiguousModel(Model):
    """The oracle, except that every image reply is cut at its budget and every mixed
    reply to a multiple-choice item gives a wrong letter beside the right option's text."""

    def __init__(self) -> None:
        self.inner = MockModel("oracle")
        self.spec = "mock:cut"

    def identity(self) -> dict[str, Any]:
        return {"backend": "mock", "name": "cut"}

    def generate(self, requests: Sequence[Request]) -> list[Response]:
        replies = []
        for request, reply in zip(requests, self.inner.generate(requests), strict=True):
            item = request.item
            assert item is not None
            if request.modality == "image":
                reply = Response(
                    "Let me count the 3 boxes. ANSWER: 3... wait",
                    extra={"finish_reason": "length", "usage": {"completion_tokens": 1024}},
                )
            elif request.modality == "mixed" and item.answer_type == "choice":
                right = OPTION_LETTERS.index(item.expected)
                wrong = OPTION_LETTERS[(right + 1) % len(item.options)]
                reply = Response(f"ANSWER: {wrong}. {item.options[right]}")
            replies.append(reply)
        return replies


def _run(tmp_path: Path) -> RestRun:
    run = RestRun(
        settings(tmp_path, rest_suite=("mcq", "arith"), rest_n=2, rest_csv="cases.csv"),
        CutAndAmbiguousModel(),
    )
    run.plan([(item, "default") for item in run.items()])
    for item in run.items():
        run.cross_modal(item)
    return run


def test_cut_and_ambiguous_replies_are_outcomes_of_their_own(tmp_path: Path) -> None:
    run = _run(tmp_path)
    by_task = {r.task: r for r in run.records}
    mcq, arith = by_task["mcq"], by_task["arith"]
    assert mcq.rules == {"text": "answer_line", "image": "truncated", "mixed": "ambiguous"}
    assert arith.rules == {"text": "answer_line", "image": "truncated", "mixed": "answer_line"}
    assert mcq.answers["image"] is None and mcq.answers["mixed"] is None
    # The draft "ANSWER: 3" of the cut reply is not read.
    assert arith.answers["image"] is None
    message = failure_message(mcq, None, [])
    assert "image   -> (truncated: cut at 1024 tokens)" in message
    assert "mixed   -> (ambiguous)" in message


def test_outcomes_and_rules_reach_the_json_the_summary_and_the_csv(tmp_path: Path) -> None:
    run = _run(tmp_path)
    outcome = run.finish()
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["outcomes"]["truncated"] == {"text": 0, "image": 4, "mixed": 0}
    assert results["outcomes"]["ambiguous"] == {"text": 0, "image": 0, "mixed": 2}
    first = results["items"][0]
    assert set(first["rules"]) == {"text", "image", "mixed"}
    assert first["rules"]["text"] == "answer_line"
    lines = "\n".join(outcome.lines)
    assert "no answer, truncated: image 4" in lines
    assert "no answer, ambiguous: mixed 2" in lines
    rows = list(csv.DictReader(io.StringIO(csv_text(results))))
    assert {row["rule_image"] for row in rows} == {"truncated"}
    assert {row["rule_text"] for row in rows} == {"answer_line"}
    assert (tmp_path / "cases.csv").read_text() == csv_text(results)
    summary = markdown_summary(results)
    assert "**No answer:** ambiguous: mixed 2; truncated: image 4" in summary


def test_the_report_shows_why_and_by_which_rule(tmp_path: Path) -> None:
    from rest_checks.html_report import render_report

    run = _run(tmp_path)
    run.finish()
    html = render_report(json.loads((tmp_path / "results.json").read_text()))
    assert "(truncated: cut at 1024 tokens)" in html
    assert "(ambiguous)" in html
    assert "<th>read by</th>" in html
    assert "No answer: ambiguous: mixed 2; truncated: image 4" in html
    assert "<td>answer_line</td>" in html


# -- the answer budget ------------------------------------------------------------------


def test_the_answer_budget_is_an_option_like_the_others() -> None:
    from rest_checks.config import OPTIONS_BY_DEST, SettingError, resolve_option

    option = OPTIONS_BY_DEST["rest_max_tokens"]
    assert option.flag == "--rest-max-tokens"
    assert resolve_option(option, None, {}, None) is None
    assert resolve_option(option, None, {"REST_MAX_TOKENS": "4096"}, "2048") == 4096
    assert resolve_option(option, 8192, {"REST_MAX_TOKENS": "4096"}, None) == 8192
    assert resolve_option(option, None, {}, "2048") == 2048
    with pytest.raises(SettingError, match=r"REST_MAX_TOKENS='0'.*at least 1"):
        resolve_option(option, None, {"REST_MAX_TOKENS": "0"}, None)


def test_the_answer_budget_reaches_every_answer_request_and_the_identity(tmp_path: Path) -> None:
    default = RestRun(settings(tmp_path, rest_suite=("soebench", "arith")), MockModel("oracle"))
    raised = RestRun(
        settings(tmp_path, rest_suite=("soebench", "arith"), rest_max_tokens=4096),
        MockModel("oracle"),
    )
    for item in default.items():
        budgets = {r.modality: r.max_tokens for r in default.requests_for(item, "default")}
        assert budgets["text"] == (2048 if item.task == "soebench" else 1024)
        assert budgets["ocr"] == 1024
    for item in raised.items():
        budgets = {r.modality: r.max_tokens for r in raised.requests_for(item, "default")}
        assert budgets == {"text": 4096, "image": 4096, "mixed": 4096, "ocr": 1024}
        assert [r.max_tokens for r in raised.requests_for(item, None)] == [4096]
    assert "max_tokens" not in default.identity
    assert raised.identity == {**default.identity, "max_tokens": 4096}
    assert "max-tokens=4096" in raised.settings.header()


class ValuesOnlyModel(Model):
    """Answers every solution request with the values alone, in the unknowns' order."""

    spec = "mock:values-only"

    def identity(self) -> dict[str, Any]:
        return {"backend": "mock", "name": "values-only"}

    def generate(self, requests: Sequence[Request]) -> list[Response]:
        replies = []
        for request in requests:
            assert request.item is not None
            values = [pair.partition("=")[2] for pair in request.item.expected.split(", ")]
            replies.append(Response(", ".join(values)))
        return replies


def test_the_run_gives_the_reader_the_unknowns_of_a_solution(tmp_path: Path) -> None:
    run = RestRun(settings(tmp_path, rest_suite=("soebench",), rest_n=2), ValuesOnlyModel())
    for item in run.items():
        record = run.cross_modal(item)
        assert record.answers == dict.fromkeys(("text", "image", "mixed"), item.expected)
        assert set(record.rules.values()) == {"whole_reply"}


def test_a_reply_cut_by_a_real_server_is_truncated_and_the_budget_is_sent(tmp_path: Path) -> None:
    """Over HTTP: the server says ``finish_reason: length`` for image requests; the run
    sends ``--rest-max-tokens`` as the budget and reads none of the cut reply."""
    from rest_checks.models.openai_api import OpenAIModel
    from rest_checks.testing import ChatCompletionsServer, Reply, request_images

    def respond(request_json: Any, state: Any) -> Reply:
        if request_images(request_json):
            return Reply("Counting the boxes: ANSWER: 12 so far, and then", finish_reason="length")
        return Reply("Reasoning.\nANSWER: 7")

    with ChatCompletionsServer(respond, api_key="sk-test") as server:
        model = OpenAIModel(
            "test-model",
            spec="openai:test-model",
            base_url=server.base_url,
            api_key="sk-test",
            concurrency=4,
            settings={"retry_base_delay": 0.01, "retry_max_delay": 0.05, "timeout": 5.0},
        )
        try:
            run = RestRun(
                settings(tmp_path, rest_suite=("arith",), rest_n=1, rest_max_tokens=3000), model
            )
            (item,) = run.items()
            record = run.cross_modal(item, "default")
        finally:
            model.close()
        budgets = {
            r.json.get("max_tokens") or r.json.get("max_completion_tokens")
            for r in server.state.completions
        }
    assert record.rules["image"] == "truncated"
    assert record.rules["mixed"] == "truncated"
    assert record.answers["image"] is None  # not the draft 12
    assert budgets == {3000, 1024}  # the answers' budget, and the OCR request's own
    assert "(truncated: cut at " in failure_message(record, None, [])
