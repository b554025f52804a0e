"""The pytest plugin: wires options, items, the model session and the report together.

It holds no logic of its own: settings come from ``config``, cases from ``session``,
judgements from ``verdicts``, numbers from ``report`` and the gate from ``baselines``.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from rest_checks import report
from rest_checks.baselines import BaselineError, gate, load_baseline, write_baseline
from rest_checks.config import OPTIONS, RestSettings, SettingError, resolve_option
from rest_checks.items.mcq import ItemFileError
from rest_checks.models.base import ModelAuthError, ModelError, UnknownModelError
from rest_checks.models.registry import ModelOptions, load, resolve
from rest_checks.progress import say
from rest_checks.records import CaseRecord
from rest_checks.render import REST_PLUS_GRID
from rest_checks.session import RestSession

SETTINGS_KEY = pytest.StashKey[RestSettings]()
SESSION_KEY = pytest.StashKey[RestSession]()
STATE_KEY = pytest.StashKey["RunState"]()

ITEM_ARG = "rest_item"
PLUS_ITEM_ARG = "rest_plus_item"
VARIANT_ARG = "rest_variant"


class RunState:
    """What the controller gathers: every worker's records and call counts."""

    def __init__(self) -> None:
        self.records: list[CaseRecord] = []
        self.model_calls = 0
        self.cache_hits = 0
        self.identity: dict[str, Any] = {}
        self.lines: list[str] = []
        self.planned: list[Any] = []
        self.prefetched = False


# --- options -------------------------------------------------------------------------------


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


def _settings(config: pytest.Config) -> RestSettings:
    import os

    values = {}
    for option in OPTIONS:
        try:
            ini_value = config.getini(option.ini)
        except ValueError:
            ini_value = None
        values[option.dest] = resolve_option(
            option, config.getoption(option.dest), dict(os.environ), ini_value
        )
    updating = bool(getattr(config.option, "update_snapshots", False))
    return RestSettings.from_values(values, config.rootpath, update_baseline=updating)


def _model_options(settings: RestSettings) -> ModelOptions:
    return ModelOptions(
        base_url=settings.base_url,
        api_key_env=settings.api_key_env,
        device=settings.device,
        dtype=settings.dtype,
        batch_size=settings.batch_size,
        concurrency=settings.concurrency,
        probe=settings.probe,
        models_file=settings.models_file,
    )


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rest: a REST cross-modal case")
    config.addinivalue_line("markers", "rest_plus: a REST+ case, run with --rest-plus")
    if config.option.help or getattr(config.option, "version", False):
        return
    try:
        settings = _settings(config)
        options = _model_options(settings)
        model = load(resolve(settings.model, options), options)
        baseline = load_baseline(settings.baseline_path)
    except (SettingError, UnknownModelError, BaselineError, ModelError) as exc:
        raise pytest.UsageError(f"rest-checks: {exc}") from None

    session = RestSession(
        model=model,
        suite=settings.suite,
        n=settings.n,
        seed=settings.seed,
        cache_dir=settings.cache_dir,
        image_dir=Path(config.rootpath) / ".rest-images",
        baseline=baseline,
        plus_n=settings.plus_n,
        require_correct=settings.require_correct,
        updating=settings.update_baseline,
        # Big enough that a wave of API calls rarely waits on the slowest of a chunk,
        # small enough that a killed run loses little.
        chunk_size=max(128, 4 * settings.concurrency),
    )
    try:
        session.items()  # load now: a bad item file is a usage error, before any test
    except (ItemFileError, ValueError) as exc:
        raise pytest.UsageError(f"rest-checks: cannot load items: {exc}") from None
    config.stash[SETTINGS_KEY] = settings
    config.stash[SESSION_KEY] = session
    config.stash[STATE_KEY] = RunState()
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(XdistHooks(), "rest-checks-xdist")


def _session(config: pytest.Config) -> RestSession:
    return config.stash[SESSION_KEY]


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    if SETTINGS_KEY not in config.stash:
        return None
    settings = config.stash[SETTINGS_KEY]
    session = _session(config)
    lines = [
        f"{settings.header()} items={len(session.items())}",
        f"rest-checks: model identity {json.dumps(session.identity, sort_keys=True)}",
    ]
    lines.extend(f"rest-checks: {note}" for note in session.item_notes)
    baseline = session.baseline
    lines.append(
        f"rest-checks: baseline {settings.baseline_path}"
        + ("" if baseline else " (none yet: every inconsistency fails)")
        + (" (being rewritten: --snapshot-update)" if settings.update_baseline else "")
    )
    return lines


# --- collection ----------------------------------------------------------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    config = metafunc.config
    if SESSION_KEY not in config.stash:
        return
    session = _session(config)
    if ITEM_ARG in metafunc.fixturenames:
        items = session.items()
        metafunc.parametrize(ITEM_ARG, items, ids=[i.id for i in items])
    if PLUS_ITEM_ARG in metafunc.fixturenames:
        items = session.plus_items()
        metafunc.parametrize(PLUS_ITEM_ARG, items, ids=[i.id for i in items])
    if VARIANT_ARG in metafunc.fixturenames:
        names = list(REST_PLUS_GRID)
        metafunc.parametrize(VARIANT_ARG, names, ids=names)


def _is_plus_test(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    return PLUS_ITEM_ARG in names or item.get_closest_marker("rest_plus") is not None


@pytest.hookimpl(trylast=True)  # after -k and -m, so only what will run is asked ahead
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if SETTINGS_KEY not in config.stash:
        return
    settings = config.stash[SETTINGS_KEY]
    if not settings.plus:
        deselected = [item for item in items if _is_plus_test(item)]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = [item for item in items if not _is_plus_test(item)]
    # Remember what this process will ask, so that a single-process run can batch it.
    state = config.stash[STATE_KEY]
    state.planned = [item for item in items if hasattr(item, "callspec")]


# --- fixtures ------------------------------------------------------------------------------


def _planned_cases(nodes: list[Any]) -> list[tuple[Any, str | None]]:
    """The (item, rendering variant) of every selected REST test, in collection order."""
    cases: dict[tuple[str, str | None], tuple[Any, str | None]] = {}
    for node in nodes:
        params = node.callspec.params
        if ITEM_ARG in params:
            item, variant = params[ITEM_ARG], "default"
        elif PLUS_ITEM_ARG in params:
            item, variant = params[PLUS_ITEM_ARG], params.get(VARIANT_ARG)
        else:
            continue
        cases.setdefault((item.id, variant), (item, variant))
    return list(cases.values())


def _ask_ahead(config: pytest.Config, session: RestSession, cases: list[Any]) -> None:
    capture = config.pluginmanager.getplugin("capturemanager")
    # Loading a model or reaching a server can take minutes: let its progress through.
    quiet = capture.global_and_fixture_disabled() if capture else contextlib.nullcontext()
    with quiet:
        sys.stderr.write("\n")  # off the line of test progress dots
        try:
            asked = session.prefetch(cases)
        except ModelError as exc:
            pytest.exit(f"rest-checks: the model failed: {exc}", returncode=3)
        counter = session.model.counter
        say(
            f"asked ahead: {asked} requests for {len(cases)} cases, "
            f"{counter.cache_hits} from the cache, {counter.model_calls} to the model"
        )


@pytest.fixture(scope="session")
def rest(request: pytest.FixtureRequest) -> RestSession:
    """The REST session: ask the model about items and keep the cases."""
    config = request.config
    session = _session(config)
    state = config.stash[STATE_KEY]
    if not state.prefetched:
        state.prefetched = True
        cases = _planned_cases(state.planned)
        if _is_worker(config):
            # Each worker asks ahead for its own share of the run and finds the rest in the
            # shared disk cache; without one, sharing is impossible and each asks as it goes.
            worker = config.workerinput  # type: ignore[attr-defined]
            index, count = int(worker["workerid"].lstrip("gw")), int(worker["workercount"])
            cases = cases[index::count] if session.model.cache is not None else []
        if cases:
            _ask_ahead(config, session, cases)
    return session


@pytest.fixture(scope="session")
def rest_settings(request: pytest.FixtureRequest) -> RestSettings:
    """The run's resolved settings."""
    return request.config.stash[SETTINGS_KEY]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(ModelAuthError):
        # Retrying with the same credentials cannot help: stop instead of failing every case.
        item.session.shouldstop = f"rest-checks: {call.excinfo.value}"
    return report


# --- the end of the run --------------------------------------------------------------------


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if SESSION_KEY not in config.stash:
        return
    rest_session = _session(config)
    state = config.stash[STATE_KEY]
    state.model_calls += rest_session.model.counter.model_calls
    state.cache_hits += rest_session.model.counter.cache_hits
    state.identity = rest_session.identity
    state.records.extend(rest_session.records)
    rest_session.close()
    if _is_worker(config):
        config.workeroutput["rest_results"] = json.dumps(  # type: ignore[attr-defined]
            {
                "records": [r.to_json() for r in state.records],
                "model_calls": state.model_calls,
                "cache_hits": state.cache_hits,
                "identity": state.identity,
            }
        )
        return
    if not state.records:
        return
    _finish_run(session, config.stash[SETTINGS_KEY], rest_session, state, exitstatus)


def _finish_run(
    session: pytest.Session,
    settings: RestSettings,
    rest_session: RestSession,
    state: RunState,
    exitstatus: int,
) -> None:
    records = sorted(state.records, key=lambda r: r.key)
    identity = state.identity
    baseline = rest_session.baseline
    gate_result = None
    current = {r.key: r.consistent for r in records if r.kind == "cross_modal"}
    if baseline is not None and not settings.update_baseline:
        gate_result = gate(baseline, current, settings.alpha, settings.tolerance)
    results = report.build_results(
        settings=settings,
        identity=identity,
        records=records,
        model_calls=state.model_calls,
        cache_hits=state.cache_hits,
        baseline=baseline,
        gate_result=gate_result,
    )
    state.lines = report.format_summary(results)
    if settings.json_path is not None:
        report.write_results(settings.json_path, results)
        state.lines.append(f"results written to {settings.json_path}")
    if settings.update_baseline:
        if exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR):
            state.lines.append("baseline NOT written: the run did not finish")
        else:
            # Cases this run did not ask about (-k, a smaller --rest-n) keep their record.
            document = report.baseline_from_results(results, previous=baseline)
            write_baseline(settings.baseline_path, document)
            state.lines.append(f"baseline written to {settings.baseline_path}")
    if gate_result is not None and gate_result.failed:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if STATE_KEY not in config.stash or _is_worker(config):
        return
    lines = config.stash[STATE_KEY].lines
    if not lines:
        return
    terminalreporter.section("rest-checks summary")
    for line in lines:
        terminalreporter.write_line(line)


class XdistHooks:
    """Registered only when pytest-xdist is installed: workers send their cases home."""

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", {}) or {}
        payload = output.get("rest_results")
        if not payload:
            return
        data = json.loads(payload)
        state = node.config.stash[STATE_KEY]
        state.records.extend(CaseRecord.from_json(r) for r in data["records"])
        state.model_calls += int(data["model_calls"])
        state.cache_hits += int(data["cache_hits"])
        if data.get("identity"):
            state.identity = data["identity"]
