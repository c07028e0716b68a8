"""Source positions: every AST node, schema entry and data cell points back to its text."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a source file. Lines and columns are 1-based; ``end_col`` is exclusive."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    @classmethod
    def point(cls, file: str, line: int, col: int, width: int = 1) -> Span:
        """A span of ``width`` characters starting at ``line``:``col``."""
        return cls(file, line, col, line, col + max(width, 1))

    def shifted(self, offset: int, width: int) -> Span:
        """A sub-span on the first line, ``offset`` characters to the right."""
        return Span(self.file, self.line, self.col + offset, self.line, self.col + offset + width)

    def __str__(self) -> str:
        return f"{display_file(self.file)}:{self.line}:{self.col}"


_SOURCES: dict[str, str] = {}


def display_file(file: str) -> str:
    """``file`` as users read it: relative to the working folder when below it."""
    try:
        return Path(file).relative_to(Path.cwd()).as_posix()
    except ValueError:
        return file


def register_source(file: str, text: str) -> None:
    """Remember the text of ``file`` so diagnostics can quote it without reading the disk again."""
    _SOURCES[file] = text
    _lines.cache_clear()


def source_text(file: str) -> str | None:
    """The registered text of ``file``, or its content on disk, or None."""
    if file in _SOURCES:
        return _SOURCES[file]
    try:
        return Path(file).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


@lru_cache(maxsize=64)
def _lines(file: str) -> tuple[str, ...]:
    text = source_text(file)
    return tuple(text.splitlines()) if text is not None else ()


def source_line(file: str, line: int) -> str | None:
    """Line ``line`` (1-based) of ``file``, without its newline, or None when unavailable."""
    lines = _lines(file)
    if 1 <= line <= len(lines):
        return lines[line - 1]
    return None
