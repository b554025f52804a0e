"""Packaging that ``pyproject.toml`` cannot say: the fonts stay in the repository's top-level
``fonts/`` and the wheel carries them, with their licences, as ``rest_checks/font_files/``
(``rest_checks.fonts`` looks there first)."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["rest_checks", "rest_checks.*"]), "rest_checks.font_files"],
    package_dir={"rest_checks.font_files": "fonts"},
)
