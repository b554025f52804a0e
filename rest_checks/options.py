"""How a setting is declared: once, as a dataclass field that carries its command-line flag,
environment variable, ini key, parser and help. ``RestSettings`` (``config``) and
``ModelOptions`` (``models.registry``) declare their fields this way; the plugin's option
group and the precedence CLI > environment > ini > default are derived from those fields.

The parsers raise ``argparse.ArgumentTypeError`` with what is accepted, so argparse, the
environment and ini values all give the same message. This module imports nothing of the
package, so any layer may declare settings.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class SettingError(ValueError):
    """A setting has a value we cannot use; the message says which and what is accepted."""


class UnshownValueError(argparse.ArgumentTypeError):
    """A value that may be a secret (a key where its variable's name belongs): the message
    says what is wrong without quoting it, and no caller may quote it either."""


# --- value parsers ----------------------------------------------------------------------


def _integer(text: str, what: str = "an integer") -> int:
    try:
        return int(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None


def count_or_all(text: str) -> int:
    """A count where 0 means "all" (items per task source)."""
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; use 0 for all, or a count")
    return value


def positive_int(text: str) -> int:
    """A count of at least 1 (requests in flight, batch size, DPI): 0 means nothing."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def seed_int(text: str) -> int:
    return _integer(text, "an integer seed")


def probability(text: str) -> float:
    try:
        value = float(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is outside [0, 1]")
    return value


def positive_seconds(text: str) -> float:
    """A finite number of seconds above 0 (``inf`` and ``nan`` bound nothing)."""
    try:
        value = float(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number of seconds")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{value} must be more than 0 seconds")
    return value


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
NOT_A_VARIABLE_NAME = (
    "is not the name of an environment variable (letters, digits and underscores); the "
    "value is not shown, in case it is the key itself: put the key in an environment "
    "variable and give that variable's name"
)


def is_variable_name(text: str) -> bool:
    """Whether ``text`` can name an environment variable (and so is not a key)."""
    return _ENV_NAME.fullmatch(text) is not None


def variable_name(text: str) -> str:
    """The name of an environment variable; anything else is refused without being
    quoted (it is often the secret the variable should hold)."""
    value = str(text).strip()
    if not is_variable_name(value):
        raise UnshownValueError(f"the value {NOT_A_VARIABLE_NAME}")
    return value


def boolean(text: str) -> bool:
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not a boolean (use 1/0, true/false)")


def text_value(text: str) -> str:
    return str(text)


def one_of(*choices: str) -> Callable[[str], str]:
    """A parser that accepts exactly ``choices``."""

    def parse(text: str) -> str:
        value = str(text).strip()
        if value not in choices:
            raise argparse.ArgumentTypeError(f"{value!r} is not one of {', '.join(choices)}")
        return value

    return parse


# --- declaring a setting -----------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One setting: its flag, environment variable, ini key, parser and default.

    ``field`` is the dataclass field it fills; ``ini`` is also argparse's ``dest``.
    ``is_path`` values are resolved against pytest's rootdir.
    """

    flag: str
    env: str
    ini: str
    parse: Callable[[str], Any]
    default: Any
    help: str
    is_flag: bool = False  # a store_true switch on the command line
    is_path: bool = False
    field: str = ""

    @property
    def dest(self) -> str:
        return self.ini


_OPTION_KEY = "rest_checks.option"


def setting(
    flag: str,
    env: str,
    ini: str,
    parse: Callable[[str], Any],
    default: Any,
    help: str,
    *,
    is_flag: bool = False,
    is_path: bool = False,
    field_default: Any = dataclasses.MISSING,
) -> Any:
    """A dataclass field that is also a command-line/env/ini option.

    ``field_default`` is the field's value when the dataclass is built directly (in code or
    tests) and differs from the option's ``default`` (a path not yet resolved, say)."""
    option = Option(flag, env, ini, parse, default, help, is_flag=is_flag, is_path=is_path)
    own_default = default if field_default is dataclasses.MISSING else field_default
    return dataclasses.field(default=own_default, metadata={_OPTION_KEY: option})


def options_of(cls: type) -> tuple[Option, ...]:
    """The options a dataclass declares, in field order, each knowing its field name."""
    return tuple(
        dataclasses.replace(f.metadata[_OPTION_KEY], field=f.name)
        for f in dataclasses.fields(cls)
        if _OPTION_KEY in f.metadata
    )


def resolve_option(
    option: Option, cli_value: Any, environ: Mapping[str, str], ini_value: Any
) -> Any:
    """CLI > environment > ini > default; env and ini values are parsed and checked here."""
    if cli_value is not None and cli_value is not False:
        return cli_value
    for origin, raw in (
        (f"environment variable {option.env}", environ.get(option.env)),
        (f"ini key {option.ini}", ini_value),
    ):
        if raw is None or str(raw).strip() == "":
            continue  # an empty value means "not set here"
        try:
            return option.parse(raw)
        except UnshownValueError as exc:
            raise SettingError(f"{origin}: {exc}") from None
        except argparse.ArgumentTypeError as exc:
            raise SettingError(f"{origin}={raw!r}: {exc}") from None
    return option.default
