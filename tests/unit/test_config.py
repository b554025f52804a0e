"""Settings: parsing, validation messages and precedence CLI > env > ini > default."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from rest_checks.config import (
    OPTIONS_BY_DEST,
    RestSettings,
    SettingError,
    positive_int,
    resolve_option,
    slug,
    suite_list,
)


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


def test_suite_accepts_known_sources_and_existing_files(tmp_path: Path) -> None:
    items = tmp_path / "items.jsonl"
    items.write_text("")
    assert suite_list(f"soebench, mcq,{items}") == ("soebench", "mcq", str(items))
    with pytest.raises(argparse.ArgumentTypeError, match="neither a task source"):
        suite_list("soebench,nonsense")
    with pytest.raises(argparse.ArgumentTypeError, match="empty"):
        suite_list(" , ")


def test_counts_are_non_negative_integers() -> None:
    assert positive_int("0") == 0
    with pytest.raises(argparse.ArgumentTypeError, match="negative"):
        positive_int("-1")


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
