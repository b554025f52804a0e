"""The pytest plugin: each hook forwards to the run (``rest_checks.run.RestRun``).

What is pytest's own stays here: declaring the options, parametrising the suite's tests,
turning the run's words into usage errors, exits and the terminal summary, and xdist's
worker/controller plumbing.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

import pytest

from rest_checks.baselines import BaselineError, load_baseline
from rest_checks.config import OPTIONS, RestSettings, SettingError, resolve_option
from rest_checks.items.mcq import ItemFileError
from rest_checks.models.base import ModelAuthError, ModelError, UnknownModelError
from rest_checks.models.registry import ModelsFileError, load, resolve
from rest_checks.progress import say
from rest_checks.render import REST_PLUS_GRID
from rest_checks.run import Case, Outcome, RestRun

RUN_KEY = pytest.StashKey[RestRun]()
OUTCOME_KEY = pytest.StashKey[Outcome]()

ITEM_ARG = "rest_item"
PLUS_ITEM_ARG = "rest_plus_item"
RENDERING_ARG = "rest_rendering"
# The controller's items, handed to each xdist worker.
ITEMS_INPUT = "rest_items"

USAGE_ERRORS = (
    SettingError,
    UnknownModelError,
    BaselineError,
    ModelError,
    ItemFileError,
    ModelsFileError,
    ValueError,  # an item source or id that cannot be used
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rest-checks", "REST cross-modal consistency checks")
    for option in OPTIONS:
        help_text = f"{option.help} [env {option.env}, ini {option.ini}]"
        if option.is_flag:
            group.addoption(
                option.flag, action="store_true", dest=option.dest, default=None, help=help_text
            )
        else:
            group.addoption(
                option.flag, dest=option.dest, default=None, type=option.parse, help=help_text
            )
        parser.addini(option.ini, help=option.help, default=None)


def settings_from(config: pytest.Config) -> RestSettings:
    """Resolve every option (CLI > environment > ini > default) into the run's settings."""
    values = {}
    for option in OPTIONS:
        try:
            ini_value = config.getini(option.ini)
        except ValueError:
            ini_value = None
        values[option.dest] = resolve_option(
            option, config.getoption(option.dest), os.environ, ini_value
        )
    updating = bool(getattr(config.option, "update_snapshots", False))
    return RestSettings.from_values(values, config.rootpath, update_baseline=updating)


def _hypothesis_profile() -> str:
    from hypothesis import settings

    return settings.get_current_profile_name()


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rest: a REST cross-modal case")
    config.addinivalue_line("markers", "rest_plus: a REST+ case, run with --rest-plus")
    if config.option.help or getattr(config.option, "version", False):
        return
    try:
        settings = settings_from(config)
        options = settings.model_options
        model = load(resolve(settings.model, options), options)
        run = RestRun(
            settings,
            model,
            baseline=load_baseline(settings.baseline_path),
            baseline_explicit=settings.baseline is not None,
            hypothesis_profile=_hypothesis_profile(),
        )
        worker = getattr(config, "workerinput", None)
        if worker is not None and ITEMS_INPUT in worker:
            run.use_items(worker[ITEMS_INPUT])  # generated once, on the controller
        else:
            run.items()  # a bad item file is a usage error, before any test
            run.check_baseline()  # a baseline of other items too, before any model call
    except USAGE_ERRORS as exc:
        raise pytest.UsageError(f"rest-checks: {exc}") from None
    config.stash[RUN_KEY] = run
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(XdistHooks(), "rest-checks-xdist")


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    return config.stash[RUN_KEY].header_lines() if RUN_KEY in config.stash else None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if RUN_KEY not in metafunc.config.stash:
        return
    run = metafunc.config.stash[RUN_KEY]
    if ITEM_ARG in metafunc.fixturenames:
        items = run.items()
        metafunc.parametrize(ITEM_ARG, items, ids=[i.id for i in items])
    if PLUS_ITEM_ARG in metafunc.fixturenames:
        items = run.plus_items()
        metafunc.parametrize(PLUS_ITEM_ARG, items, ids=[i.id for i in items])
    if RENDERING_ARG in metafunc.fixturenames:
        names = list(REST_PLUS_GRID)
        metafunc.parametrize(RENDERING_ARG, names, ids=names)


def _is_plus_test(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    return PLUS_ITEM_ARG in names or item.get_closest_marker("rest_plus") is not None


def _case_of(node: pytest.Item) -> Case | None:
    params = getattr(node, "callspec", None)
    params = params.params if params is not None else {}
    if ITEM_ARG in params:
        return params[ITEM_ARG], "default"
    if PLUS_ITEM_ARG in params:
        return params[PLUS_ITEM_ARG], params.get(RENDERING_ARG)
    return None


@pytest.hookimpl(trylast=True)  # after -k and -m, so only what will run is asked ahead
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if RUN_KEY not in config.stash:
        return
    if not config.stash[RUN_KEY].settings.plus:
        deselected = [item for item in items if _is_plus_test(item)]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = [item for item in items if not _is_plus_test(item)]
    cases = [case for case in map(_case_of, items) if case is not None]
    config.stash[RUN_KEY].plan(cases)


def _worker_share(config: pytest.Config) -> tuple[int, int] | None:
    worker = getattr(config, "workerinput", None)
    if worker is None:
        return None
    return int(worker["workerid"].lstrip("gw")), int(worker["workercount"])


@pytest.fixture(scope="session")
def rest(request: pytest.FixtureRequest) -> RestRun:
    """The REST run: ask the model about items and keep the cases."""
    config = request.config
    run = config.stash[RUN_KEY]
    capture = config.pluginmanager.getplugin("capturemanager")
    # Loading a model or reaching a server can take minutes: let its progress through.
    quiet = capture.global_and_fixture_disabled() if capture else contextlib.nullcontext()
    with quiet:
        sys.stderr.write("\n")  # off the line of test progress dots
        cases, asked = run.prefetch(_worker_share(config))
        if asked:
            counter = run.calls.counter
            say(
                f"asked ahead: {asked} requests for {cases} cases, "
                f"{counter.cache_hits} from the cache, {counter.model_calls} to the model"
            )
    return run


@pytest.fixture(scope="session")
def rest_settings(request: pytest.FixtureRequest) -> RestSettings:
    """The run's resolved settings."""
    return request.config.stash[RUN_KEY].settings


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(ModelAuthError):
        # Retrying with the same credentials cannot help: stop instead of failing every case.
        item.session.shouldstop = f"rest-checks: {call.excinfo.value}"
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if RUN_KEY not in config.stash:
        return
    run = config.stash[RUN_KEY]
    run.close()
    if hasattr(config, "workerinput"):
        config.workeroutput["rest_results"] = run.payload()  # type: ignore[attr-defined]
        return
    interrupted = exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR)
    outcome = run.finish(interrupted=interrupted)
    config.stash[OUTCOME_KEY] = outcome
    if outcome.failed and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    outcome = config.stash.get(OUTCOME_KEY, None)
    if outcome is None or not outcome.lines:
        return
    terminalreporter.section("rest-checks summary")
    for line in outcome.lines:
        terminalreporter.write_line(line)


class XdistHooks:
    """Registered only when pytest-xdist is installed: workers get the controller's items
    and send their cases home."""

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        run = node.config.stash.get(RUN_KEY, None)
        if run is not None:
            node.workerinput[ITEMS_INPUT] = run.items_payload()

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        payload = (getattr(node, "workeroutput", {}) or {}).get("rest_results")
        if payload:
            node.config.stash[RUN_KEY].merge(payload)
