"""Parse formula strings into the typed AST with one cached LALR parser."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from . import ast
from .diagnostics import Diagnostics
from .span import Span

SpanMap = Callable[[int, int], Span]

# Words that signal an attempt to run Python; refused before parsing with a specific message.
_PYTHONISH = re.compile(
    r"__|\bimport\b|\blambda\b|\bexec\s*\(|\beval\s*\(|\bopen\s*\(|\bgetattr\s*\("
)

_TOKEN_NAMES = {
    "NAME": "a name",
    "NUMBER": "a number",
    "UNIT": "a unit",
    "STRING": "a quoted label",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "LSQB": "`[`",
    "RSQB": "`]`",
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "COMMA": "`,`",
    "EQUAL": "`=`",
    "COMP_OP": "a comparison",
    "ADD_OP": "`+` or `-`",
    "MUL_OP": "`*`, `/` or `@`",
    "POW_OP": "`^`",
    "MINUS": "`-`",
    "PLUS": "`+`",
    "DOT": "`.`",
    "$END": "the end of the formula",
}


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = resources.files("carbonc.dsl").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
    )


class _Build(Transformer[Token, ast.Node]):
    """Lark tree -> AST, mapping string offsets to file spans."""

    def __init__(self, span_of: SpanMap):
        super().__init__()
        self.span_of = span_of

    def _sp(self, meta: Any) -> Span:
        return self.span_of(meta.start_pos, meta.end_pos)

    def _tok(self, tok: Token) -> Span:
        start = tok.start_pos or 0
        return self.span_of(start, start + len(tok))

    @v_args(meta=True)
    def quantity(self, meta: Any, items: list[Token]) -> ast.Node:
        unit = str(items[1]).strip() if len(items) > 1 else None
        return ast.Quantity(self._sp(meta), float(items[0]), unit)

    @v_args(meta=True)
    def dotted(self, meta: Any, items: list[Token]) -> ast.Node:
        parts = tuple(str(t) for t in items)
        if "choice" in parts[:-1]:
            i = parts.index("choice")
            if i == len(parts) - 2:
                return ast.ChoiceRef(self._sp(meta), parts[:i], parts[-1])
        return ast.Name(self._sp(meta), parts)

    @v_args(meta=True)
    def super_(self, meta: Any, items: list[Any]) -> ast.Node:
        return ast.Super(self._sp(meta))

    @v_args(meta=True)
    def neg(self, meta: Any, items: list[ast.Node]) -> ast.Node:
        return ast.Unary(self._sp(meta), "-", items[0])

    @v_args(meta=True)
    def not_(self, meta: Any, items: list[ast.Node]) -> ast.Node:
        return ast.Unary(self._sp(meta), "not", items[0])

    @v_args(meta=True)
    def binop(self, meta: Any, items: list[Any]) -> ast.Node:
        left, op, right = items
        op = "^" if str(op) == "**" else str(op)
        return ast.Binary(self._sp(meta), op, left, right)

    @v_args(meta=True)
    def and_(self, meta: Any, items: list[ast.Node]) -> ast.Node:
        return ast.Binary(self._sp(meta), "and", items[0], items[1])

    @v_args(meta=True)
    def or_(self, meta: Any, items: list[ast.Node]) -> ast.Node:
        return ast.Binary(self._sp(meta), "or", items[0], items[1])

    @v_args(meta=True)
    def call(self, meta: Any, items: list[Any]) -> ast.Node:
        name: Token = items[0]
        args = tuple(a for a in items[1:] if not isinstance(a, ast.Keyword))
        kwargs = tuple(a for a in items[1:] if isinstance(a, ast.Keyword))
        return ast.Call(self._sp(meta), str(name), self._tok(name), args, kwargs)

    @v_args(meta=True)
    def kwarg(self, meta: Any, items: list[Any]) -> ast.Node:
        return ast.Keyword(self._sp(meta), str(items[0]), items[1])

    @v_args(meta=True)
    def tuple(self, meta: Any, items: list[ast.Node]) -> ast.Node:
        return ast.Tuple(self._sp(meta), tuple(items))

    def label(self, items: list[Token]) -> ast.Node:
        tok = items[0]
        text = str(tok)
        if tok.type == "STRING":
            text = text[1:-1]
        return ast.Label(self._tok(tok), text)

    def label_ref(self, items: list[Token]) -> ast.Node:
        parts = tuple(str(t) for t in items)
        first, last = items[0], items[-1]
        start = first.start_pos or 0
        span = self.span_of(start, (last.start_pos or 0) + len(last))
        if len(parts) >= 2 and parts[-2] == "choice":
            return ast.ChoiceRef(span, parts[:-2], parts[-1])
        return ast.Label(span, ".".join(parts))

    @v_args(meta=True)
    def selector(self, meta: Any, items: list[Any]) -> ast.Node:
        return ast.Selector(self._sp(meta), str(items[0]), items[1])

    @v_args(meta=True)
    def select(self, meta: Any, items: list[Any]) -> ast.Node:
        return ast.Select(self._sp(meta), items[0], tuple(items[1:]))

    @v_args(meta=True)
    def arm(self, meta: Any, items: list[Any]) -> ast.Node:
        tok: Token = items[0]
        value: str | None = str(tok)
        if tok.type == "WILDCARD":
            value = None
        elif tok.type == "STRING":
            value = str(tok)[1:-1]
        return ast.Arm(self._sp(meta), value, items[1])

    @v_args(meta=True)
    def match(self, meta: Any, items: list[Any]) -> ast.Node:
        target: ast.Node = items[0]
        if isinstance(target, ast.Name):
            # `match perspective {…}` reads as `match choice.perspective {…}`.
            target = ast.ChoiceRef(target.span, target.parts[:-1], target.parts[-1])
        assert isinstance(target, ast.ChoiceRef)
        return ast.Match(self._sp(meta), target, tuple(items[1:]))

    @v_args(meta=True)
    def convert(self, meta: Any, items: list[Any]) -> ast.Node:
        unit_tok: Token = items[1]
        return ast.Convert(self._sp(meta), items[0], str(unit_tok).strip(), self._tok(unit_tok))

    @v_args(meta=True)
    def within(self, meta: Any, items: list[ast.Node]) -> ast.Node:
        return ast.Within(self._sp(meta), items[0], items[1])


def parse_formula(text: str, span_of: SpanMap, diags: Diagnostics) -> ast.Node | None:
    """Parse one formula. On error, record a located diagnostic and return None.

    Args:
        text: the formula string as written in YAML.
        span_of: maps a character range of ``text`` to a span in the file.
        diags: where syntax errors go.
    """
    bad = _PYTHONISH.search(text)
    if bad:
        diags.error(
            "E0202",
            f"`{bad.group(0).strip('( ')}` is not part of the formula language",
            span_of(bad.start(), bad.end()),
            help="formulas only combine names, numbers with units and built-in functions; they never run Python",
        )
        return None
    if not text.strip():
        diags.error(
            "E0201", "empty formula", span_of(0, 1), help="write an expression, e.g. `a * b`"
        )
        return None
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        _syntax_error(text, exc, span_of, diags)
        return None
    node: ast.Node = _Build(span_of).transform(tree)
    return node


def _syntax_error(text: str, exc: UnexpectedInput, span_of: SpanMap, diags: Diagnostics) -> None:
    pos = exc.pos_in_stream if exc.pos_in_stream is not None else len(text)
    if isinstance(exc, UnexpectedCharacters):
        ch = text[pos] if pos < len(text) else ""
        msg = f"unexpected character `{ch}` in formula"
        help_ = "attribute access and other Python syntax are not allowed" if ch == "_" else None
        if ch in "'\"":
            help_ = 'quotes are only for labels inside `[...]`, e.g. x[category="1.A.1"]'
        diags.error("E0201", msg, span_of(pos, pos + 1), help=help_)
        return
    if isinstance(exc, UnexpectedEOF) or (
        isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    ):
        expected = _expected(exc)
        pos = len(text.rstrip())
        diags.error(
            "E0201",
            "formula ends too early",
            span_of(max(pos - 1, 0), max(pos, 1)),
            help=f"expected {expected}" if expected else None,
        )
        return
    assert isinstance(exc, UnexpectedToken)
    tok = exc.token
    expected = _expected(exc)
    start = tok.start_pos if tok.start_pos is not None else pos
    msg = f"unexpected `{tok}` in formula"
    help_ = f"expected {expected}" if expected else None
    if str(tok) == "=" and "COMP_OP" in exc.expected | {"COMP_OP"}:
        help_ = "use `==` to compare; `=` only appears in `x[dim=label]` and `f(x, over=dim)`"
    diags.error("E0201", msg, span_of(start, start + max(len(tok), 1)), help=help_)


def _expected(exc: UnexpectedInput) -> str:
    names = sorted(
        {
            _TOKEN_NAMES.get(t, f"`{t.lower()}`" if t.isupper() else t)
            for t in getattr(exc, "expected", set())
        }
    )
    names = [n for n in names if not n.startswith("`__")]
    if not names:
        return ""
    if len(names) > 6:
        names = [*names[:6], "…"]
    return ", ".join(names)
