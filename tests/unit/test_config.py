"""Settings: parsing, validation messages and precedence CLI > env > ini > default."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from rest_checks.config import (
    OPTIONS,
    OPTIONS_BY_DEST,
    RestSettings,
    SettingError,
    resolve_option,
    slug,
    suite_list,
)
from rest_checks.models.registry import ModelOptions
from rest_checks.options import count_or_all, options_of, positive_int


def test_cli_beats_env_beats_ini_beats_default() -> None:
    option = OPTIONS_BY_DEST["rest_n"]
    assert resolve_option(option, None, {}, None) == option.default
    assert resolve_option(option, None, {}, "4") == 4
    assert resolve_option(option, None, {"REST_N": "5"}, "4") == 5
    assert resolve_option(option, 6, {"REST_N": "5"}, "4") == 6


def test_empty_values_count_as_unset() -> None:
    option = OPTIONS_BY_DEST["rest_model"]
    assert resolve_option(option, None, {"REST_MODEL": ""}, "") == "reference"


def test_flags_can_be_switched_on_from_the_environment() -> None:
    option = OPTIONS_BY_DEST["rest_no_cache"]
    assert resolve_option(option, None, {"REST_NO_CACHE": "1"}, None) is True
    assert resolve_option(option, None, {"REST_NO_CACHE": "no"}, None) is False


def test_bad_env_value_names_the_variable_and_what_is_accepted() -> None:
    expected = r"environment variable REST_ALPHA='2'.*outside \[0, 1\]"
    with pytest.raises(SettingError, match=expected):
        resolve_option(OPTIONS_BY_DEST["rest_alpha"], None, {"REST_ALPHA": "2"}, None)
    with pytest.raises(SettingError, match="ini key rest_n='x'"):
        resolve_option(OPTIONS_BY_DEST["rest_n"], None, {}, "x")


def test_suite_file_paths_resolve_against_the_rootdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "items.jsonl").write_text("")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the current directory plays no part
    assert suite_list("soebench, mcq,items.jsonl") == ("soebench", "mcq", "items.jsonl")
    settings = RestSettings.from_values({"rest_suite": ("arith", "items.jsonl")}, tmp_path)
    assert settings.suite_sources() == ("arith", str(tmp_path / "items.jsonl"))
    with pytest.raises(SettingError, match=r"neither a task source.*nonsense"):
        RestSettings.from_values({"rest_suite": ("soebench", "nonsense")}, tmp_path)
    with pytest.raises(argparse.ArgumentTypeError, match="empty"):
        suite_list(" , ")


def test_zero_is_refused_where_it_means_nothing() -> None:
    assert count_or_all("0") == 0  # items per task: 0 means all
    with pytest.raises(argparse.ArgumentTypeError, match="negative"):
        count_or_all("-1")
    assert positive_int("3") == 3
    for text in ("0", "-2"):
        with pytest.raises(argparse.ArgumentTypeError, match="at least 1"):
            positive_int(text)
    for dest in ("rest_concurrency", "rest_batch_size"):
        with pytest.raises(SettingError, match="at least 1"):
            resolve_option(OPTIONS_BY_DEST[dest], None, {OPTIONS_BY_DEST[dest].env: "0"}, None)
    with pytest.raises(SettingError, match="more than 0 seconds"):
        resolve_option(OPTIONS_BY_DEST["rest_timeout"], None, {"REST_TIMEOUT": "0"}, None)


def test_each_setting_is_declared_once_and_reaches_its_field(tmp_path: Path) -> None:
    assert len({o.dest for o in OPTIONS}) == len(OPTIONS)
    assert len({o.flag for o in OPTIONS}) == len({o.env for o in OPTIONS}) == len(OPTIONS)
    model_fields = {o.field for o in options_of(ModelOptions)}
    assert model_fields == {
        "models_file",
        "base_url",
        "api_key_env",
        "concurrency",
        "timeout",
        "device",
        "dtype",
        "batch_size",
        "probe",
    }
    values = {"rest_concurrency": 5, "rest_batch_size": 3, "rest_n": 7, "rest_plus_n": 0}
    settings = RestSettings.from_values(values, tmp_path)
    assert (settings.model_options.concurrency, settings.model_options.batch_size) == (5, 3)
    assert (settings.n, settings.plus_n) == (7, 0)
    assert settings.model_options.models_file == tmp_path / "rest_models.toml"
    # Defaults come from the one table: a field's default is its option's default.
    defaults = RestSettings.from_values({}, tmp_path)
    for option in OPTIONS:
        holder = defaults.model_options if option in options_of(ModelOptions) else defaults
        value = getattr(holder, option.field)
        if not option.is_path:
            assert value == option.default, option.flag


def test_baseline_defaults_to_the_model_slug_under_the_rootdir(tmp_path: Path) -> None:
    values = {o.dest: o.default for o in OPTIONS_BY_DEST.values()}
    values["rest_model"] = "openai:gpt-4o-mini"
    settings = RestSettings.from_values(values, tmp_path)
    assert settings.baseline_path == tmp_path / "baselines" / "openai_gpt-4o-mini.json"
    assert settings.cache_dir == tmp_path / ".rest-cache"
    values["rest_no_cache"] = True
    assert RestSettings.from_values(values, tmp_path).cache_dir is None


def test_slug_is_file_name_safe() -> None:
    assert slug("hf:/models/Qwen2-VL 2B") == "hf_models_Qwen2-VL_2B"


def test_rest_format_names_a_layout_or_auto(tmp_path: Path) -> None:
    option = OPTIONS_BY_DEST["rest_format"]
    assert resolve_option(option, None, {}, None) == "auto"
    assert resolve_option(option, None, {"REST_FORMAT": "gsm8k"}, None) == "gsm8k"
    with pytest.raises(SettingError, match="'csv' is not one of auto, mmlu-csv"):
        resolve_option(option, None, {"REST_FORMAT": "csv"}, None)
    settings = RestSettings.from_values({"rest_format": "arc-csv"}, tmp_path)
    assert settings.layout == "arc-csv" and "format=arc-csv" in settings.header()
    assert RestSettings.from_values({}, tmp_path).layout is None


def test_a_directory_is_a_suite_source(tmp_path: Path) -> None:
    (tmp_path / "data" / "test").mkdir(parents=True)
    settings = RestSettings.from_values({"rest_suite": ("data/test",)}, tmp_path)
    assert settings.suite_sources() == (str(tmp_path / "data" / "test"),)
