"""Read one ``.carbon`` file: safe YAML with positions, schema validation, formula parsing.

The result is a :class:`Module`: the validated structure plus parsed formulas, every piece
carrying its span. Resolving imports and names is the compiler's job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from . import ast
from .diagnostics import Diagnostics, did_you_mean
from .parser import parse_formula
from .schema import LANGUAGE_VERSION, ModelFile, ParameterSpec, RuleSpec, Strict
from .span import Span, register_source
from .yaml_loader import YNode, load_yaml, plain


@dataclass(frozen=True, slots=True)
class Formula:
    """A parsed formula with the span of its whole string."""

    text: str
    tree: ast.Node
    span: Span


@dataclass
class Module:
    """One loaded ``.carbon`` file."""

    path: str
    text: str
    spec: ModelFile
    root: YNode
    formulas: dict[tuple[str, ...], Formula] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        """The folder the file lives in; relative paths resolve against it."""
        return Path(self.path).parent

    def span(self, *path: str | int) -> Span:
        """The span of the YAML node at ``path`` (keys and list indices), or the nearest parent's."""
        node = self.root
        for key in path:
            child: YNode | None = None
            if node.kind == "map" and isinstance(key, str):
                child = node.value.get(key)
            elif node.kind == "seq" and isinstance(key, int) and 0 <= key < len(node.value):
                child = node.value[key]
            if child is None:
                return node.span
            node = child
        return node.span

    def key_span(self, *path: str) -> Span:
        """The span of the last key of ``path`` (e.g. a rule's name)."""
        node = self.root
        for key in path[:-1]:
            child = node.get(key)
            if child is None:
                return node.span
            node = child
        return node.key_spans.get(path[-1], node.span)

    def node(self, *path: str | int) -> YNode | None:
        """The YAML node at ``path``, or None."""
        node: YNode | None = self.root
        for key in path:
            if node is None:
                return None
            if node.kind == "map" and isinstance(key, str):
                node = node.value.get(key)
            elif node.kind == "seq" and isinstance(key, int) and 0 <= key < len(node.value):
                node = node.value[key]
            else:
                return None
        return node


def load_module(path: str | Path, diags: Diagnostics, text: str | None = None) -> Module | None:
    """Load, validate and parse one ``.carbon`` file, collecting every problem in ``diags``."""
    file = str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            diags.error("E0006", "file is not valid UTF-8 text", Span.point(file, 1, 1))
            return None
        except OSError as exc:
            diags.error("E0701", f"cannot read model file: {exc.strerror or exc}", None)
            return None
    register_source(file, text)
    root = load_yaml(text, file, diags)
    if root is None:
        return None
    if root.kind != "map":
        diags.error(
            "E0004",
            "a .carbon file must be a mapping of blocks (`carbon:`, `model:`, `rules:` …)",
            root.span,
            help="start the file with `carbon: 1` and `model: <name>`",
        )
        return None
    data = plain(root)
    try:
        spec = ModelFile.model_validate(data)
    except ValidationError as exc:
        _schema_errors(exc, root, diags)
        _parse_formulas(None, root, diags)
        return None
    if spec.carbon != LANGUAGE_VERSION:
        diags.error(
            "E0104",
            f"unsupported language version `carbon: {spec.carbon}`",
            _at(root, ("carbon",)),
            help=f"this carbonc reads `carbon: {LANGUAGE_VERSION}`",
        )
        return None
    module = Module(file, text, spec, root)
    _check_names(module, diags)
    _parse_formulas(module, root, diags)
    return module


_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
RESERVED = frozenset({"in", "within", "and", "or", "not", "match", "super", "choice"})
_NAMED = ("import", "inputs", "dimensions", "data", "parameters", "choices", "rules")


def _check_names(module: Module, diags: Diagnostics) -> None:
    """Every name a formula, a file or an output can refer to must be a plain identifier."""
    for section in _NAMED:
        node = module.root.get(section)
        if node is None or node.kind != "map":
            continue
        for name in node.value:
            _check_name(name, node.key_spans.get(name, node.span), section, diags)
    for section in ("override",):
        node = module.root.get(section)
        for name in node.value if node is not None and node.kind == "map" else ():
            for part in name.split("."):
                _check_name(part, node.key_spans.get(name, node.span), section, diags)  # type: ignore[union-attr]
    outputs = module.root.get("outputs")
    for _i, item in enumerate(
        outputs.value if outputs is not None and outputs.kind == "seq" else []
    ):
        for part in str(item.value).split("."):
            _check_name(part, item.span, "outputs", diags)


def _check_name(name: str, span: Span, section: str, diags: Diagnostics) -> None:
    if _IDENT.match(name) and name not in RESERVED:
        return
    why = "is a reserved word" if name in RESERVED else "is not a valid name"
    diags.error(
        "E0105",
        f"`{name}` in `{section}` {why}",
        span,
        help="names start with a letter and hold only letters, digits and `_`"
        + (f"; rename it, e.g. `{name}_`" if name in RESERVED else ""),
    )


def _formula_nodes(root: YNode) -> list[tuple[tuple[str, ...], YNode]]:
    """Every formula string in the raw tree, keyed by where it sits (works before validation)."""
    out: list[tuple[tuple[str, ...], YNode]] = []

    def section(name: str) -> dict[str, YNode]:
        node = root.get(name)
        return node.value if node is not None and node.kind == "map" else {}

    def expr_of(node: YNode, key: str = "expr") -> YNode | None:
        return node if node.kind == "scalar" else node.get(key)

    for name, node in section("rules").items():
        out.append((("rules", name), expr_of(node) or node))
    for name, node in section("parameters").items():
        out.append((("parameters", name), expr_of(node, "value") or node))
    for name, node in section("override").items():
        out.append((("override", name), expr_of(node) or node))
    asserts = root.get("assert")
    for i, node in enumerate(
        asserts.value if asserts is not None and asserts.kind == "seq" else []
    ):
        out.append((("assert", str(i)), expr_of(node) or node))
        within = node.get("within")
        if within is not None:
            out.append((("assert", str(i), "within"), within))
    for process, node in section("processes").items():
        for part in ("products", "inputs", "emissions"):
            block = node.get(part) if node.kind == "map" else None
            for name, value in (
                block.value.items() if block is not None and block.kind == "map" else []
            ):
                out.append((("processes", process, part, name), value))
    for alias, node in section("import").items():
        with_ = node.get("with")
        for key, value in with_.value.items() if with_ is not None and with_.kind == "map" else []:
            out.append((("import", alias, key), value))
    return [(k, n) for k, n in out if n.kind == "scalar" and isinstance(n.value, str)]


def _parse_formulas(module: Module | None, root: YNode, diags: Diagnostics) -> None:
    for key, node in _formula_nodes(root):
        if key[0] == "parameters" and _is_plain_number(node.value):
            continue
        tree = parse_formula(node.value, node.span_map(), diags)
        if tree is not None and module is not None:
            module.formulas[key] = Formula(node.value, tree, node.span)


def _is_plain_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _at(root: YNode, loc: tuple[Any, ...]) -> Span:
    node = root
    for key in loc:
        child = None
        if node.kind == "map" and isinstance(key, str):
            child = node.value.get(key)
        elif node.kind == "seq" and isinstance(key, int) and 0 <= key < len(node.value):
            child = node.value[key]
        if child is None:
            break
        node = child
    return node.span


_SCALAR_TAGS = {"str", "int", "float", "bool", "none", "literal", "constrained-str"}


def _walk_loc(
    root: YNode, loc: tuple[Any, ...]
) -> tuple[list[Any], list[tuple[str, YNode]], YNode, YNode | None]:
    """Split a pydantic ``loc`` into the YAML path and the union-branch tags taken along it."""
    path: list[Any] = []
    tags: list[tuple[str, YNode]] = []
    node, parent = root, None
    aliases = {"import_": "import", "assert_": "assert", "from_": "from", "with_": "with"}
    for raw in loc:
        key = aliases.get(raw, raw) if isinstance(raw, str) else raw
        child = None
        if (node.kind == "map" and isinstance(key, str) and key in node.value) or (
            node.kind == "seq" and isinstance(key, int) and 0 <= key < len(node.value)
        ):
            child = node.value[key]
        if child is None:
            if isinstance(key, str) and (
                node.kind != "map" or key[:1].isupper() or "[" in key or key in _SCALAR_TAGS
            ):
                tags.append((key, node))
                continue
            path.append(key)
            return path, tags, node, None
        path.append(key)
        parent, node = node, child
    return path, tags, node, parent


def _branch_fits(tag: str, node: YNode) -> bool:
    base = tag.split("[", 1)[0]
    if node.kind == "map":
        return base[:1].isupper() or base == "dict"
    if node.kind == "seq":
        return base in ("list", "tuple")
    return base in _SCALAR_TAGS or base.startswith("function")


def _schema_errors(exc: ValidationError, root: YNode, diags: Diagnostics) -> None:
    found: list[tuple[str, str, Span, str | None]] = []
    fallback: list[tuple[str, str, Span, str | None]] = []
    for err in exc.errors():
        path, tags, node, _ = _walk_loc(root, tuple(err["loc"]))
        fits = all(_branch_fits(t, at) for t, at in tags)
        tag_names = [t for t, _ in tags]
        typ = err["type"]
        where = (
            ".".join(str(p) for p in path[:-1])
            if typ == "extra_forbidden"
            else ".".join(str(p) for p in path)
        )
        if typ == "extra_forbidden":
            key = str(path[-1])
            parent = _node_at(root, path[:-1])
            span = parent.key_spans.get(key, node.span) if parent else node.span
            allowed = _allowed_keys(tag_names, path[:-1])
            hint = did_you_mean(key, allowed)
            ctx = f" in `{where}`" if where else ""
            item = (
                "E0101",
                f"unknown key `{key}`{ctx}",
                span,
                hint or (f"allowed keys: {', '.join(sorted(allowed))}" if allowed else None),
            )
        elif typ == "missing":
            key = str(path[-1])
            ctx = f"`{'.'.join(str(p) for p in path[:-1])}`" if len(path) > 1 else "the file"
            item = (
                "E0102",
                f"missing required key `{key}` in {ctx}",
                node.span,
                f"add `{key}:`"
                if key not in ("carbon", "model")
                else "a model starts with `carbon: 1` and `model: <name>`",
            )
        else:
            msg = err["msg"].replace("Input should be", "expected").replace("a valid ", "")
            item = (
                "E0103",
                f"wrong type for `{where or 'document'}`: {msg}",
                node.span,
                _type_help(path),
            )
        (found if fits else fallback).append(item)
    items = found or fallback[:1]
    seen: set[tuple[str, str, Span]] = set()
    for code, msg, span, help_ in items:
        if (code, msg, span) in seen:
            continue
        seen.add((code, msg, span))
        diags.error(code, msg, span, help=help_)


def _node_at(root: YNode, path: list[Any]) -> YNode | None:
    node: YNode | None = root
    for key in path:
        if node is None:
            return None
        if node.kind == "map":
            node = node.value.get(key)
        elif node.kind == "seq" and isinstance(key, int) and 0 <= key < len(node.value):
            node = node.value[key]
        else:
            return None
    return node


def _model_for(tags: list[str], path: list[Any]) -> type[Strict] | None:
    from . import schema

    for tag in reversed(tags):
        cls = getattr(schema, tag, None)
        if isinstance(cls, type) and issubclass(cls, Strict):
            return cls
    if not path:
        return ModelFile
    section: dict[str, type[Strict]] = {
        "import": schema.ImportSpec,
        "inputs": schema.InputSpec,
        "data": schema.DataSpec,
        "parameters": ParameterSpec,
        "choices": schema.ChoiceSpec,
        "rules": RuleSpec,
        "override": schema.OverrideSpec,
        "assert": schema.AssertSpec,
        "dimensions": schema.DimensionFromCsv,
    }
    if len(path) == 2:
        return section.get(str(path[0]))
    return None


def _allowed_keys(tags: list[str], path: list[Any]) -> list[str]:
    cls = _model_for(tags, path)
    if cls is None:
        return []
    return [f.alias or n for n, f in cls.model_fields.items()]


def _type_help(path: list[Any]) -> str | None:
    if path and path[0] == "rules":
        return (
            'a rule is a formula string, e.g. `total: "sum(emissions)"`, or a mapping with `expr:`'
        )
    if path and path[0] == "dimensions":
        return "a dimension is a list of labels, e.g. `gas: [CO2, CH4, N2O]`, or `{csv: file.csv, column: code}`"
    if path and path[0] == "outputs":
        return "outputs is a list of names, e.g. `outputs: [total]`"
    return None
