"""Diagnostics: located, collected, rendered the same way by every stage of the pipeline."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import Literal

from .span import Span, display_file, source_line

Severity = Literal["error", "warning", "note"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a model or its data."""

    code: str
    message: str
    span: Span | None
    help: str | None = None
    severity: Severity = "error"
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready view with the location flattened."""
        out: dict[str, object] = {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
        }
        if self.span is not None:
            s = self.span
            out.update(
                file=display_file(s.file),
                line=s.line,
                column=s.col,
                end_line=s.end_line,
                end_column=s.end_col,
            )
        if self.help:
            out["help"] = self.help
        if self.notes:
            out["notes"] = list(self.notes)
        return out

    def render(self) -> str:
        """Render as ``file:line:col: error[CODE]: message`` plus the source line, a caret and help."""
        where = f"{self.span}: " if self.span else ""
        lines = [f"{where}{self.severity}[{self.code}]: {self.message}"]
        if self.span is not None:
            text = source_line(self.span.file, self.span.line)
            if text is not None:
                gutter = f"{self.span.line:>5}"
                lines.append(f"{gutter} | {text.expandtabs(1)}")
                width = (
                    self.span.end_col - self.span.col if self.span.end_line == self.span.line else 1
                )
                width = max(1, min(width, max(1, len(text) - self.span.col + 1)))
                lines.append(f"{' ' * len(gutter)} | {' ' * (self.span.col - 1)}{'^' * width}")
        lines.extend(f"note: {n}" for n in self.notes)
        if self.help:
            lines.append(f"help: {self.help}")
        return "\n".join(lines)


class CarbonError(Exception):
    """Raised by the Python API when a model or its data has errors; carries every diagnostic."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        super().__init__(render_all(self.diagnostics))


@dataclass
class Diagnostics:
    """A collector: stages add to it and keep going, so one run reports every problem."""

    items: list[Diagnostic] = field(default_factory=list)

    def error(
        self,
        code: str,
        message: str,
        span: Span | None,
        help: str | None = None,
        notes: Iterable[str] = (),
    ) -> None:
        """Record an error."""
        self.items.append(Diagnostic(code, message, span, help, "error", tuple(notes)))

    def warning(self, code: str, message: str, span: Span | None, help: str | None = None) -> None:
        """Record a warning (never fails a run)."""
        self.items.append(Diagnostic(code, message, span, help, "warning"))

    def extend(self, other: Iterable[Diagnostic]) -> None:
        """Take over diagnostics collected elsewhere."""
        self.items.extend(other)

    @property
    def has_errors(self) -> bool:
        """Whether any error (not warning) was recorded."""
        return any(d.severity == "error" for d in self.items)

    def raise_if_errors(self) -> None:
        """Raise :class:`CarbonError` with everything collected if any error was recorded."""
        if self.has_errors:
            raise CarbonError(sorted_diagnostics(self.items))

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def sorted_diagnostics(items: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Deduplicated and ordered by file, line and column, so output is stable."""
    seen: set[Diagnostic] = set()
    unique = [d for d in items if not (d in seen or seen.add(d))]  # type: ignore[func-returns-value]

    def key(d: Diagnostic) -> tuple[str, int, int, str]:
        s = d.span
        return (s.file, s.line, s.col, d.code) if s else ("", 0, 0, d.code)

    return sorted(unique, key=key)


def render_all(items: Iterable[Diagnostic]) -> str:
    """All diagnostics as text, separated by blank lines, with a summary line."""
    items = list(items)
    body = "\n\n".join(d.render() for d in items)
    n = sum(1 for d in items if d.severity == "error")
    if n:
        body += f"\n\n{n} error{'s' if n != 1 else ''} found"
    return body


def render_json(items: Iterable[Diagnostic]) -> str:
    """All diagnostics as a JSON document."""
    return json.dumps({"diagnostics": [d.to_dict() for d in items]}, indent=2)


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A ``did you mean`` help text for the closest candidate, if one is close enough."""
    match = get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean `{match[0]}`?" if match else None
