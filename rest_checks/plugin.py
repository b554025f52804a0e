"""The pytest plugin: each hook forwards to the run (``rest_checks.run.RestRun``).

Only the wiring to pytest is here: declaring the options, parametrising the suite's tests,
turning the run's words into usage errors, exits and the terminal summary, signals, and
xdist's worker/controller plumbing (``rest_checks.xdist_worker`` says whether this process
is a worker). The asking's progress on the terminal is ``rest_checks.terminal_progress``'s,
the JUnit properties ``rest_checks.junit_properties``'s.

Installed, the plugin is loaded by every pytest run of the environment, so it stays inert
(no header, no environment read, no model, no baseline, no Hypothesis profile) until a run
asks for REST: a REST option on the command line or the suite named with ``--pyargs``
(then it starts at configure time, as before any test), or a collected test that uses the
suite's parameters or fixtures (then it starts during collection). An xdist controller,
which collects nothing, starts when the first worker sends REST results home.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from rest_checks.config import OPTIONS, RestSettings, resolve_option
from rest_checks.xdist_worker import is_xdist_worker, worker_input, worker_share

if TYPE_CHECKING:
    from rest_checks.progress import Progress
    from rest_checks.run import Case, RestRun
    from rest_checks.run_finish import Outcome

# Everything else (Hypothesis, the run, the baseline, the report) is imported when a REST
# run starts: a pytest run of other tests in the same environment pays only for the options.
RUN_KEY: pytest.StashKey[RestRun] = pytest.StashKey()
OUTCOME_KEY: pytest.StashKey[Outcome] = pytest.StashKey()
# The Hypothesis profile that was current before the run loaded its own (restored after).
PROFILE_BEFORE_KEY = pytest.StashKey[str]()
# Whether the run's header lines have reached the terminal yet.
HEADER_SHOWN_KEY = pytest.StashKey[bool]()
# Why a run that started during collection could not start (a usage error).
START_ERROR_KEY = pytest.StashKey[str]()
# The SIGINT and SIGTERM handlers before the run's own (restored at unconfigure).
SIGNALS_BEFORE_KEY = pytest.StashKey[dict[int, Any]]()
# Whether the run's handlers have seen an interrupt.
INTERRUPTED_KEY = pytest.StashKey[dict[str, bool]]()

ITEM_ARG = "rest_item"
PLUS_ITEM_ARG = "rest_plus_item"
RENDERING_ARG = "rest_rendering"
# What a test uses that makes it a REST test, and so starts the run.
REST_FIXTURES = (ITEM_ARG, PLUS_ITEM_ARG, RENDERING_ARG, "rest", "rest_settings")
SUITE_MODULE = "rest_checks.suite"
# The name the xdist hooks are registered under.
XDIST_HOOKS = "rest-checks-xdist"
# The controller's items, handed to each xdist worker.
ITEMS_INPUT = "rest_items"
# The run's folder: where the workers mark their asking and, without a disk cache, share
# their replies.
RUN_FOLDER_INPUT = "rest_run_folder"
# The controller's run id, which marks the replies the run's workers store.
RUN_INPUT = "rest_run_id"
# The controller's sequential decision (--rest-sequential), handed to each xdist worker.
SEQUENTIAL_INPUT = "rest_sequential"


def usage_errors() -> tuple[type[Exception], ...]:
    """What a run's start raises for bad settings, models, baselines or item files: a usage
    error, not a crash."""
    from rest_checks.atomic import OutputError
    from rest_checks.baselines import BaselineError
    from rest_checks.html_report import ReportDependencyError
    from rest_checks.items.mcq import ItemFileError
    from rest_checks.models.base import ModelError, UnknownModelError
    from rest_checks.models.registry import ModelsFileError
    from rest_checks.options import SettingError

    return (
        SettingError,
        UnknownModelError,
        BaselineError,
        ModelError,
        ItemFileError,
        ModelsFileError,
        ReportDependencyError,
        OutputError,
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


def rest_asked_for(config: pytest.Config) -> bool:
    """Whether the command line asks for REST: a REST option, or the suite by module name."""
    if any(config.getoption(option.dest) not in (None, False) for option in OPTIONS):
        return True
    return bool(config.option.pyargs) and any(
        str(arg).split("::")[0] == SUITE_MODULE for arg in config.args
    )


def _load_hypothesis_profile(config: pytest.Config) -> None:
    """The suite's Hypothesis profile (``$HYPOTHESIS_PROFILE`` or ``ci``), unless
    ``--hypothesis-profile`` chose one; the previous one comes back at unconfigure."""
    from rest_checks.hypothesis_profiles import (
        chosen_profile,
        current_profile,
        load_profile,
        register_profiles,
    )

    config.stash[PROFILE_BEFORE_KEY] = current_profile()
    register_profiles(keep_existing=True)
    if not config.getoption("hypothesis_profile", None):
        load_profile(chosen_profile(os.environ))


def _handle_interrupts(config: pytest.Config) -> None:
    """Ctrl-C and SIGTERM (a CI job cancelled, ``kill``) end the run alike: the first
    raises ``KeyboardInterrupt`` (requests in flight are dropped, the replies received are
    kept, xdist stops its workers, the summary says what was kept); a second one, while
    pytest winds down, ends the process at once with one line instead of a traceback.
    Only signals that still have Python's default action (a handler of the user's
    stays), and only in the main thread, where handlers live."""
    if SIGNALS_BEFORE_KEY in config.stash:
        return
    defaults = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
    worker = is_xdist_worker(config)
    before: dict[int, Any] = {}
    state = {"interrupted": False}

    def interrupt(signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if not state["interrupted"]:
            state["interrupted"] = True
            raise KeyboardInterrupt(f"signal {name}")
        if worker:
            return  # the controller ends it
        hooks = config.pluginmanager.get_plugin(XDIST_HOOKS)
        if isinstance(hooks, XdistHooks):
            # None may go on asking once this process is gone; their replies are on disk.
            hooks.interrupt_workers(signal.SIGKILL)
        sys.stderr.write(
            f"\nrest-checks: {name} again: stopping now; every reply received is kept in the "
            "cache\n"
        )
        sys.stderr.flush()
        os._exit(128 + signum)

    try:
        for sig, default in defaults.items():
            if signal.getsignal(sig) is default:
                before[sig] = signal.signal(sig, interrupt)
    except ValueError:  # not the main thread
        return
    config.stash[SIGNALS_BEFORE_KEY] = before
    config.stash[INTERRUPTED_KEY] = state


@contextlib.contextmanager
def _uninterrupted() -> Iterator[None]:
    """Ignore Ctrl-C and SIGTERM while the run writes its outputs, its last act (a second
    Ctrl-C would otherwise end it with a traceback and outputs half done)."""
    try:
        before = {
            sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)
        }
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def start_run(config: pytest.Config) -> RestRun:
    """The process's REST run, started on first need: settings, model, baseline, items."""
    if RUN_KEY in config.stash:
        return config.stash[RUN_KEY]
    _handle_interrupts(config)
    from rest_checks.baselines import load_baseline
    from rest_checks.html_report import require_report_dependencies
    from rest_checks.hypothesis_profiles import current_profile
    from rest_checks.models.registry import load, resolve
    from rest_checks.run import RestRun

    _load_hypothesis_profile(config)
    try:
        settings = settings_from(config)
        options = settings.model_options
        resolved = resolve(settings.model, options)
        model = load(resolved, options)
        run = RestRun(
            settings,
            model,
            prices=resolved.prices,
            baseline=load_baseline(
                settings.baseline_path,
                explicit=settings.baseline is not None,
                updating=settings.update_baseline,
            ),
            baseline_explicit=settings.baseline is not None,
            hypothesis_profile=current_profile(),
        )
        if settings.html_path is not None:
            require_report_dependencies("--rest-html")
        worker = worker_input(config)
        if worker is not None and ITEMS_INPUT in worker:
            run.use_items(worker[ITEMS_INPUT])  # generated once, on the controller
            run.use_run_id(worker.get(RUN_INPUT))
            share = worker_share(config) or (0, 1)
            run.use_run_folder(worker.get(RUN_FOLDER_INPUT), *share)
            if SEQUENTIAL_INPUT in worker:
                from rest_checks.sequential_run import from_controller

                from_controller(run, worker[SEQUENTIAL_INPUT])  # decided there
        else:
            run.items()  # a bad item file is a usage error, before any test
            run.check_baseline()  # a baseline of other items too, before any model call
            run.check_outputs()  # and every file it was asked to write
        sequential_refused = _sequential_refusal(config, run)
    except usage_errors() as exc:
        raise pytest.UsageError(f"rest-checks: {exc}") from None
    if sequential_refused:
        raise pytest.UsageError(f"rest-checks: {sequential_refused}")
    config.stash[RUN_KEY] = run
    if not is_xdist_worker(config):
        run.start()
    return run


def _sequential_refusal(config: pytest.Config, run: RestRun) -> str | None:
    """Why ``--rest-sequential`` cannot run as asked, before any model call (or None)."""
    if not run.settings.sequential:
        return None
    from rest_checks.sequential_run import refusal

    worker = worker_input(config)
    workers = worker["workercount"] if worker else config.getoption("numprocesses", None)
    # -n auto and the like: some workers, how many is not known yet.
    count = workers if isinstance(workers, int) else int(bool(workers))
    return refusal(run.settings, run.baseline, count)


def pytest_cmdline_main(config: pytest.Config) -> None:
    """``--hypothesis-profile ci`` (or dev, thorough) works where no conftest registers it;
    runs before Hypothesis's plugin loads the profile at configure time. Only names are
    registered, and never over a project's own profile of the same name."""
    profile = config.getoption("hypothesis_profile", None)
    if profile is None:
        return
    from rest_checks.hypothesis_profiles import PROFILES, is_registered, register_profiles

    if profile in PROFILES and not is_registered(profile):
        register_profiles(keep_existing=True)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rest: a REST cross-modal case")
    config.addinivalue_line("markers", "rest_plus: a REST+ case, run with --rest-plus")
    if config.option.help or getattr(config.option, "version", False):
        return
    if config.pluginmanager.hasplugin("xdist"):
        # Inert until a worker sends REST results home.
        config.pluginmanager.register(XdistHooks(), XDIST_HOOKS)
    if rest_asked_for(config):
        start_run(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    # After an interrupt the process is winding down: a further signal still ends it at
    # once with one line (pytest's own teardown would show a traceback).
    if not config.stash.get(INTERRUPTED_KEY, {}).get("interrupted", False):
        for sig, handler in config.stash.get(SIGNALS_BEFORE_KEY, {}).items():
            with contextlib.suppress(ValueError):
                signal.signal(sig, handler)
    before = config.stash.get(PROFILE_BEFORE_KEY, None)
    if before is None:
        return
    from rest_checks.hypothesis_profiles import current_profile, load_profile

    if before != current_profile():
        load_profile(before)


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    if RUN_KEY not in config.stash:
        return None
    config.stash[HEADER_SHOWN_KEY] = True
    return config.stash[RUN_KEY].header_lines()


def pytest_report_collectionfinish(config: pytest.Config) -> list[str] | None:
    """The header of a run that started during collection, right after it."""
    if RUN_KEY not in config.stash or config.stash.get(HEADER_SHOWN_KEY, False):
        return None
    config.stash[HEADER_SHOWN_KEY] = True
    return config.stash[RUN_KEY].header_lines()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if not any(name in metafunc.fixturenames for name in REST_FIXTURES):
        return
    config = metafunc.config
    if START_ERROR_KEY in config.stash:
        return
    try:
        run = start_run(config)
    except pytest.UsageError as exc:
        if is_xdist_worker(config):
            raise  # an xdist worker reports it as a collection error, which stops the run
        # Raised here it would be one module's collection error; the run stops with a
        # usage error once collection ends instead (pytest_collection_modifyitems).
        config.stash[START_ERROR_KEY] = str(exc)
        return
    if ITEM_ARG in metafunc.fixturenames:
        items = run.items()
        metafunc.parametrize(ITEM_ARG, items, ids=[i.id for i in items])
    if PLUS_ITEM_ARG in metafunc.fixturenames:
        items = run.plus_items()
        metafunc.parametrize(PLUS_ITEM_ARG, items, ids=[i.id for i in items])
    if RENDERING_ARG in metafunc.fixturenames:
        from rest_checks.run import plus_renderings

        names = list(plus_renderings(run.settings))
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
    if START_ERROR_KEY in config.stash:
        pytest.exit(config.stash[START_ERROR_KEY], returncode=pytest.ExitCode.USAGE_ERROR)
    if RUN_KEY not in config.stash:
        return
    if not config.stash[RUN_KEY].settings.plus:
        deselected = [item for item in items if _is_plus_test(item)]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = [item for item in items if not _is_plus_test(item)]
    cases = [case for case in map(_case_of, items) if case is not None]
    config.stash[RUN_KEY].plan(cases)


@pytest.fixture(scope="session")
def rest(request: pytest.FixtureRequest) -> RestRun:
    """The REST run: ask the model about items and keep the cases."""
    from rest_checks.asking_ahead import ASK_AHEAD_WINDOW
    from rest_checks.model_gateway import describe_calls
    from rest_checks.progress import Progress, say
    from rest_checks.terminal_progress import live_progress, uncaptured

    config = request.config
    run = config.stash[RUN_KEY]
    # A run that may stop early (-x, --maxfail) asks ahead only a window at a time.
    window = ASK_AHEAD_WINDOW if config.option.maxfail else None
    progress = Progress()
    with uncaptured(config):
        with live_progress(config, progress, wanted=window is None):
            if run.settings.sequential and not is_xdist_worker(config):
                _decide_sequentially(run, None, progress)
            cases, asked = run.prefetch(worker_share(config), window=window, progress=progress)
        if asked:
            found = describe_calls(progress.calls())
            say(f"asked ahead: {asked} requests for {cases} cases: {found}")
    return run


def _decide_sequentially(run: RestRun, cases: list[Case] | None, progress: Progress | None) -> None:
    """The sequential gate, before the first test: ask in waves until the verdict is certain."""
    from rest_checks.progress import say
    from rest_checks.sequential_run import decide

    decision = decide(run, cases, progress)
    if decision is not None:
        say(
            f"sequential gate: {decision.verdict} after {len(decision.asked)} of "
            f"{decision.total} items; {decision.total - len(decision.asked)} not asked "
            f"({decision.requests_saved} requests saved)"
        )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """In a run asked in windows, ask the next window before a case that is not asked yet;
    skip a case the sequential gate did not need."""
    case = _case_of(item)
    if case is not None and RUN_KEY in item.config.stash:
        run = item.config.stash[RUN_KEY]
        reason = run.skip_reason(*case)
        if reason is not None:
            pytest.skip(reason)
        run.ask_ahead(*case)


@pytest.fixture(scope="session")
def rest_settings(request: pytest.FixtureRequest) -> RestSettings:
    """The run's resolved settings."""
    return request.config.stash[RUN_KEY].settings


def _case_key(node: pytest.Item) -> str | None:
    case = _case_of(node)
    if case is None:
        return None
    from rest_checks.records import planned_case_key

    item, rendering = case
    return planned_case_key(item.id, rendering)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    if call.when == "call" and RUN_KEY in item.config.stash:
        key = _case_key(item)
        if key is not None:  # JUnit XML properties of the case (--junitxml)
            item.user_properties.extend(item.config.stash[RUN_KEY].case_properties(key))
    report = yield
    if call.excinfo is None or RUN_KEY not in item.config.stash:
        return report
    from rest_checks.models.base import ModelUnusableError

    if call.excinfo.errisinstance(ModelUnusableError):
        # Refused credentials, a model that cannot load: retrying cannot help. Stop instead
        # of failing every case, and say why once, without the traceback.
        item.session.shouldstop = f"rest-checks: {call.excinfo.value}"
        report.longrepr = f"rest-checks: {call.excinfo.value}"
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if RUN_KEY not in config.stash:
        return
    run = config.stash[RUN_KEY]
    with _uninterrupted():
        _finish(session, run, exitstatus)


def _finish(session: pytest.Session, run: RestRun, exitstatus: int) -> None:
    config = session.config
    run.close()
    if config.option.collectonly:
        return  # nothing was asked, nothing was run: no results, no verdict, no baseline
    if is_xdist_worker(config):
        config.workeroutput["rest_results"] = run.payload()  # type: ignore[attr-defined]
        return
    interrupted = exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR)
    stopped = bool(session.shouldstop or session.shouldfail)
    from rest_checks.junit_properties import add_suite_properties
    from rest_checks.step_summary import artifact_page

    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    outcome = run.finish(
        interrupted=interrupted,
        stopped=stopped,
        step_summary=Path(summary_file) if summary_file else None,
        artifact_url=artifact_page(os.environ),
    )
    config.stash[OUTCOME_KEY] = outcome
    add_suite_properties(config, outcome.properties)
    if outcome.failed and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    outcome = config.stash.get(OUTCOME_KEY, None)
    if outcome is None or not outcome.lines:
        return
    from rest_checks.terminal_text import printable

    terminalreporter.section("rest-checks summary")
    if not config.stash.get(HEADER_SHOWN_KEY, False):
        # An xdist controller that started at the end: the header goes first here.
        for line in config.stash[RUN_KEY].header_lines():
            terminalreporter.write_line(line)
    for line in outcome.lines:
        terminalreporter.write_line(printable(line))


class XdistHooks:
    """Registered only when pytest-xdist is installed: workers get the controller's items
    and send their cases home; an interrupted controller interrupts its workers."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        self.nodes.append(node)
        run = node.config.stash.get(RUN_KEY, None)
        if run is None:
            return
        node.workerinput[ITEMS_INPUT] = run.items_payload()
        node.workerinput[RUN_FOLDER_INPUT] = run.run_folder()
        node.workerinput[RUN_INPUT] = run.calls.run_id
        if run.settings.sequential:
            from rest_checks.models.base import ModelUnusableError
            from rest_checks.sequential_run import to_workers

            if run.sequential is None:  # the first worker: decide now, for all of them
                try:
                    _decide_sequentially(run, [(item, "default") for item in run.items()], None)
                except ModelUnusableError as exc:  # no case can succeed: stop before any test
                    pytest.exit(f"rest-checks: {exc}", returncode=pytest.ExitCode.INTERRUPTED)
            node.workerinput[SEQUENTIAL_INPUT] = to_workers(run)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Ctrl-C or SIGTERM that reached the controller alone: pass it to the workers
        now, before xdist's teardown, which waits seconds for workers busy asking the
        model; interrupted, they drop their requests in flight and stop at once."""
        if exitstatus == pytest.ExitCode.INTERRUPTED and RUN_KEY in session.config.stash:
            self.interrupt_workers(signal.SIGINT)

    def interrupt_workers(self, signum: int) -> None:
        """Send ``signum`` to each local worker process still running."""
        nodes = list(self.nodes)
        for node in nodes:
            # execnet keeps each local worker's process on its gateway's pipe.
            process = getattr(getattr(getattr(node, "gateway", None), "_io", None), "popen", None)
            pid = getattr(process, "pid", None)
            if isinstance(pid, int) and getattr(process, "returncode", 0) is None:
                with contextlib.suppress(OSError):
                    os.kill(pid, signum)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        payload = (getattr(node, "workeroutput", {}) or {}).get("rest_results")
        if payload:
            start_run(node.config).merge(payload)
