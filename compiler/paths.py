"""Where files may be read from: the model's folder, the stdlib, and what the user allows."""

from __future__ import annotations

import re
from pathlib import Path

import carbonc.stdlib

STDLIB_ROOT = Path(carbonc.stdlib.__file__).resolve().parent
_STDLIB_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]*(/[A-Za-z0-9_][A-Za-z0-9_\-]*)*$")


class PathError(ValueError):
    """A path that is missing, malformed or outside the allowed folders."""

    def __init__(self, message: str, help: str | None = None):
        super().__init__(message)
        self.help = help


def stdlib_path(ref: str) -> Path:
    """The file behind ``stdlib:some/method``.

    Raises:
        PathError: the name is malformed or no such method ships with carbonc.
    """
    name = ref.removeprefix("stdlib:").strip().removesuffix(".carbon")
    if not _STDLIB_NAME.match(name):
        raise PathError(
            f"`{ref}` is not a valid stdlib name", help="stdlib names look like `stdlib:gwp`"
        )
    path = STDLIB_ROOT / f"{name}.carbon"
    if not path.is_file():
        available = sorted(
            str(p.relative_to(STDLIB_ROOT).with_suffix("")) for p in STDLIB_ROOT.rglob("*.carbon")
        )
        from carbonc.dsl.diagnostics import did_you_mean

        hint = did_you_mean(name, available)
        raise PathError(
            f"no stdlib method `{name}`",
            help=hint.replace("`", "`stdlib:", 1) if hint else f"available: {', '.join(available)}",
        )
    return path


def contained(path: Path, roots: list[Path]) -> bool:
    """Whether ``path`` (resolved, symlinks followed) lies inside one of ``roots``."""
    real = path.resolve()
    return any(real == r or r in real.parents for r in roots)


def safe_path(base: Path, rel: str, roots: list[Path], what: str) -> Path:
    """Resolve ``rel`` against ``base`` and check it stays inside ``roots``.

    Raises:
        PathError: the path leaves the allowed folders or does not exist.
    """
    if not rel or "\x00" in rel:
        raise PathError(f"empty or invalid {what} path")
    candidate = Path(rel)
    path = candidate if candidate.is_absolute() else base / candidate
    if not contained(path, roots):
        raise PathError(
            f"{what} path `{rel}` is outside the model's folder",
            help="model files may only read files below their own folder; "
            "pass `--allow-path DIR` to carbonc to permit another folder",
        )
    if not path.exists():
        raise PathError(f"{what} file `{rel}` does not exist", help=_missing_help(path))
    if not (path.is_file() or (what == "MRIO" and path.is_dir())):
        raise PathError(
            f"{what} path `{rel}` is not a regular file",
            help="give a plain file (not a folder, pipe or device)",
        )
    return path.resolve()


def _missing_help(path: Path) -> str | None:
    parent = path.parent
    if not parent.is_dir():
        return f"folder `{parent}` does not exist either"
    from carbonc.dsl.diagnostics import did_you_mean

    return did_you_mean(path.name, [p.name for p in parent.iterdir()])
