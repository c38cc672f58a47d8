"""What the checked project's code may not do in the confirmation worker: change files, read
files other than code, reach the network, or start processes.

`--confirm` runs code from the checked repository (opt-in, in a worker with time and memory
limits: pool.py). An audit hook (PEP 578) refuses those operations while the project's own code
asks for them, that is while a frame from a file under the project root is on the stack. The
libraries keep working for themselves (Keras reads its configuration when it is imported, torch
imports its submodules). A refused operation raises PermissionError: the job fails and the
finding stays `unverified`, with the operation as the reason.

An audit hook cannot stop code that is determined to get out (ctypes, say); it keeps a model's
`__init__` that downloads weights, writes a checkpoint or shells out from doing it unasked.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from typing import Any, Optional

CODE_SUFFIXES = (".py", ".pyc", ".so", ".pyd", ".pth")
# Read by the frameworks on the model's behalf (CPU features, time zones, devices): never the
# project's data.
SYSTEM_FILES = ("/proc/", "/sys/", "/dev/", "/etc/", "/usr/")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
NETWORK = frozenset(
    {
        "socket.connect",
        "socket.bind",
        "socket.sendto",
        "socket.sendmsg",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyaddr",
        "urllib.Request",
    }
)
PROCESSES = frozenset(
    {
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.fork",
        "os.forkpty",
        "os.kill",
        "os.killpg",
        "pty.spawn",
    }
)
FILE_CHANGES = frozenset(
    {
        "os.remove",
        "os.rename",
        "os.rmdir",
        "os.mkdir",
        "os.chmod",
        "os.chown",
        "os.truncate",
        "os.link",
        "os.symlink",
        "os.utime",
        "shutil.rmtree",
        "shutil.copyfile",
        "shutil.copymode",
        "shutil.copystat",
        "shutil.move",
        "shutil.chown",
    }
)
_WATCHED = NETWORK | PROCESSES | FILE_CHANGES | {"open"}


class _State:
    project: tuple[str, ...] = ()  # the checked project's folders; empty: nothing is refused
    installed = False


def _library_roots() -> tuple[str, ...]:
    """Where installed code lives: a virtualenv inside the project is still a library."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(path)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # initlint itself
    roots.add(here)
    return tuple(sorted(os.path.join(os.path.realpath(r), "") for r in roots))


_LIBRARIES: tuple[str, ...] = ()


def _in(path: str, roots: tuple[str, ...]) -> bool:
    return any(path.startswith(r) for r in roots)


def _project_code_on_stack(project: tuple[str, ...]) -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if _in(name, project) and not _in(name, _LIBRARIES):
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


def _open_refusal(args: tuple[Any, ...]) -> Optional[str]:
    path, mode, flags = (tuple(args) + (None, None, 0))[:3]
    if isinstance(path, int) or path is None:
        return None  # an already open descriptor
    text = os.fsdecode(path)
    writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool((flags or 0) & _WRITE_FLAGS)
    if writes:
        return f"write the file {text}"
    if text.endswith(CODE_SUFFIXES) or _in(os.path.realpath(text), _LIBRARIES + SYSTEM_FILES):
        return None  # imports, what installed packages ship, what the OS tells them (/proc/cpuinfo)
    return f"read the file {text}"


def _hook(event: str, args: tuple[Any, ...]) -> None:
    project = _State.project
    if not project or event not in _WATCHED:
        return
    if event == "open":
        what = _open_refusal(args)
    elif event in NETWORK:
        what = "use the network"
    elif event in PROCESSES:
        what = "start or signal a process"
    else:
        what = f"change files ({event})"
    if what is not None and _project_code_on_stack(project):
        raise PermissionError(
            f"initlint --confirm runs the model's code without file, network or process access, and it tried to {what}"
        )


def install() -> None:
    """Add the hook (once per process; an audit hook cannot be removed)."""
    global _LIBRARIES
    if not _State.installed:
        _LIBRARIES = _library_roots()
        sys.dont_write_bytecode = True  # importing the project's modules writes no .pyc either
        sys.addaudithook(_hook)
        _State.installed = True


def guard(*folders: str) -> None:
    """Refuse the operations above to code in `folders` (the project root, the checked file's
    folder) from now on; no folders: refuse nothing."""
    _State.project = tuple(
        sorted(
            {os.path.join(f(folder), "") for folder in folders if folder for f in (os.path.abspath, os.path.realpath)}
        )
    )
