"""The wheel, installed in a fresh virtual environment next to another project: it carries
the fonts, the suite and the Hypothesis profiles, the suite runs from the other project, and
the other project's own test runs are untouched.

The fresh environment reuses this one's installed dependencies (a ``.pth`` file), so nothing
is downloaded or built besides the wheel; rest-checks itself comes from the wheel only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from rest_checks.fonts import FONTS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# What a build does not need: environments, caches, earlier builds.
NOT_SOURCE = shutil.ignore_patterns(".*", "build", "dist", "*.egg-info", "__pycache__", "out")

UNRELATED_PYPROJECT = """
[tool.pytest.ini_options]
testpaths = ["tests"]
"""
UNRELATED_TESTS = """
import pytest


def test_adds():
    assert 1 + 1 == 2


@pytest.mark.parametrize("word", ["a", "b"])
def test_upper(word):
    assert word.upper().lower() == word
"""


@dataclass(frozen=True)
class Installed:
    """The wheel installed in a fresh environment, and another project beside it."""

    venv: Path
    project: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def run(
        self, *args: str | Path, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        clean = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("REST_", "PYTEST_", "HYPOTHESIS_", "OPENAI_", "PYTHON"))
        }
        clean["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{clean.get('PATH', '')}"
        return subprocess.run(
            [str(a) for a in args],
            cwd=self.project,
            env={**clean, **(env or {})},
            capture_output=True,
            text=True,
            timeout=300,
        )

    def pytest(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self.run(self.python, "-m", "pytest", "-p", "no:cacheprovider", *args, env=env)


def _check(result: subprocess.CompletedProcess[str], what: str) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{what} exited {result.returncode}:\n{output[-4000:]}"
    return output


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    _check(
        subprocess.run(
            [*build, "-w", str(work / "dist"), str(source)],
            capture_output=True,
            text=True,
            timeout=300,
        ),
        "pip wheel",
    )
    (built,) = (work / "dist").glob("rest_checks-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("installed")
    venv = work / "venv"
    _check(
        subprocess.run(
            [sys.executable, "-m", "venv", "--without-pip", str(venv)],
            capture_output=True,
            text=True,
            timeout=120,
        ),
        "venv",
    )
    fresh_site = Path(
        subprocess.check_output(
            [
                str(venv / "bin" / "python"),
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ],
            text=True,
        ).strip()
    )
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (fresh_site / "dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    # --force-reinstall: a rest-checks already visible to the new environment (this
    # checkout on PYTHONPATH, say) must not stand in for the wheel.
    install = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install"]
    _check(
        subprocess.run(
            [*install, "--no-deps", "--no-index", "--force-reinstall", "-q", str(wheel)],
            capture_output=True,
            text=True,
            timeout=300,
        ),
        "pip install",
    )
    project = work / "project"
    (project / "tests").mkdir(parents=True)
    (project / "pyproject.toml").write_text(UNRELATED_PYPROJECT)
    (project / "tests" / "test_app.py").write_text(UNRELATED_TESTS)
    return Installed(venv, project)


def test_the_wheel_carries_fonts_with_licences_the_suite_and_the_profiles(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for font in FONTS.values():
        assert f"rest_checks/font_files/{font.filename}" in names
        assert f"rest_checks/font_files/{font.licence}" in names
    assert {"rest_checks/suite.py", "rest_checks/hypothesis_profiles.py"} <= names
    # Nothing outside the package: no top-level fonts/, tests/ or conftest.py.
    tops = {name.split("/")[0] for name in names}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"rest_checks"}


def test_the_installed_package_is_the_wheels(installed: Installed) -> None:
    where = installed.run(
        installed.python,
        "-c",
        "import rest_checks, rest_checks.fonts as f; print(rest_checks.__file__, f.fonts_dir())",
    )
    package, fonts = _check(where, "import").split()
    assert Path(package).is_relative_to(installed.venv)
    assert Path(fonts).is_relative_to(installed.venv)


def _outcome(output: str) -> list[str]:
    """What a run says, without what changes between runs or plugins."""
    lines = [line for line in output.splitlines() if not line.startswith(("plugins:", "cachedir:"))]
    return [re.sub(r" in [\d.]+s", "", line) for line in lines]


def test_another_projects_runs_are_untouched(installed: Installed) -> None:
    without = _check(installed.pytest("-p", "no:rest_checks"), "pytest without the plugin")
    plain = _check(installed.pytest(), "pytest")
    # Settings that would stop any REST run: a model with no key, a count that is no number.
    hostile = _check(installed.pytest(env={"REST_MODEL": "openai:x", "REST_N": "many"}), "pytest")
    assert "3 passed" in plain
    assert _outcome(plain) == _outcome(without)
    assert _outcome(hostile) == _outcome(without)
    assert "rest-checks:" not in plain + hostile
    assert not (installed.project / ".rest-cache").exists()


def test_the_installed_suite_runs_in_another_project(installed: Installed) -> None:
    output = _check(
        installed.pytest(
            "--pyargs",
            "rest_checks.suite",
            "--model",
            "mock:oracle",
            "--rest-suite",
            "soebench",
            "--rest-n",
            "1",
            "--rest-plus",
            "--rest-plus-n",
            "1",
            "--rest-json",
            "out.json",
            "--snapshot-update",
        ),
        "the installed suite",
    )
    assert f"rest-checks: baseline {installed.project}/baselines/mock_oracle.json" in output
    results = json.loads((installed.project / "out.json").read_text())
    assert results["metrics"]["rer"] == 1.0
    # The REST+ grid drew every font; the Hypothesis check ran under the ci profile.
    assert {r.split("-")[0] for r in results["rest_plus"]} >= {"dejavu", "liberation", "dancing"}
    assert results["signature"]["hypothesis_profile"] == "ci"
    assert (installed.project / "baselines" / "mock_oracle.json").is_file()


def test_the_command_runs_the_reference_model_in_another_project(installed: Installed) -> None:
    output = _check(
        installed.run(
            "rest-checks",
            "run",
            "--model",
            "reference",
            "--rest-suite",
            "arith",
            "--rest-n",
            "1",
            "-p",
            "no:cacheprovider",
        ),
        "rest-checks run",
    )
    assert "rest-checks: model=reference" in output
    assert re.search(r"\b1 passed\b", output), output[-2000:]
