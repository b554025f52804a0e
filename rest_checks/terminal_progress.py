"""The progress of asking ahead on pytest's terminal: let it through pytest's output
capture (loading a model or reaching a server can take minutes), and show the live count
(``rest_checks.progress.LiveProgress``) where there is a terminal to show it on."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from rest_checks.progress import LiveProgress, Progress
from rest_checks.xdist_worker import is_xdist_worker

if TYPE_CHECKING:
    import pytest


def uncaptured(config: pytest.Config) -> contextlib.AbstractContextManager[object]:
    """pytest's capture of stdout and stderr off for the ``with`` block."""
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        return contextlib.nullcontext()
    quiet: contextlib.AbstractContextManager[object] = capture.global_and_fixture_disabled()
    return quiet


@contextlib.contextmanager
def live_progress(config: pytest.Config, progress: Progress, wanted: bool) -> Iterator[None]:
    """The live count of ``progress`` on pytest's terminal for the ``with`` block: when
    ``wanted``, not under ``-q``, nor in an xdist worker (which has no terminal).
    Otherwise the block's own lines (``progress.say``) start on a line of their own."""
    reporter = config.pluginmanager.getplugin("terminalreporter")
    if not wanted or is_xdist_worker(config) or reporter is None or config.get_verbosity() < 0:
        sys.stderr.write("\n")  # off the line of test progress dots
        yield
        return
    writer = config.get_terminal_writer()
    first = [True]

    def write(text: str) -> None:
        # The first line starts off the line of the test file's name and dots.
        writer.write(("\n" if first[0] else "") + text, flush=True)
        first[0] = False

    with LiveProgress(progress, write, tty=bool(reporter.isatty)):
        yield
