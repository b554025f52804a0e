"""Benchmark items: generators and loaders that produce plain ``Item`` records."""

from rest_checks.items.base import ANSWER_TYPES, OPTION_LETTERS, AnswerType, Item

__all__ = ["ANSWER_TYPES", "OPTION_LETTERS", "AnswerType", "Item"]
