"""The worker process seen from the main process: start, send a job, wait with a time limit.

One worker serves a whole run so torch is imported once. A job that times
out, or a worker that dies (os._exit, a segfault, the memory limit), turns
that job into a reason; the next job gets a fresh worker.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, Optional

STARTUP_TIMEOUT = 120.0


def backend_missing(backend: str) -> Optional[str]:
    """Why the worker cannot run `backend` (found without importing it), or None."""
    import importlib.util

    if backend == "torch":
        return None
    if backend != "tensorflow":
        return f"the file targets the Keras {backend} backend, which the confirmation stage does not run"
    if os.environ.get("INITLINT_CONFIRM_NO_TENSORFLOW") or importlib.util.find_spec("tensorflow") is None:
        return "it must run on TensorFlow, the backend the file targets, and TensorFlow is not installed " \
               "(pip install tensorflow-cpu)"
    return None


class WorkerPool:
    """One worker per Keras backend: a process can import Keras for one backend only."""

    def __init__(self, memory_mb: int, project_root: str, threads: int = 1, backend: str = "torch") -> None:
        self.backend = backend
        self.memory_mb = memory_mb
        self.project_root = project_root
        self.threads = threads
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.stderr: Optional[Any] = None
        self.buffer = b""
        self.startup_error = ""

    def _start(self) -> bool:
        env = dict(os.environ)
        env["KERAS_BACKEND"] = self.backend
        env["PYTHONHASHSEED"] = "0"
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - held for the worker's lifetime, closed in close()
        config = json.dumps({"memory_mb": self.memory_mb, "threads": self.threads})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "initlint.confirm.worker", config],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            cwd=self.project_root,
            env=env,
        )
        self.buffer = b""
        ready = self._read_line(STARTUP_TIMEOUT)
        if not isinstance(ready, dict) or not ready.get("ready"):
            self.startup_error = self._death_reason("the confirmation worker did not start")
            self.close()
            return False
        return True

    def _read_line(self, timeout: float) -> Any:
        """One JSON line from the worker, "timeout", or None when it died."""
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            return json.loads(line)
        except ValueError:
            return None

    def _death_reason(self, what: str) -> str:
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return what
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = str(-code)
            reason = f"{what}: the worker was killed by {name}"
        else:
            reason = f"{what}: the worker exited with status {code}"
        tail = self._stderr_tail()
        return f"{reason} ({tail})" if tail else reason

    def _stderr_tail(self) -> str:
        if self.stderr is None:
            return ""
        try:
            self.stderr.seek(0)
            lines = [ln for ln in self.stderr.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        except (OSError, ValueError):
            return ""
        return lines[-1].strip()[:200] if lines else ""

    def run(self, job: dict[str, Any], timeout: float) -> dict[str, Any]:
        """The worker's result for `job`, or {"ok": False, "error": reason}."""
        if self.proc is None or self.proc.poll() is not None:
            if not self._start():
                return {"ok": False, "error": self.startup_error}
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write((json.dumps(job) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            reason = self._death_reason("the worker stopped before the job started")
            self.close()
            return {"ok": False, "error": reason}
        answer = self._read_line(timeout)
        if answer == "timeout":
            self.close()
            return {"ok": False, "error": f"building and measuring took longer than the {timeout:g} s time limit"}
        if not isinstance(answer, dict):
            reason = self._death_reason("the model crashed the interpreter")
            self.close()
            return {"ok": False, "error": reason}
        return answer

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            for stream in (self.proc.stdin, self.proc.stdout):
                try:
                    if stream is not None:
                        stream.close()
                except OSError:
                    pass
        if self.stderr is not None:
            self.stderr.close()
        self.proc = None
        self.stderr = None
