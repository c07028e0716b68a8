"""Parse formula strings into the typed AST with one cached LALR parser."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, cast

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from . import ast
from .diagnostics import Diagnostics
from .span import Span

SpanMap = Callable[[int, int], Span]

# Limits that keep every later stage (recursive lowering and evaluation) far from Python's
# recursion limit; no hand-written formula comes near them.
MAX_DEPTH = 200
MAX_FORMULA = 20_000

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
    "OP": "an operator",
    "PREFIX": "`-` or `not`",
    "SUPER": "`super`",
    "MATCH": "`match`",
    "WILDCARD": "`_`",
    "DOT": "`.`",
    "$END": "the end of the formula",
}


# Binding power of binary operators (higher binds tighter) and of prefix operators, which take
# as their operand everything that binds at least as tightly as they do.
_BINARY = {
    "or": 1, "and": 2,
    "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4,
    "+": 5, "-": 5,
    "*": 6, "/": 6, "@": 6,
    "^": 8, "**": 8,
}  # fmt: skip
_RIGHT = {"^", "**"}
_PREFIX = {"not": 3, "-": 7, "+": 7}


def _join(a: Span, b: Span) -> Span:
    return Span(a.file, a.line, a.col, b.end_line, b.end_col)


@dataclass(frozen=True, slots=True)
class _Prefixed:
    """An operand with prefix operators, resolved when its chain is built."""

    ops: tuple[Token, ...]
    node: ast.Node


class _Build(Transformer[Token, Any]):
    """Builds the AST while LALR parses (an inline transformer: no parse tree is made)."""

    def __init__(self) -> None:
        super().__init__()
        self.span_of: SpanMap = lambda a, b: Span.point("<formula>", 1, a + 1, max(b - a, 1))

    def _tok(self, tok: Token) -> Span:
        start = tok.start_pos or 0
        return self.span_of(start, start + len(tok))

    def quantity(self, items: list[Token]) -> ast.Node:
        span = self._tok(items[0])
        if len(items) > 1:
            return ast.Quantity(
                _join(span, self._tok(items[1])), float(items[0]), str(items[1]).strip()
            )
        return ast.Quantity(span, float(items[0]), None)

    def dotted(self, items: list[Token]) -> ast.Node:
        parts = tuple(str(t) for t in items)
        last = items[-1]
        span = self.span_of(items[0].start_pos or 0, (last.start_pos or 0) + len(last))
        if "choice" in parts[:-1]:
            i = parts.index("choice")
            if i == len(parts) - 2:
                return ast.ChoiceRef(span, parts[:i], parts[-1])
        return ast.Name(span, parts)

    def super_(self, items: list[Token]) -> ast.Node:
        return ast.Super(self._tok(items[0]))

    def prefixed(self, items: list[Any]) -> _Prefixed:
        return _Prefixed(tuple(items[:-1]), items[-1])

    def chain(self, items: list[Any]) -> ast.Node:
        # `items` alternate operand, operator, operand …; precedence climbing builds the tree.
        if len(items) == 1 and not isinstance(items[0], _Prefixed):
            only: ast.Node = items[0]
            return only
        pos = 1  # index of the next pending operator

        def finish(item: Any) -> ast.Node:
            if isinstance(item, _Prefixed):
                return prefix(list(item.ops), item.node)
            node: ast.Node = item
            return node

        def prefix(ops: list[Token], node: ast.Node) -> ast.Node:
            # `-x^2` is -(x^2) and `not a == b` is not (a == b): a prefix operator takes the
            # operators that bind at least as tightly as itself. Innermost first, iteratively.
            for tok in reversed(ops):
                op = str(tok)
                node = climb(_PREFIX[op], node)
                if op != "+":
                    node = ast.Unary(_join(self._tok(tok), node.span), op, node)
            return node

        def climb(min_prec: int, lhs: ast.Node) -> ast.Node:
            nonlocal pos
            while pos < len(items):
                tok = str(items[pos])
                prec = _BINARY[tok]
                if prec < min_prec:
                    break
                operand = items[pos + 1]
                pos += 2  # consume the operator before the operand's own prefix climbs
                rhs = climb(prec if tok in _RIGHT else prec + 1, finish(operand))
                lhs = ast.Binary(_join(lhs.span, rhs.span), "^" if tok == "**" else tok, lhs, rhs)
            return lhs

        return climb(0, finish(items[0]))

    def call(self, items: list[Any]) -> ast.Node:
        name: Token = items[0]
        rest = [a for a in items[1:-1] if a is not None]
        args = tuple(a for a in rest if not isinstance(a, ast.Keyword))
        kwargs = tuple(a for a in rest if isinstance(a, ast.Keyword))
        span = _join(self._tok(name), self._tok(items[-1]))
        return ast.Call(span, str(name), self._tok(name), args, kwargs)

    def kwarg(self, items: list[Any]) -> ast.Node:
        name = str(items[0])
        if items[0].type == "STRING":  # a quoted label, e.g. stack(over=category, "1.A.1"=x)
            name = name[1:-1]
        return ast.Keyword(_join(self._tok(items[0]), items[1].span), name, items[1])

    def tuple(self, items: list[ast.Node]) -> ast.Node:
        return ast.Tuple(_join(items[0].span, items[-1].span), tuple(items))

    def label(self, items: list[Token]) -> ast.Node:
        tok = items[0]
        text = str(tok)
        if tok.type == "STRING":
            text = text[1:-1]
        return ast.Label(self._tok(tok), text)

    def label_ref(self, items: list[Token]) -> ast.Node:
        parts = tuple(str(t) for t in items)
        span = _join(self._tok(items[0]), self._tok(items[-1]))
        if len(parts) >= 2 and parts[-2] == "choice":
            return ast.ChoiceRef(span, parts[:-2], parts[-1])
        return ast.Label(span, ".".join(parts))

    def selector(self, items: list[Any]) -> ast.Node:
        return ast.Selector(_join(self._tok(items[0]), items[1].span), str(items[0]), items[1])

    def select(self, items: list[Any]) -> ast.Node:
        return ast.Select(_join(items[0].span, items[-1].span), items[0], tuple(items[1:]))

    def arm(self, items: list[Any]) -> ast.Node:
        tok: Token = items[0]
        value: str | None = str(tok)
        if tok.type == "WILDCARD":
            value = None
        elif tok.type == "STRING":
            value = str(tok)[1:-1]
        return ast.Arm(_join(self._tok(tok), items[1].span), value, items[1])

    def match(self, items: list[Any]) -> ast.Node:
        keyword, close = items[0], items[-1]
        items = items[1:-1]
        target: ast.Node = items[0]
        if isinstance(target, ast.Name):
            # `match perspective {…}` reads as `match choice.perspective {…}`.
            target = ast.ChoiceRef(target.span, target.parts[:-1], target.parts[-1])
        assert isinstance(target, ast.ChoiceRef)
        return ast.Match(_join(self._tok(keyword), self._tok(close)), target, tuple(items[1:]))

    def convert(self, items: list[Any]) -> ast.Node:
        unit_tok: Token = items[1]
        unit_span = self._tok(unit_tok)
        return ast.Convert(
            _join(items[0].span, unit_span), items[0], str(unit_tok).strip(), unit_span
        )

    def within(self, items: list[ast.Node]) -> ast.Node:
        return ast.Within(_join(items[0].span, items[1].span), items[0], items[1])


@lru_cache(maxsize=1)
def _parser() -> tuple[Lark, _Build]:
    grammar = resources.files("carbonc.dsl").joinpath("grammar.lark").read_text(encoding="utf-8")
    build = _Build()
    return Lark(grammar, parser="lalr", lexer="contextual", transformer=build), build


_LOCK = threading.Lock()


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
    if len(text) > MAX_FORMULA:
        diags.error(
            "E0201",
            f"formula is longer than {MAX_FORMULA} characters",
            span_of(0, 1),
            help="split it into several rules",
        )
        return None
    parser, build = _parser()
    with _LOCK:  # the transformer holds this formula's span map while it parses
        build.span_of = span_of
        try:
            # With an inline transformer, LALR returns what the transformer built: an AST node.
            node = cast(ast.Node, parser.parse(text))
        except UnexpectedInput as exc:
            _syntax_error(text, exc, span_of, diags)
            return None
        except RecursionError:
            node = None
    if node is None or _depth(node) > MAX_DEPTH:
        diags.error(
            "E0201",
            f"formula is nested more than {MAX_DEPTH} levels deep",
            span_of(0, 1),
            help="split it into several rules, each a step of the calculation",
        )
        return None
    return node


def _depth(node: ast.Node) -> int:
    deepest = 0
    stack = [(node, 1)]
    while stack:
        n, d = stack.pop()
        deepest = max(deepest, d)
        if deepest > MAX_DEPTH:
            break
        stack.extend((c, d + 1) for c in ast.children(n))
    return deepest


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
    if len(names) > 7:
        names = [*names[:7], "…"]
    return ", ".join(names)
