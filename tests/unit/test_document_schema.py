"""The results and baseline documents against their JSON Schemas (docs/*.schema.json): the
committed schemas are the ones the TypedDicts generate, every typed key is in them, and real
runs' files (pytest runs of the suite, and in-process runs with errors, REST+, the
Hypothesis check, token usage and prices, the parity ladder) validate against them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args, get_type_hints, is_typeddict

import jsonschema
import pytest
from suite_runs import make_suite, run_suite

from rest_checks.baseline_document import BASELINE_FORMAT, BaselineDocument
from rest_checks.diagnosis import diagnose
from rest_checks.document_schema import SCHEMAS, schema_texts
from rest_checks.results_document import RESULTS_FORMAT, ResultsDocument
from tests.unit.parity_runs import build_parity_run
from tests.unit.report_sample import build_sample_run, build_small_run
from tests.unit.test_token_usage import Metered

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((DOCS / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def _problems(document: Any, name: str, definition: str | None = None) -> list[str]:
    """Where ``document`` breaks the schema ``name`` (or its definition ``definition``)."""
    schema = _schema(name)
    if definition is not None:
        schema = {"$ref": f"#/$defs/{definition}", "$defs": schema["$defs"]}
    validator = jsonschema.Draft202012Validator(schema)
    return [
        f"/{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def _file(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# --- the schemas and the types ----------------------------------------------------------


def test_the_committed_schemas_are_the_ones_the_types_generate() -> None:
    for name, text in schema_texts().items():
        assert (DOCS / name).read_text(encoding="utf-8") == text, (
            f"docs/{name} is out of date: python -m rest_checks.document_schema docs"
        )


def _typed_dicts(root: Any) -> dict[str, Any]:
    """Every TypedDict reachable from ``root`` through its annotations, by name."""
    found: dict[str, Any] = {}
    stack = [root]
    while stack:
        hint = stack.pop()
        if is_typeddict(hint):
            if hint.__name__ in found:
                continue
            found[hint.__name__] = hint
            stack.extend(get_type_hints(hint).values())
        else:
            stack.extend(get_args(hint))
    return found


@pytest.mark.parametrize(
    ("name", "root"),
    [("results.schema.json", ResultsDocument), ("baseline.schema.json", BaselineDocument)],
)
def test_every_typed_key_is_in_the_schema_and_the_schema_has_no_other(name: str, root: Any) -> None:
    schema = _schema(name)
    for typed_name, typed in _typed_dicts(root).items():
        where = schema if typed is root else schema["$defs"][typed_name]
        keys = list(get_type_hints(typed))
        assert list(where["properties"]) == keys, f"{name}: {typed_name}"
        assert set(where["required"]) == set(typed.__required_keys__), f"{name}: {typed_name}"
        assert where["additionalProperties"] is False


def test_the_schemas_hold_the_formats_the_code_writes_and_reads() -> None:
    assert _schema("results.schema.json")["properties"]["format"] == {"const": RESULTS_FORMAT}
    assert _schema("baseline.schema.json")["properties"]["format"] == {"const": BASELINE_FORMAT}
    assert set(SCHEMAS) == {"results.schema.json", "baseline.schema.json"}


# --- real outputs -------------------------------------------------------------------------


def _assert_valid_results(path: Path) -> dict[str, Any]:
    document = _file(path)
    assert _problems(document, "results.schema.json") == [], path
    return dict(document)


def _assert_valid_baseline(path: Path) -> None:
    assert _problems(_file(path), "baseline.schema.json") == [], path


@pytest.mark.slow
def test_a_suite_run_and_its_baseline_match_their_schemas(pytester: pytest.Pytester) -> None:
    suite = make_suite(pytester)
    args = ["--rest-suite", "arith,mcq", "--rest-n", "3", "--rest-plus", "--rest-plus-n", "1"]
    written = run_suite(
        suite, "--model", "mock:oracle", *args, "--rest-json", "first.json", "--snapshot-update"
    )
    assert written.ret == 0
    _assert_valid_results(suite.path / "first.json")
    _assert_valid_baseline(suite.path / "baselines" / "mock_oracle.json")
    # Another model against that baseline, named on purpose, decided in waves: a gate with
    # its sequential decision, regressions, the diagnosis and the identity differences.
    judged = run_suite(
        suite,
        "--model",
        "mock:text-only",
        *args,
        "--rest-baseline",
        "baselines/mock_oracle.json",
        "--rest-sequential",
        "--rest-json",
        "second.json",
    )
    assert judged.ret == 1
    results = _assert_valid_results(suite.path / "second.json")
    base = results["baseline"]
    assert base["gate"]["sequential"] is not None and base["diagnosis"] is not None
    assert base["regressions"] and base["identity_differences"]


def test_a_run_with_errors_rest_plus_and_the_hypothesis_check_matches(tmp_path: Path) -> None:
    build_sample_run(tmp_path)
    results = _assert_valid_results(tmp_path / "results.json")
    assert results["errors"] and results["invariance"]["counterexamples"]
    assert any("images" in item for item in results["items"])
    assert results["baseline"]["gate"] is not None


def test_a_run_with_token_usage_and_prices_matches(tmp_path: Path) -> None:
    path = build_small_run(tmp_path, Metered(), prices={"prompt": 1.0})
    results = _assert_valid_results(path)
    assert results["usage"]["cost"]["total"] > 0


def test_a_parity_run_matches(tmp_path: Path) -> None:
    build_parity_run(tmp_path)
    results = _assert_valid_results(tmp_path / "results.json")
    assert results["parity"]["parity_point"] is not None


def test_a_diagnosis_that_names_a_place_matches() -> None:
    factors = {
        f"case-{i}": {
            "task": "arith",
            "font": "Dancing Script" if i < 20 else "DejaVu Sans",
            "dpi": "50 DPI" if i % 2 else "100 DPI",
            "colour": "black on white",
            "answer_type": "number",
            "question_length": "5 words",
        }
        for i in range(80)
    }
    baseline = dict.fromkeys(factors, True)
    current = {key: int(key.split("-")[1]) >= 20 for key in factors}
    block = diagnose(baseline, current, factors, alpha=0.05).to_json()
    assert block["where"] is not None
    assert _problems(block, "results.schema.json", "Diagnosis") == []


# --- the schema can fail -----------------------------------------------------------------


def test_the_schema_names_a_missing_key_an_unknown_key_and_a_wrong_type(tmp_path: Path) -> None:
    build_sample_run(tmp_path)
    good = _file(tmp_path / "results.json")
    broken = json.loads(json.dumps(good))
    del broken["metrics"]["rer"]
    broken["items"][0]["surprise"] = 1
    broken["baseline"]["gate"]["verdict"] = "maybe"
    broken["format"] = 1
    problems = _problems(broken, "results.schema.json")
    assert any(p.startswith("/metrics: 'rer' is a required property") for p in problems)
    assert any(p.startswith("/items/0: Additional properties") for p in problems)
    # The gate may be null, so its wrong verdict makes the whole block invalid.
    assert any(p.startswith("/baseline/gate:") for p in problems)
    assert any(p.startswith("/format:") for p in problems)
    baseline = _file(tmp_path / "baselines" / "mock_oracle.json")
    baseline["cases"][next(iter(baseline["cases"]))]["consistent"] = "yes"
    assert len(_problems(baseline, "baseline.schema.json")) == 1
