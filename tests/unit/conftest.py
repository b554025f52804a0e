"""Fixtures shared by the harness's own tests."""

pytest_plugins = ["pytester"]
