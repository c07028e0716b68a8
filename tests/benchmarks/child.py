"""A benchmark child process: builds its inputs, then runs one measured call on request.

The protocol: the parent writes the job (one JSON line) to the child's stdin; the child answers
``{"ready": …}`` once its inputs are built and its memory baseline taken, waits for ``go``,
makes the call and answers ``{"done": …}``. Both lines are JSON on stdout. :class:`Child` is the
parent's side, :class:`Protocol` the child's; ``show_summary`` prints a module's table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mrio_gen

if TYPE_CHECKING:  # the child processes never import pytest
    import pytest

HERE = Path(__file__).resolve().parent


class Child:
    """One fresh process running ``module.child_main()`` with one BLAS thread (or as many as
    ``CARBONC_BENCH_THREADS`` says: both tools get the same; carbonc's solver threads follow
    ``OMP_NUM_THREADS``)."""

    def __init__(self, module: str, job: dict[str, Any]):
        env = dict(os.environ)
        env.update(
            dict.fromkeys(mrio_gen.THREAD_VARS, os.environ.get("CARBONC_BENCH_THREADS", "1"))
        )
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


class Protocol:
    """The child's side: the job it was given, ``send`` for its answers, ``go`` to wait.

    The protocol keeps a private copy of stdout; the real stdout goes to stderr, so anything the
    tools print cannot corrupt it.
    """

    def __init__(self) -> None:
        self._out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
        os.dup2(2, 1)
        self.job: dict[str, Any] = json.loads(sys.stdin.readline())

    def send(self, obj: dict[str, Any]) -> None:
        """Answer the parent with one JSON line."""
        self._out.write(json.dumps(obj) + "\n")
        self._out.flush()

    def go(self) -> bool:
        """Wait for the parent's ``go``; False when it closed the pipe instead."""
        return sys.stdin.readline().strip() == "go"


def show_summary(request: pytest.FixtureRequest, table: str) -> None:
    """Print a benchmark module's summary table, past pytest's output capture."""
    capman = request.config.pluginmanager.getplugin("capturemanager")
    if capman is None:  # -p no:capture
        print("\n" + table)
        return
    with capman.global_and_fixture_disabled():
        print("\n" + table)
