"""A benchmark child process: builds its inputs, then runs one measured call on request.

The protocol: the parent writes the job (one JSON line) to the child's stdin; the child answers
``{"ready": …}`` once its inputs are built and its memory baseline taken, waits for ``go``,
makes the call and answers ``{"done": …}``. Both lines are JSON on stdout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import mrio_gen

HERE = Path(__file__).resolve().parent


class Child:
    """One fresh process running ``module.child_main()`` with one BLAS thread."""

    def __init__(self, module: str, job: dict[str, Any]):
        env = dict(os.environ)
        env.update(dict.fromkeys(mrio_gen.THREAD_VARS, "1"))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", f"import {module}; {module}.child_main()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        self._send(json.dumps(job))
        self.ready: dict[str, Any] = self._receive("ready")
        self.done: dict[str, Any] = {}

    def _send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def _receive(self, key: str) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            rc = self.proc.wait()
            raise RuntimeError(f"benchmark child exited with code {rc} before `{key}`")
        return json.loads(line)[key]

    def go(self) -> None:
        """The timed part: start the call and wait for the child to report it done."""
        self._send("go")
        self.done = self._receive("done")

    def finish(self) -> None:
        """Wait for the child to write any check file and exit."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        rc = self.proc.wait()
        if rc != 0:
            raise RuntimeError(f"benchmark child exited with code {rc}")
