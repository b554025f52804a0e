"""The one way files are written: to a temporary name beside the target, then renamed into
place, so a reader (another xdist worker, a CI step, a rerun after a kill) sees the old
file or the new one, never half of one; the temporary file is removed on any failure.

Files get the mode the umask gives (0644 under umask 022), as any other tool's would, so a
shared cache or a CI artifact server running as another user can read them. A temporary
file left by a killed run is removed by a later run (``remove_stale_temps``).
"""

from __future__ import annotations

import errno
import io
import os
import secrets
import time
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "TEMP_PREFIX",
    "OutputError",
    "check_writable",
    "describe_os_error",
    "remove_stale_temps",
    "write_atomic",
]

# Temporary files are named ``.tmp-<pid>-<random><suffix>``: the pid tells a later run
# whether their writer is still alive.
TEMP_PREFIX = ".tmp-"
# A temporary file whose writer is gone is removed once it is this old (a writer on
# another machine of a shared folder looks gone from here, but renames within seconds) ...
STALE_DEAD_WRITER_S = 60.0
# ... and any temporary file once it is this old, whoever wrote it.
STALE_ANY_S = 6 * 3600.0


class OutputError(OSError):
    """An output the run was asked for cannot be written; the message names it."""


def describe_os_error(exc: OSError) -> str:
    """``ENOSPC (No space left on device)``: the errno's name and its words."""
    name = errno.errorcode.get(exc.errno or 0)
    words = exc.strerror or str(exc)
    return f"{name} ({words})" if name else words


def write_atomic(path: Path, data: str | bytes | Iterable[str], *, durable: bool = True) -> None:
    """Write ``data`` (text as UTF-8; an iterable of text pieces one after another, so a
    large document is never held whole) to ``path`` atomically, creating its directory.

    ``durable``: the data reach the disk before the rename, so a crash of the machine
    leaves the old file or the whole new one (results, baselines, reports; a cache entry,
    which is only asked again when lost, skips it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}{path.suffix}"
    try:
        # Created by os.open with 0o666, so the umask decides the mode (mkstemp's is 0600).
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as handle:
            if isinstance(data, bytes):
                handle.write(data)
            elif isinstance(data, str):
                handle.write(data.encode("utf-8"))
            else:
                text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
                text.writelines(data)
                text.flush()
                text.detach()
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)  # atomic on POSIX
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check_writable(path: Path, what: str) -> None:
    """Raise ``OutputError`` unless a file can be written at ``path`` (its folder is made
    if missing): a file is created beside it and removed, as ``write_atomic`` would."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{what} {path} is a folder, not a file")
    check_folder_writable(path.parent, what, shown=path)


def check_folder_writable(
    folder: Path, what: str, *, shown: Path | None = None, hint: str = ""
) -> None:
    """Raise ``OutputError`` unless files can be written in ``folder`` (made if missing);
    ``hint`` (what to do instead) ends its message."""
    shown = shown or folder
    hint = f"; {hint}" if hint else ""
    if folder.exists() and not folder.is_dir():
        raise OutputError(
            f"{what} {shown} cannot be written: {folder} is a file, not a folder{hint}"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}.probe"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            os.write(fd, b"probe")
        finally:
            os.close(fd)
            probe.unlink(missing_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{what} {shown} cannot be written: {describe_os_error(exc)}{hint}"
        ) from None


def remove_stale_temps(folder: Path, now: float | None = None) -> int:
    """Remove the temporary files a killed writer left in ``folder``; how many went."""
    now = time.time() if now is None else now
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(TEMP_PREFIX):
            continue
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
            if age > STALE_ANY_S or (age > STALE_DEAD_WRITER_S and not _writer_alive(entry.name)):
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue  # gone already, or another run's to remove
    return removed


def _writer_alive(name: str) -> bool:
    """Whether the process named in a temporary file's name runs here (unknown: yes)."""
    pid_text = name[len(TEMP_PREFIX) :].split("-", 1)[0]
    if not pid_text.isdigit():
        return False  # an older name without a pid: its age alone decides
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # alive, but another user's
    return True
