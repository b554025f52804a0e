"""Benchmark items: generators and loaders that produce plain ``Item`` records."""

from rest_checks.items.arith import TEMPLATES, ArithTemplate, generate_arith, solve_arith_text
from rest_checks.items.base import ANSWER_TYPES, OPTION_LETTERS, AnswerType, Item
from rest_checks.items.builtin_mcq import builtin_mcq, load_builtin_mcq
from rest_checks.items.files import LAYOUT_NAMES, load_item_dir, load_item_file
from rest_checks.items.mcq import ItemFileError, LoadResult, has_latex, load_mcq_file
from rest_checks.items.soebench import (
    LinearEquation,
    format_equation,
    format_solution,
    generate_soebench,
    parse_system,
    solve_soebench_text,
    solve_system,
)
from rest_checks.items.suites import SUITE_NAMES, load_source, load_suite

__all__ = [
    "ANSWER_TYPES",
    "LAYOUT_NAMES",
    "OPTION_LETTERS",
    "SUITE_NAMES",
    "TEMPLATES",
    "AnswerType",
    "ArithTemplate",
    "Item",
    "ItemFileError",
    "LinearEquation",
    "LoadResult",
    "builtin_mcq",
    "format_equation",
    "format_solution",
    "generate_arith",
    "generate_soebench",
    "has_latex",
    "load_builtin_mcq",
    "load_item_dir",
    "load_item_file",
    "load_mcq_file",
    "load_source",
    "load_suite",
    "parse_system",
    "solve_arith_text",
    "solve_soebench_text",
    "solve_system",
]
