"""Safe YAML loading with source positions.

Built on PyYAML's event stream (libyaml when available), never on a constructor that can
create Python objects. Explicit tags, anchors and aliases are refused, and plain scalars follow
the YAML 1.2 core schema so that ``NO`` (Norway) or ``on`` stay strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from .diagnostics import Diagnostics
from .span import Span

Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_BYTES = 10_000_000
MAX_NODES = 2_000_000
MAX_DEPTH = 64

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL_TRUE = re.compile(r"^(?:true|True|TRUE)$")
_BOOL_FALSE = re.compile(r"^(?:false|False|FALSE)$")
_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$")
_INT_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(
    r"^[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"
)

Kind = Literal["map", "seq", "scalar"]


@dataclass(eq=False, slots=True)
class YNode:
    """A YAML node with its position. Maps keep key order and the span of every key."""

    kind: Kind
    value: Any
    span: Span
    style: str | None = None
    raw: str | None = None
    key_spans: dict[str, Span] = field(default_factory=dict)
    indent: int = 0

    def get(self, key: str) -> YNode | None:
        """The child under ``key`` of a map node, or None."""
        if self.kind == "map":
            child: YNode | None = self.value.get(key)
            return child
        return None

    def text(self) -> str:
        """A scalar's source text (``NO`` stays ``NO``); other kinds give an empty string."""
        if self.kind != "scalar":
            return ""
        return self.raw if self.raw is not None else str(self.value)

    def span_map(self) -> Callable[[int, int], Span]:
        """A function mapping character ranges of this scalar's value to file spans.

        Single-line scalars (the common case) get a closure with the arithmetic precomputed,
        because the parser calls it for every token.
        """
        s = self.span
        if (
            self.kind == "scalar"
            and isinstance(self.value, str)
            and self.style not in ("|", ">")
            and "\n" not in self.value
            and s.line == s.end_line
        ):
            file, line = s.file, s.line
            col = s.col + (1 if self.style in ("'", '"') else 0)
            return lambda a, b: Span(file, line, col + a, line, col + (b if b > a else a + 1))
        return self.offset_span

    def offset_span(self, start: int, end: int) -> Span:
        """The span of characters ``start:end`` of a string scalar's value, mapped into the file."""
        s = self.span
        if self.kind != "scalar" or not isinstance(self.value, str):
            return s
        value: str = self.value
        if self.style in ("|", ">"):
            line_no = value.count("\n", 0, start)
            line_start = value.rfind("\n", 0, start) + 1
            col = self.indent + 1 + (start - line_start)
            width = max(1, min(end, len(value)) - start)
            return Span(s.file, s.line + 1 + line_no, col, s.line + 1 + line_no, col + width)
        if "\n" in value or s.line != s.end_line:
            return s
        quote = 1 if self.style in ("'", '"') else 0
        return Span(
            s.file, s.line, s.col + quote + start, s.line, s.col + quote + max(end, start + 1)
        )


def plain(node: YNode) -> Any:
    """The node as plain Python data (dicts, lists, scalars), for schema validation."""
    if node.kind == "map":
        return {k: plain(v) for k, v in node.value.items()}
    if node.kind == "seq":
        return [plain(v) for v in node.value]
    return node.value


def _scalar(value: str, style: str | None) -> Any:
    if style is not None:
        return value
    if _NULL.match(value):
        return None
    if _BOOL_TRUE.match(value):
        return True
    if _BOOL_FALSE.match(value):
        return False
    if _INT.match(value):
        digits = value.replace("_", "")
        # Beyond 18 digits an integer is not exact in a float anyway; keep it a float (or inf).
        return int(digits) if len(digits) <= 18 else float(digits)
    if _INT_HEX.match(value):
        return int(value, 16)
    if _FLOAT.match(value):
        v = value.lower().replace("_", "")
        if v.endswith("inf"):
            return float("-inf") if v.startswith("-") else float("inf")
        if v.endswith("nan"):
            return float("nan")
        return float(v)
    return value


def _span(file: str, start: Any, end: Any) -> Span:
    if start is None or end is None:
        return Span.point(file, 1, 1)
    return Span(file, start.line + 1, start.column + 1, end.line + 1, end.column + 1)


def _block_indent(lines: list[str], header_line: int) -> int:
    """Indentation of the first non-blank content line of a block scalar."""
    for text in lines[header_line + 1 :]:
        if text.strip():
            return len(text) - len(text.lstrip(" "))
    return 0


def load_yaml(text: str, file: str, diags: Diagnostics) -> YNode | None:
    """Parse ``text`` into a positioned node tree; problems go to ``diags``.

    Returns None when the document cannot be used at all.
    """
    if len(text) > MAX_BYTES:
        diags.error(
            "E0004",
            f"file is too large ({len(text)} bytes; the limit is {MAX_BYTES})",
            Span.point(file, 1, 1),
            help="split the model into files joined by `import:`",
        )
        return None
    lines = text.splitlines()
    stack: list[tuple[YNode, str | None]] = []
    root: YNode | None = None
    pending_key: list[str | None] = []
    count = 0
    documents = 0
    try:
        for event in yaml.parse(text, Loader=Loader):
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    diags.error(
                        "E0004",
                        "a .carbon file holds exactly one YAML document",
                        _span(file, event.start_mark, event.end_mark),
                        help="remove the `---` separator and merge the documents",
                    )
                    return None
                continue
            if isinstance(event, yaml.AliasEvent):
                diags.error(
                    "E0003",
                    f"YAML alias `*{event.anchor}` is not allowed",
                    _span(file, event.start_mark, event.end_mark),
                    help="write the value out in full, or share definitions with `import:`",
                )
                return None
            if isinstance(
                event, (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)
            ):
                count += 1
                if count > MAX_NODES:
                    diags.error(
                        "E0004",
                        f"document has more than {MAX_NODES} nodes",
                        _span(file, event.start_mark, event.end_mark),
                    )
                    return None
                tag = event.tag
                if tag is not None and tag != "!":
                    diags.error(
                        "E0002",
                        f"YAML tag `{tag}` is not allowed",
                        _span(file, event.start_mark, event.end_mark),
                        help="remove the tag; .carbon files hold plain data and formula strings only",
                    )
                    return None
                if event.anchor is not None:
                    diags.error(
                        "E0003",
                        f"YAML anchor `&{event.anchor}` is not allowed",
                        _span(file, event.start_mark, event.end_mark),
                        help="write the value out in full, or share definitions with `import:`",
                    )
                    return None
            if isinstance(event, yaml.ScalarEvent):
                span = _span(file, event.start_mark, event.end_mark)
                style = event.style if event.style else None
                if style in ("|", ">"):
                    header = event.start_mark.line if event.start_mark is not None else 0
                    node = YNode(
                        "scalar",
                        event.value,
                        span,
                        style,
                        event.value,
                        indent=_block_indent(lines, header),
                    )
                else:
                    node = YNode("scalar", _scalar(event.value, style), span, style, event.value)
                root = _attach(node, stack, pending_key, diags) or root
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if len(stack) >= MAX_DEPTH:
                    diags.error(
                        "E0004",
                        f"document is nested more than {MAX_DEPTH} levels deep",
                        _span(file, event.start_mark, event.end_mark),
                    )
                    return None
                is_map = isinstance(event, yaml.MappingStartEvent)
                node = YNode(
                    "map" if is_map else "seq",
                    {} if is_map else [],
                    _span(file, event.start_mark, event.end_mark),
                )
                root = _attach(node, stack, pending_key, diags) or root
                stack.append((node, None))
                pending_key.append(None)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                node, _ = stack.pop()
                pending_key.pop()
                end = _span(file, event.end_mark, event.end_mark)
                node.span = Span(node.span.file, node.span.line, node.span.col, end.line, end.col)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        if "nesting depth" in problem:
            diags.error(
                "E0004",
                f"document is nested more than {MAX_DEPTH} levels deep",
                Span.point(file, line, col),
                help="flatten the structure",
            )
            return None
        diags.error(
            "E0001",
            f"YAML syntax error: {problem}",
            Span.point(file, line, col),
            help=_yaml_help(problem),
        )
        return None
    except yaml.YAMLError as exc:
        diags.error("E0001", f"YAML syntax error: {exc}", Span.point(file, 1, 1))
        return None
    if root is None:
        diags.error(
            "E0004",
            "the file is empty",
            Span.point(file, 1, 1),
            help="a model starts with `carbon: 1` and `model: <name>`",
        )
    return root


def _yaml_help(problem: str) -> str | None:
    if "mapping values are not allowed" in problem:
        return 'quote formula strings that contain `: `, e.g. `total: "a + b"`'
    if "found character '\\t'" in problem or "tab" in problem:
        return "indent with spaces, not tabs"
    if "could not find expected ':'" in problem:
        return "each entry needs `key: value`; check the indentation of the line above"
    return None


def _attach(
    node: YNode,
    stack: list[tuple[YNode, str | None]],
    pending_key: list[str | None],
    diags: Diagnostics,
) -> YNode | None:
    """Attach ``node`` to the open container; returns it when it is the document root."""
    if not stack:
        return node
    parent, _ = stack[-1]
    if parent.kind == "seq":
        parent.value.append(node)
        return None
    key = pending_key[-1]
    if key is None:
        if node.kind != "scalar":
            diags.error("E0004", "mapping keys must be plain names", node.span)
            pending_key[-1] = f"<complex key at {node.span}>"
            return None
        name = node.text()
        if name in parent.value or name in parent.key_spans:
            diags.error(
                "E0005",
                f"duplicate key `{name}`",
                node.span,
                help="each key may appear once; remove or rename one of them",
                notes=(f"first defined at {parent.key_spans[name]}",),
            )
        parent.key_spans[name] = node.span
        pending_key[-1] = name
        return None
    if not key.startswith("<complex key") and key not in parent.value:
        parent.value[key] = node
    pending_key[-1] = None
    return None
