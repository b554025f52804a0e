"""A models file that cannot be used is refused before any test, naming the file, the model,
the key and its line; a models file the user names must be there."""

from __future__ import annotations

from pathlib import Path

import pytest

from rest_checks.config import RestSettings
from rest_checks.models.registry import ModelOptions, ModelsFileError, load, resolve

HEAD = '# my models\n[models.mine]\nbackend = "openai"\nname = "m"\n'


def refusal(tmp_path: Path, text: str | bytes) -> str:
    path = tmp_path / "rest_models.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    options = ModelOptions(models_file=path, base_url="http://127.0.0.1:9/v1")
    with pytest.raises(ModelsFileError) as refused:
        load(resolve("mine", options), options)
    return str(refused.value)


@pytest.mark.parametrize(
    ("line", "wanted"),
    [
        ('concurrency = "many"', "key 'concurrency': must be a whole number"),
        ("concurrency = 0", "key 'concurrency': must be at least 1"),
        ("timeout = nan", "key 'timeout': must be a finite number"),
        ("timeout = inf", "key 'timeout': must be a finite number"),
        ("timeout = -1", "key 'timeout': must be a finite number"),
        ("retry_max_delay = inf", "key 'retry_max_delay': must be a finite number"),
        ("base_url = 8000", "key 'base_url': must be a string"),
        ('api_key = "sk-abcdefgh12345678"', "api_key_env"),
        ('api_key_env = "sk-abcdefgh12345678"', "not the name of an environment variable"),
    ],
)
def test_a_bad_key_is_named_with_its_file_and_line(tmp_path: Path, line: str, wanted: str) -> None:
    message = refusal(tmp_path, HEAD + "\n" + line + "\n")
    assert "rest_models.toml:6: model 'mine'" in message
    assert wanted in message
    assert "sk-abcdefgh12345678" not in message


def test_a_backend_setting_error_names_the_file_and_the_table(tmp_path: Path) -> None:
    message = refusal(tmp_path, HEAD + 'temperature = "hot"\n')
    assert message.startswith(f"{tmp_path / 'rest_models.toml'}:2: ")
    assert "temperature must be" in message


def test_a_file_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    message = refusal(tmp_path, HEAD.encode() + b"# caf\xe9\n")
    assert "rest_models.toml:5: not UTF-8" in message


def test_a_named_models_file_that_is_missing_is_an_error(tmp_path: Path) -> None:
    values = {"rest_models_file": str(tmp_path / "mine.toml")}
    settings = RestSettings.from_values(values, tmp_path)
    with pytest.raises(ModelsFileError, match=r"mine.toml: no such models file"):
        resolve("reference", settings.model_options)


def test_the_default_models_file_may_be_absent_unless_named(tmp_path: Path) -> None:
    settings = RestSettings.from_values({}, tmp_path)
    assert settings.model_options.models_file == tmp_path / "rest_models.toml"
    assert resolve("reference", settings.model_options).backend == "reference"
    named = RestSettings.from_values({"rest_models_file": "rest_models.toml"}, tmp_path)
    with pytest.raises(ModelsFileError, match="no such models file"):
        resolve("reference", named.model_options)
