"""Shared test helpers."""

from __future__ import annotations

import contextlib
import csv
import importlib
import logging
import signal
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
REFERENCE_CASES = SHARED / "reference_cases" / "ipcc_tier1_reference_cases.csv"


def record_calls(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[Any]:
    """Wrap ``owner.name`` so that every value it returns is also appended to the list given
    back (a test reads which streams, recomputations or factorisations the executor chose)."""
    seen: list[Any] = []
    real = getattr(owner, name)

    def recording(*args: Any, **kwargs: Any) -> Any:
        out = real(*args, **kwargs)
        seen.append(out)
        return out

    monkeypatch.setattr(owner, name, recording)
    return seen


def bonsai(module: str) -> ModuleType:
    """A ``bonsai_ipcc`` module (a test-only peer), imported without its logging side effect."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        return importlib.import_module(f"bonsai_ipcc.{module}")
    finally:  # bonsai's __init__ calls logging.basicConfig(level=INFO); undo it
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)


def reference_cases() -> dict[tuple[str, str], float]:
    """The IPCC Tier 1 reference cases: (case id such as ``S1``, quantity) -> value."""
    if not REFERENCE_CASES.exists():
        pytest.fail(f"reference data missing: {REFERENCE_CASES} (CI provides ../shared)")
    with REFERENCE_CASES.open(encoding="utf-8") as f:
        return {(r["case"].split()[0], r["quantity"]): float(r["value"]) for r in csv.DictReader(f)}


@pytest.fixture
def write_model(tmp_path: Path) -> Callable[..., Path]:
    """Write a model (and optional side files, by name) into tmp_path; returns the model's path."""

    def write(text: str, name: str = "m.carbon", **files: str) -> Path:
        for rel, content in files.items():
            p = tmp_path / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


class _Hang(BaseException):
    """Raised by the alarm; a BaseException so carbonc's `except Exception` cannot swallow it."""


@contextlib.contextmanager
def time_limit(seconds: int, what: str) -> Iterator[None]:
    """Fail (instead of blocking the suite) when the body runs longer than ``seconds``.

    This guards against hangs; it is not a timing assertion.
    """

    def on_alarm(signum: int, frame: Any) -> None:
        raise _Hang

    old = signal.signal(signal.SIGALRM, on_alarm)
    outer = signal.alarm(seconds)  # an enclosing guard's remaining seconds, restored below
    try:
        yield
    except _Hang:
        raise AssertionError(f"hang: {what} took more than {seconds} s") from None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        if outer:
            signal.alarm(outer)
