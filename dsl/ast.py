"""The typed AST of formula strings. Every node carries the span of its text in the file."""

from __future__ import annotations

from dataclasses import dataclass

from .span import Span


@dataclass(frozen=True, slots=True)
class Node:
    """Base of every expression node."""

    span: Span


@dataclass(frozen=True, slots=True)
class Quantity(Node):
    """A number with an optional unit, e.g. ``56.1 t/TJ``."""

    value: float
    unit: str | None


@dataclass(frozen=True, slots=True)
class Name(Node):
    """A reference: ``x`` or ``alias.x`` (or deeper, through nested imports)."""

    parts: tuple[str, ...]

    @property
    def dotted(self) -> str:
        """The reference as written, e.g. ``gwp.factor``."""
        return ".".join(self.parts)


@dataclass(frozen=True, slots=True)
class ChoiceRef(Node):
    """Reading a choice: ``choice.metric`` (or ``alias.choice.metric``)."""

    prefix: tuple[str, ...]
    name: str


@dataclass(frozen=True, slots=True)
class Super(Node):
    """Inside an ``override:``, the definition being replaced."""


@dataclass(frozen=True, slots=True)
class Unary(Node):
    """``-x`` or ``not x``."""

    op: str
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary(Node):
    """Arithmetic, comparison or logic between two operands that broadcast by dimension name."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Keyword(Node):
    """A ``name=value`` argument of a call."""

    name: str
    value: Node


@dataclass(frozen=True, slots=True)
class Call(Node):
    """A built-in function call, e.g. ``sum(x, over=gas)``."""

    func: str
    func_span: Span
    args: tuple[Node, ...]
    kwargs: tuple[Keyword, ...]


@dataclass(frozen=True, slots=True)
class Tuple(Node):
    """A parenthesised list, e.g. ``over=(fuel, gas)``."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Label(Node):
    """A literal label in a selection, e.g. ``CH4`` in ``x[gas=CH4]``."""

    text: str


@dataclass(frozen=True, slots=True)
class Selector(Node):
    """One ``dim=label`` of a selection."""

    dim: str
    label: Label | ChoiceRef


@dataclass(frozen=True, slots=True)
class Select(Node):
    """``x[gas=CH4, fuel=coal]``: picks labels and drops those dimensions."""

    target: Node
    selectors: tuple[Selector, ...]


@dataclass(frozen=True, slots=True)
class Arm(Node):
    """``value => expr`` in a match; ``value`` is None for the ``_`` catch-all."""

    value: str | None
    expr: Node


@dataclass(frozen=True, slots=True)
class Match(Node):
    """``match choice.x { a => e1, b => e2 }``: one arm per choice value."""

    choice: ChoiceRef
    arms: tuple[Arm, ...]


@dataclass(frozen=True, slots=True)
class Convert(Node):
    """``expr in kt CO2e``: convert to a unit (which must be compatible)."""

    expr: Node
    unit: str
    unit_span: Span


@dataclass(frozen=True, slots=True)
class Within(Node):
    """``a == b within tol``, only at the top of an assertion."""

    expr: Node
    tolerance: Node


Expr = Node


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of ``node``."""
    match node:
        case Unary(operand=o):
            return (o,)
        case Binary(left=a, right=b):
            return (a, b)
        case Call(args=args, kwargs=kwargs):
            return (*args, *kwargs)
        case Tuple(items=items):
            return items
        case Select(target=t, selectors=sels):
            return (t, *(s.label for s in sels))
        case Match(choice=c, arms=arms):
            return (c, *(a.expr for a in arms))
        case Convert(expr=e):
            return (e,)
        case Within(expr=e, tolerance=t):
            return (e, t)
        case Keyword(value=v):
            return (v,)
    return ()


def walk(node: Node) -> list[Node]:
    """Every node of the tree, parents before children."""
    out: list[Node] = []
    stack = [node]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(reversed(children(n)))
    return out
