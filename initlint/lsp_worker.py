"""The process in which `initlint lsp` runs its checks.

A check in a thread of the server would share the GIL with the event loop,
and libcst's native parser holds it throughout: on a 4,800-line file one
stretch of ~0.5 s with no hover answered. In a process of its own a check
never delays a request. One long-lived process serves every check (starting
one costs ~0.5 s and 30 MB: an interpreter, libcst and the rules), and a
crash of it costs the server only that check: the next one starts a new
process. Kept apart from lsp.py so that the process never imports pygls.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
import traceback
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Optional, Union

from initlint.config import Settings
from initlint.diagnostics import Diagnostic

Reply = tuple[bool, Union[tuple[Diagnostic, ...], str]]  # (True, diagnostics) or (False, traceback)


class CheckFailed(Exception):
    """The check raised (a bug in a rule); the message is the traceback from the process."""


class CheckProcessDied(Exception):
    """The process ended during the check (a crash in native code, or killed)."""

    def __init__(self, exitcode: Optional[int]) -> None:
        super().__init__(f"the check process stopped (exit code {exitcode})")
        self.exitcode = exitcode


class CheckProcess:
    """The server's handle on the process. Used from one thread only, but for `close`."""

    def __init__(self) -> None:
        self.process: Optional[BaseProcess] = None
        self.conn: Optional[Connection] = None
        self.closed = False

    def start(self) -> None:
        """Start the process unless it runs (a blocking call of ~10 ms; it loads the rules by itself)."""
        if self.process is not None or self.closed:
            return
        # spawn, not fork: a fork would copy the locks the server's other threads hold.
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(target=serve, args=(theirs,), name="initlint-check", daemon=True)
        process.start()
        theirs.close()  # so that the process's end of the pipe closes when it dies
        self.process, self.conn = process, ours

    def check(self, path: str, text: str, settings: Settings) -> tuple[Diagnostic, ...]:
        """The diagnostics of `text`. Raises CheckFailed, or CheckProcessDied (a new process is
        started at once)."""
        self.start()
        assert self.conn is not None
        try:
            self.conn.send((path, text, settings))  # the path as per-file-ignores see it
            ok, value = self.conn.recv()
        except (EOFError, OSError):
            exitcode = self.stop()
            self.start()
            raise CheckProcessDied(exitcode) from None
        if not ok:
            assert isinstance(value, str)
            raise CheckFailed(value)
        assert isinstance(value, tuple)
        return value

    def stop(self) -> Optional[int]:
        """End the process (if still running) and return its exit code."""
        process, conn = self.process, self.conn
        self.process = self.conn = None
        if conn is not None:
            conn.close()
        if process is None:
            return None
        process.join(1)  # the exit code of a process that just died
        if process.is_alive():
            process.kill()
            process.join()
        return process.exitcode

    def close(self) -> None:
        """For the server's shutdown, from any thread: kill the process, start no other.
        A check waiting on it then raises CheckProcessDied."""
        self.closed = True
        process = self.process
        if process is not None and process.is_alive():
            process.kill()


def serve(conn: Connection) -> None:
    """The process's loop: one request, one reply, until the server closes its end."""
    # The server's stdout is the protocol channel: nothing here may write to it.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    from initlint.engine import check_source
    from initlint.facts.callsites import revalidate
    from initlint.rule import all_rules

    all_rules()  # loaded before the first request, not during it
    while True:
        try:
            path, text, settings = conn.recv()
        except (EOFError, OSError):
            return  # the server is gone
        # Parsing allocates a great many acyclic nodes that reference counting frees; the
        # cycle collector would only rescan them (see runner.check_file).
        gc.disable()
        reply: Reply
        try:
            revalidate()  # other files may have changed since the last check: their calls of this file's classes
            reply = (True, check_source(path, text, settings).diagnostics)
        except Exception:  # noqa: BLE001 - reported in the server's log
            reply = (False, traceback.format_exc())
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return
        finally:
            gc.enable()  # the cycles of this check are collected while the server publishes
