"""Property tests: no input makes ``check`` or ``run`` crash, hang or leak a traceback.

Formula strings, whole documents and generated models go through the parser, the CLI and the
Python API. A crash of the CLI (exit 70) fails the test with the traceback carbonc saved, so the
report names the bug directly.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import re
import signal
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

import carbonc
from carbonc.compiler import load
from carbonc.compiler.cli import main
from carbonc.dsl import ast
from carbonc.dsl.diagnostics import CarbonError, Diagnostics
from carbonc.dsl.parser import parse_formula
from carbonc.dsl.span import Span
from tests.conftest import time_limit

#: Multiply every example budget, e.g. ``CARBONC_FUZZ_SCALE=20`` for a long bug hunt.
SCALE = max(1, int(os.environ.get("CARBONC_FUZZ_SCALE", "1")))


def budget(n: int) -> int:
    """The number of examples for a test: ``n`` by default, scaled by CARBONC_FUZZ_SCALE."""
    return n * SCALE


FAST = settings(
    max_examples=budget(60),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
MEDIUM = settings(FAST, max_examples=budget(40))

REPO = Path(__file__).resolve().parents[1]

#: Wall-clock limit for one parse, check or run; longer counts as a hang.
HANG_SECONDS = 20


# -- helpers ----------------------------------------------------------------------------------


_CRASH_FILE = re.compile(r"Details were saved to (.+?); please attach")


def run_cli(*args: str) -> tuple[int, str]:
    """Run ``carbonc ARGS`` in-process; returns (exit code, stderr).

    An internal error (exit 70) is turned into an AssertionError carrying the saved traceback;
    the crash file is removed so shrinking does not litter the temp folder.
    """
    out, err = io.StringIO(), io.StringIO()
    try:
        with (
            time_limit(HANG_SECONDS, f"carbonc {' '.join(args)}"),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            code = main(list(args))
    except Exception as exc:  # main() must never raise; report it the same way
        raise AssertionError(
            f"carbonc {' '.join(args)} raised {type(exc).__name__}:\n{traceback.format_exc()}"
        ) from None
    if currently_in_test_context():
        event(f"carbonc {args[0]} exit {code}")
    stderr = err.getvalue()
    if code == 70:
        details = ""
        m = _CRASH_FILE.search(stderr)
        if m:
            crash = Path(m.group(1))
            with contextlib.suppress(OSError):
                details = crash.read_text(encoding="utf-8")
                crash.unlink()
        raise AssertionError(f"carbonc {' '.join(args)} exited 70 (internal error):\n{details}")
    assert "Traceback (most recent call last)" not in stderr
    return code, stderr


def run_api(path: Path) -> None:
    """``load(path).run()`` may only raise CarbonError (or its subclass AssertionFailed)."""
    try:
        with time_limit(HANG_SECONDS, f"load({path.name}).run()"):
            load(path).run()
    except CarbonError as exc:
        assert exc.diagnostics, "a CarbonError must carry at least one diagnostic"
        for d in exc.diagnostics:
            assert re.fullmatch(r"E\d{4}", d.code), d
            assert d.message
    except Exception:
        raise AssertionError(
            f"load(...).run() let a non-CarbonError escape:\n{traceback.format_exc()}"
        ) from None


@contextlib.contextmanager
def model_file(text: str | bytes, name: str = "m.carbon") -> Iterator[Path]:
    """Write a document into a fresh temporary folder (hypothesis runs many examples per test)."""
    with tempfile.TemporaryDirectory(prefix="carbonc-fuzz-") as d:
        path = Path(d) / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
        yield path


# -- formula strings --------------------------------------------------------------------------

NAMES = ["a", "b", "x", "fuel_use", "ef", "total", "co2e", "gas", "fuel", "sc", "gwp", "metric"]
NUMBERS = ["0", "1", "2.5", ".5", "1e-9", "1e309", "3E+2", "007", "1.", "12345678901234567890"]
UNITS = [
    "t",
    "kg",
    "TJ",
    "t/TJ",
    "kg/TJ",
    "kt CO2e",
    "t CO2e/t",
    "Mt CO2e",
    "%",
    "kg m^-3",
    "m**2",
    "GJ/t",
    "1",
]
FORMULA_TOKENS = [
    *NAMES,
    *NUMBERS,
    *UNITS,
    *[
        "+",
        "-",
        "*",
        "/",
        "@",
        "^",
        "**",
        "==",
        "!=",
        "<=",
        ">=",
        "<",
        ">",
        "=",
        "=>",
        ",",
        ".",
        "_",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
    ],
    "and",
    "or",
    "not",
    "in",
    "within",
    "match",
    "super",
    "choice",
    "choice.metric",
    "sc.choice.metric",
    "sum(",
    "mean(",
    "max(",
    "min(",
    "share(",
    "cumsum(",
    "where(",
    "stack(",
    "abs(",
    "sqrt(",
    "exp(",
    "log(",
    "is_present(",
    "over=",
    "over=(fuel, gas)",
    "over=gas",
    "[gas=CO2]",
    "[fuel=coal, gas=CH4]",
    '"1.A.1"',
    "'x'",
    "AR5 =>",
    "_ =>",
    "{",
    "}",
    " ",
    "\n",
    "\t",
    "µ",
    "°",
    "é",
    "\x00",
    "'",
    '"',
    "#",
    "\\",
]

token_formulas = st.tuples(
    st.lists(st.sampled_from(FORMULA_TOKENS), max_size=40), st.sampled_from([" ", ""])
).map(lambda t: t[1].join(t[0]))


def _span_of(text: str, calls: list[tuple[int, int]]) -> Any:
    def span_of(start: int, end: int) -> Span:
        calls.append((start, end))
        return Span("f.carbon", 1, start + 1, 1, max(end, start + 1) + 1)

    return span_of


def check_parse(text: str) -> None:
    diags = Diagnostics()
    calls: list[tuple[int, int]] = []
    with time_limit(HANG_SECONDS, f"parse_formula({text[:40]!r}…)"):
        tree = parse_formula(text, _span_of(text, calls), diags)
    if tree is None:
        assert diags.has_errors, "a formula that fails to parse must record a diagnostic"
        for d in diags:
            assert re.fullmatch(r"E\d{4}", d.code), d
            assert d.span is not None and d.message
    else:
        assert isinstance(tree, ast.Node)
        assert not diags.has_errors
    for start, end in calls:
        assert 0 <= start <= max(len(text), 1), (start, end, text)
        assert start <= end <= len(text) + 1, (start, end, text)


@FAST
@given(st.text(max_size=200))
@example("")
@example("   ")
@example("x.__class__")
@example("a ^ b ^ c ** d")
@example("match metric { AR5 => 1, _ => 2 }")
@example("sum(x, over=(gas, fuel)) in kt CO2e within 1e-9")
def test_parse_formula_arbitrary_text_never_raises(text: str) -> None:
    check_parse(text)


DISTRIBUTION_PARTS = st.sampled_from(
    [
        "normal",
        "lognormal",
        "triangular",
        "uniform",
        "pert",
        "dirichlet",
        "(",
        ")",
        ",",
        "=",
        "sd",
        "gsd",
        "low",
        "high",
        "mode",
        "mean",
        "gm",
        "concentration",
        "-",
        "+",
        "±",
        "%",
        "/",
        " ",
        "1",
        "0",
        "2.5",
        "1e3",
        "t",
        "t/TJ",
        "kg",
        "x",
        ".",
        "*",
    ]
)


@settings(FAST, max_examples=budget(200))
@given(st.one_of(st.text(max_size=60), st.lists(DISTRIBUTION_PARTS, max_size=14).map("".join)))
@example("±5%")
@example("-30%/+50%")
@example("normal(sd=-1)")
@example("lognormal(low=-200%, high=+1%)")
@example("triangular(3, 1, 2)")
def test_parse_distribution_never_raises(text: str) -> None:
    """Uncertainty strings: a distribution, or located diagnostics, never an exception."""
    from carbonc.compiler.uncertainty import Dist, parse_distribution

    diags = Diagnostics()
    calls: list[tuple[int, int]] = []
    with time_limit(HANG_SECONDS, f"parse_distribution({text[:40]!r}…)"):
        dist = parse_distribution(text, _span_of(text, calls), lambda u, s: 1.0, diags)
    if dist is None:
        assert diags.has_errors
        assert all(d.span is not None and re.fullmatch(r"E\d{4}", d.code) for d in diags)
    else:
        assert isinstance(dist, Dist) and not diags.has_errors


@settings(FAST, max_examples=budget(150))
@given(token_formulas)
@example("+".join(["1"] * 3000))
@example("-" * 3000 + "1")
@example("a" + "[gas=CO2]" * 2000)
@example("(" * 3000 + "1" + ")" * 3000)
@example("not " * 3000 + "a")
def test_parse_formula_token_soup_never_raises(text: str) -> None:
    check_parse(text)


# -- whole documents --------------------------------------------------------------------------

VALID_MODEL = """\
carbon: 1
model: t
description: >
  folded text
dimensions:
  gas: [CO2, CH4, N2O]
  fuel: [coal, gas]
choices:
  metric: {one_of: [AR5, AR6], default: AR5}
parameters:
  k: 2
  factor: {value: "3 t/TJ", unit: t/TJ}
data:
  fuel_use: {dims: [fuel], unit: TJ, values: {coal: 100, gas: 200}}
  ef: {dims: [fuel, gas], unit: kg/TJ, values: {coal: {CO2: 94600, CH4: 1, N2O: 1.5}, gas: {CO2: 56100, CH4: 1, N2O: 0.1}}}
  gwp: {dims: [gas], unit: t CO2e/t, values: {CO2: 1, CH4: 28, N2O: 265}}
rules:
  emissions: "fuel_use * ef"
  co2e:
    expr: "sum(emissions * gwp, over=gas) in t CO2e"
    unit: t CO2e
    dims: [fuel]
  total: "sum(co2e) in kt CO2e"
  scaled: "match choice.metric { AR5 => total, AR6 => total * 1.1 }"
  coal_only: "co2e[fuel=coal] * k"
assert:
  - "total > 0 kt CO2e"
  - expr: "sum(co2e) == total"
    within: 1e-9
    message: totals agree
outputs: [emissions, co2e, total, scaled, coal_only]
"""


def test_valid_model_baseline() -> None:
    """The seed of the mutation fuzzer runs cleanly, so mutants start from a working model."""
    with model_file(VALID_MODEL) as path:
        code, err = run_cli("run", str(path))
        assert code == 0, err
        assert run_cli("check", str(path))[0] == 0


def check_document(text: str | bytes) -> None:
    with model_file(text) as path:
        code, err = run_cli("check", str(path))
        assert code in (0, 1), (code, err)
        if code == 1:
            assert re.search(r"error\[E\d{4}\]", err), err
        code, err = run_cli("run", str(path))
        assert code in (0, 1, 3), (code, err)
        code, err = run_cli("check", "--json", str(path))
        assert code in (0, 1), (code, err)


@MEDIUM
@given(st.text(max_size=300))
@example("")
@example("---\n...\n")
@example("a: 1\n---\nb: 2\n")
@example("- 1\n- 2\n")
@example("carbon: 1\nmodel: t\n? [a]\n: 1\n")
@example("carbon: 1\nmodel: t\nrules: {x: 1\n")
@example("carbon: 1\nmodel: t\ndescription: " + "1" * 5000 + "\n")
def test_arbitrary_text_document(text: str) -> None:
    check_document(text)


@settings(FAST, max_examples=budget(15))
@given(st.binary(max_size=200))
def test_arbitrary_bytes_document(data: bytes) -> None:
    check_document(data)


TOKEN_SWAPS_FROM = [*NAMES, *UNITS, "coal", "CO2", "AR5", "100", "1e-9", "super", "with", "from"]
TOKEN_SWAPS_TO = [*NAMES, *UNITS, *NUMBERS, "", "nope", "[]", "{}", "~", "stdlib:gwp", "../x"]


def mutate(draw: st.DrawFn, text: str) -> str:
    """``text`` with a few characters, tokens or lines inserted, deleted or replaced."""
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["insert", "delete", "replace", "line", "token", "token"]))
        i = draw(st.integers(0, len(text)))
        if kind == "insert":
            text = text[:i] + draw(st.text(max_size=5)) + text[i:]
        elif kind == "delete":
            text = text[:i] + text[i + draw(st.integers(1, 20)) :]
        elif kind == "replace":
            token = draw(st.sampled_from([*FORMULA_TOKENS, "-", ":", "[", "]"]))
            text = text[:i] + token + text[i + 1 :]
        elif kind == "token":
            old, new = (
                draw(st.sampled_from(TOKEN_SWAPS_FROM)),
                draw(st.sampled_from(TOKEN_SWAPS_TO)),
            )
            text = text.replace(old, new, draw(st.sampled_from([1, -1])))
        elif text:
            lines = text.splitlines(keepends=True)
            j = draw(st.integers(0, len(lines) - 1))
            if draw(st.booleans()):
                del lines[j]
            else:
                lines.insert(j, lines[draw(st.integers(0, len(lines) - 1))])
            text = "".join(lines)
    return text


@st.composite
def mutated_models(draw: st.DrawFn) -> str:
    """The valid single-file model, mutated."""
    return mutate(draw, VALID_MODEL)


@settings(FAST, max_examples=budget(120))
@given(mutated_models())
def test_mutated_model_document(text: str) -> None:
    check_document(text)


KEYS = [
    "carbon",
    "model",
    "description",
    "extends",
    "import",
    "inputs",
    "dimensions",
    "data",
    "parameters",
    "choices",
    "rules",
    "override",
    "assert",
    "outputs",
    "expr",
    "unit",
    "dims",
    "values",
    "value",
    "csv",
    "wide",
    "columns",
    "fill",
    "one_of",
    "default",
    "within",
    "message",
    "because",
    "from",
    "with",
    "column",
    "gas",
    "x",
]
yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([*KEYS, *NAMES, *UNITS, "1 t", "a * b", "sum(x)", "stdlib:gwp", "x.carbon"]),
    st.text(max_size=10),
)
yaml_trees = st.recursive(
    yaml_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), children, max_size=5),
    ),
    max_leaves=25,
)


@st.composite
def schema_soup(draw: st.DrawFn) -> str:
    """A mapping with the language's keys at random places: exercises schema error reporting."""
    doc: dict[str, Any] = {"carbon": draw(st.sampled_from([1, 1, 2, "1", None])), "model": "t"}
    doc.update(draw(st.dictionaries(st.sampled_from(KEYS), yaml_trees, max_size=6)))
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


@settings(FAST, max_examples=budget(100))
@given(schema_soup())
def test_schema_soup_document(text: str) -> None:
    check_document(text)


# -- structured models ------------------------------------------------------------------------

DIM_NAMES = ["gas", "fuel", "year", "sector"]
LABELS: list[str | int] = ["CO2", "CH4", "N2O", "coal", "oil", "a", "b", "NO", "x_1", 2020, 2021]
#: Units by kind: formulas are generated so that kinds (mostly) agree.
KIND_UNITS = {"mass": ["t", "kg", "kt", "Mt"], "ratio": ["1", "%"]}
ANY_UNITS = ["t", "kg", "TJ", "t/TJ", "kg/TJ", "t CO2e", "kt CO2e", "t CO2e/t", "%", "1", "m^2"]
ODD_UNITS = ["", "nope", "kg/", "(", "kg (", "1/0", "m**1e400", "kg^99999", "degC", "__class__"]
ODD_NUMBERS: list[Any] = [
    0,
    -0.0,
    1e308,
    -1e308,
    float("nan"),
    float("inf"),
    10**30,
    10**400,
    True,
    "x",
    None,
    [],
]
CHOICE_VALUES = ["AR4", "AR5", "AR6", "low", "high"]


def _ident(label: str | int) -> bool:
    return isinstance(label, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", label) is not None


def _literal(value: float) -> str:
    text = repr(float(value))
    return {"inf": "1e999", "-inf": "-1e999", "nan": "0"}.get(text, text)


class _Gen:
    """Draws formulas of a kind (``mass``, ``ratio`` or ``cond``) over the names in scope.

    Each formula comes with the dims it has, so reductions and selections mostly name dims the
    value really has. In a chaotic model some steps ignore kinds and dims on purpose.
    """

    def __init__(
        self,
        draw: st.DrawFn,
        dims: dict[str, list[str | int]],
        names: dict[str, tuple[str, frozenset[str]]],
        choices: list[str],
        chaos: bool,
    ):
        self.draw, self.dims, self.names, self.choices, self.chaos = (
            draw,
            dims,
            names,
            choices,
            chaos,
        )

    def pick(self, options: list[Any]) -> Any:
        return self.draw(st.sampled_from(options))

    def number(self) -> float:
        return self.draw(st.one_of(st.integers(-5, 100), st.floats(-1e6, 1e6, allow_nan=False)))

    def leaf(self, kind: str) -> tuple[str, frozenset[str]]:
        fits = [n for n, (k, _) in self.names.items() if k == kind]
        if self.chaos and self.draw(st.integers(0, 9)) == 0:
            return self.pick(["nope", "super", "choice.metric", "d9", "r0", "1 nope"]), frozenset()
        if fits and self.draw(st.integers(0, 2)) > 0:
            name = self.pick(fits)
            return name, self.names[name][1]
        if kind == "cond":
            a, da = self.leaf("mass")
            return f"{a} > {_literal(self.number())} t", da
        unit = self.pick(KIND_UNITS[kind])
        return f"{_literal(self.number())} {unit}".rstrip(" 1"), frozenset()

    def expr(self, kind: str, depth: int = 3) -> tuple[str, frozenset[str]]:
        if depth <= 0 or self.draw(st.integers(0, 3)) == 0:
            return self.leaf(kind)
        if self.chaos and self.draw(st.integers(0, 7)) == 0:
            kind = self.pick(["mass", "ratio", "cond"])  # deliberately the wrong kind
        sub = depth - 1
        if kind == "cond":
            form = self.pick(["cmp", "cmp", "and", "not"])
            if form == "cmp":
                k = self.pick(["mass", "ratio"])
                (a, da), (b, db) = self.expr(k, sub), self.expr(k, sub)
                return f"{a} {self.pick(['<', '<=', '>', '>=', '==', '!='])} {b}", da | db
            if form == "and":
                (a, da), (b, db) = self.expr("cond", sub), self.expr("cond", sub)
                return f"({a}) {self.pick(['and', 'or'])} ({b})", da | db
            a, da = self.expr("cond", sub)
            return f"not ({a})", da
        forms = ["add", "add", "scale", "reduce", "select", "where", "neg", "convert", "minmax"]
        forms += ["match"] if self.choices else []
        forms += ["ratio_of", "share", "fn", "power"] if kind == "ratio" else ["cumsum", "stack"]
        form = self.pick(forms)
        if form == "add":
            (a, da), (b, db) = self.expr(kind, sub), self.expr(kind, sub)
            return f"({a} {self.pick(['+', '-'])} {b})", da | db
        if form == "scale":
            (a, da), (b, db) = self.expr(kind, sub), self.expr("ratio", sub)
            return f"({a} {self.pick(['*', '/'])} {b})", da | db
        if form == "ratio_of":
            (a, da), (b, db) = self.expr("mass", sub), self.expr("mass", sub)
            return f"({a} / {b})", da | db
        if form in ("reduce", "select", "share", "cumsum"):
            a, da = self.expr("mass" if form == "share" else kind, sub)
            if not da and not self.chaos:
                return a, da
            dim = self.pick(sorted(da) or list(self.dims) or ["gas"])
            if form == "select":
                label = self.pick([*self.dims.get(dim, ["CO2"]), *(["zzz"] if self.chaos else [])])
                shown = label if _ident(label) or isinstance(label, int) else f'"{label}"'
                return f"({a})[{dim}={shown}]", da - {dim}
            if form in ("share", "cumsum"):
                return f"{form}({a}, over={dim})", da
            fn = self.pick(["sum", "mean", "min", "max"])
            if self.draw(st.booleans()):
                return f"{fn}({a})", frozenset()
            return f"{fn}({a}, over={dim})", da - {dim}
        if form == "where":
            (c, dc), (a, da), (b, db) = (
                self.expr("cond", sub),
                self.expr(kind, sub),
                self.expr(kind, sub),
            )
            return f"where({c}, {a}, {b})", dc | da | db
        if form == "neg":
            a, da = self.expr(kind, sub)
            return f"-{a}", da
        if form == "convert":
            a, da = self.expr(kind, sub)
            return f"({a} in {self.pick(KIND_UNITS[kind])})", da
        if form == "minmax":
            (a, da), (b, db) = self.expr(kind, sub), self.expr(kind, sub)
            return f"{self.pick(['min', 'max'])}({a}, {b})", da | db
        if form == "match":
            arms = self.draw(st.lists(st.sampled_from(self.choices), min_size=1, unique=True))
            parts, dims = [], frozenset[str]()
            for value in arms:
                a, da = self.expr(kind, sub)
                parts.append(f"{value} => {a}")
                dims |= da
            if len(arms) < len(self.choices) or self.draw(st.booleans()):
                a, da = self.expr(kind, sub)
                parts.append(f"_ => {a}")
                dims |= da
            return "match choice.metric { " + ", ".join(parts) + " }", dims
        if form == "fn":
            a, da = self.expr("ratio", sub)
            return f"{self.pick(['abs', 'exp', 'log', 'sqrt'])}({a})", da
        if form == "power":
            a, da = self.expr("ratio", sub)
            return f"({a}) ^ {self.pick(['2', '0.5', '-1', '0'])}", da
        # stack: one value per label of a dim the parts do not have yet
        free = [d for d in self.dims if all(_ident(lab) for lab in self.dims[d])]
        if not free:
            return self.leaf(kind)
        dim = self.pick(free)
        parts, dims = [], frozenset([dim])
        for label in self.dims[dim]:
            a, da = self.expr(kind, sub)
            parts.append(f"{label}={a}")
            dims |= da
        return f"stack(over={dim}, {', '.join(parts)})", dims


@st.composite
def models(draw: st.DrawFn) -> str:
    """A generated model: dims, inline data, parameters, a choice, typed random rules, asserts.

    Most models are meant to be correct; one in five is chaotic (odd units and numbers, wrong
    kinds, unknown names), so check and run see both clean and broken models.
    """
    chaos = draw(st.integers(0, 4)) == 0
    numbers = st.one_of(
        st.integers(-1000, 1000),
        st.floats(-1e6, 1e6, allow_nan=False),
        *([st.sampled_from(ODD_NUMBERS)] if chaos else []),
    )
    dims: dict[str, list[str | int]] = {}
    for name in draw(st.lists(st.sampled_from(DIM_NAMES), max_size=3, unique=True)):
        dims[name] = draw(st.lists(st.sampled_from(LABELS), min_size=1, max_size=4, unique=True))
    doc: dict[str, Any] = {"carbon": 1, "model": "fuzz"}
    if dims:
        doc["dimensions"] = dims

    def values_for(ds: list[str]) -> Any:
        if not ds:
            return draw(numbers)
        shape = draw(st.sampled_from(["map", "map", "list", "scalar"]))
        if shape == "scalar":
            return draw(numbers)
        labels = dims[ds[0]]
        if chaos and draw(st.integers(0, 4)) == 0:
            labels = [*labels[1:], "zzz"]  # a missing and an unknown label
        if shape == "list":
            return [values_for(ds[1:]) for _ in labels]
        return {lab: values_for(ds[1:]) for lab in labels}

    def unit_for(kind: str) -> str:
        if chaos and draw(st.integers(0, 3)) == 0:
            return draw(st.sampled_from(ANY_UNITS + ODD_UNITS))
        return draw(st.sampled_from(KIND_UNITS[kind]))

    names: dict[str, tuple[str, frozenset[str]]] = {}
    data: dict[str, Any] = {}
    for i in range(draw(st.integers(1, 3))):
        ds = draw(st.permutations(list(dims)))[: draw(st.integers(0, len(dims)))]
        kind = draw(st.sampled_from(["mass", "mass", "ratio"]))
        data[f"d{i}"] = {"dims": ds, "unit": unit_for(kind), "values": values_for(ds)}
        names[f"d{i}"] = (kind, frozenset(ds))
    doc["data"] = data

    params: dict[str, Any] = {}
    for i in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["mass", "ratio"]))
        form = draw(st.sampled_from(["number", "formula", "spec"]))
        if form == "number":
            params[f"p{i}"] = draw(numbers)
            kind = "ratio"
        elif form == "formula":
            params[f"p{i}"] = f"{_literal(draw(st.floats(-1e3, 1e3)))} {unit_for(kind)}"
        else:
            params[f"p{i}"] = {"value": draw(numbers), "unit": unit_for(kind)}
        names[f"p{i}"] = (kind, frozenset())
    if params:
        doc["parameters"] = params

    choices: list[str] = []
    if draw(st.booleans()):
        choices = draw(
            st.lists(st.sampled_from(CHOICE_VALUES), min_size=1, max_size=3, unique=True)
        )
        default = draw(st.sampled_from(choices + (["nope"] if chaos else [])))
        doc["choices"] = {"metric": {"one_of": choices, "default": default}}

    gen = _Gen(draw, dims, names, choices, chaos)
    rules: dict[str, Any] = {}
    for i in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["mass", "mass", "ratio"]))
        expr, rdims = gen.expr(kind)
        if draw(st.booleans()):
            rules[f"r{i}"] = expr
        else:
            spec: dict[str, Any] = {"expr": expr}
            if draw(st.booleans()):
                spec["unit"] = unit_for(kind)
            if draw(st.booleans()):
                spec["dims"] = (
                    sorted(rdims)
                    if not chaos
                    else draw(st.lists(st.sampled_from(DIM_NAMES), unique=True))
                )
            rules[f"r{i}"] = spec
        names[f"r{i}"] = (kind, rdims)  # later rules may use it (and chaos may loop back)
    doc["rules"] = rules

    asserts: list[Any] = []
    for _ in range(draw(st.integers(0, 2))):
        form = draw(st.sampled_from(["cond", "within", "spec"]))
        if form == "cond":
            asserts.append(gen.expr("cond")[0])
            continue
        kind = draw(st.sampled_from(["mass", "ratio"]))
        left, right = gen.expr(kind)[0], gen.expr(kind)[0]
        if form == "within":
            tol = draw(st.sampled_from(["1e-9", "0", "1 t", "10 %"]))
            asserts.append(f"{left} == {right} within {tol}")
        else:
            within = draw(st.sampled_from([1e-9, 0, "1 t", 0.5]))
            asserts.append({"expr": f"{left} == {right}", "within": within, "message": "m"})
    if asserts:
        doc["assert"] = asserts
    outputs = draw(
        st.lists(st.sampled_from(list(rules) + (["nope"] if chaos else [])), unique=True)
    )
    if outputs:
        doc["outputs"] = outputs
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=10_000)


@settings(FAST, max_examples=budget(150))
@given(models())
def test_generated_model_cli(text: str) -> None:
    with model_file(text) as path:
        code, err = run_cli("check", str(path))
        assert code in (0, 1), (code, err)
        code, err = run_cli("run", str(path))
        assert code in (0, 1, 3), (code, err)
        if code == 3:
            assert "error[E1001]" in err, err
        code, err = run_cli("run", "--format", "json", str(path))
        assert code in (0, 1, 3), (code, err)
        code, err = run_cli("graph", str(path))
        assert code in (0, 1), (code, err)


@settings(FAST, max_examples=budget(100))
@given(models())
def test_generated_model_api(text: str) -> None:
    with model_file(text) as path:
        run_api(path)


@settings(FAST, max_examples=budget(25))
@given(models(), st.sampled_from([*CHOICE_VALUES, "nope", ""]), st.sampled_from(["d0", "x"]))
def test_generated_model_cli_options(text: str, value: str, entry: str) -> None:
    """`--choose`, `--data` and `-o` with good and bad values are diagnosed, never crash."""
    with model_file(text) as path:
        (path.parent / "other.csv").write_text("gas,value\nCO2,1\n", encoding="utf-8")
        code, err = run_cli("run", "--choose", f"metric={value}", str(path))
        assert code in (0, 1, 2, 3), (code, err)
        code, err = run_cli("run", "--data", f"{entry}={path.parent / 'other.csv'}", str(path))
        assert code in (0, 1, 2, 3), (code, err)
        for fmt in ("csv", "json"):
            out = path.parent / f"out-{fmt}"
            code, err = run_cli("run", "-o", str(out), "--format", fmt, str(path))
            assert code in (0, 1, 3, 4), (code, err)


# -- multi-file models: import, extends, override, stdlib ----------------------------------------

METHOD = """\
carbon: 1
model: method
inputs:
  activity: {dims: [fuel], unit: TJ}
choices:
  tier: {one_of: [t1, t2], default: t1}
parameters:
  ef: {dims: [fuel], unit: t/TJ, values: {coal: 94.6, gas: 56.1}}
  uplift: 1.05
rules:
  emissions: "activity * match choice.tier { t1 => ef, t2 => ef * uplift }"
"""
BASE = """\
carbon: 1
model: base
dimensions:
  fuel: [coal, gas]
data:
  use: {dims: [fuel], unit: TJ, values: {coal: 10, gas: 20}}
import:
  m: {from: method.carbon, with: {activity: use}}
  gwp: stdlib:gwp
rules:
  total: "sum(m.emissions) in kt"
  by_fuel: "m.emissions[fuel=coal]"
  co2e: "sum(m.emissions) * gwp.factor[gas=CH4] in kt CO2e"
outputs: [total]
"""
DERIVED = """\
carbon: 1
model: derived
extends: base.carbon
override:
  total:
    expr: "super * 1.1"
    because: a 10% safety margin
assert:
  - "total > 0 kt"
  - expr: "total == sum(m.emissions) * 1.1 within 1e-9"
    message: the margin is applied once
outputs: [total, by_fuel, co2e]
"""


def seed_projects() -> dict[str, dict[str, str]]:
    """Working multi-file projects to mutate: the extends/import/override trio and Ruritania."""
    ruritania = REPO / "models" / "ruritania"
    files = {
        p.relative_to(ruritania).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(ruritania.rglob("*"))
        if p.is_file() and p.suffix in (".carbon", ".csv")
    }
    return {
        "derived": {"m.carbon": DERIVED, "base.carbon": BASE, "method.carbon": METHOD},
        "ruritania": {"m.carbon": files.pop("inventory.carbon"), **files},
    }


SEEDS = seed_projects()


@contextlib.contextmanager
def project(files: dict[str, str]) -> Iterator[Path]:
    """Write several files into a fresh folder; yields the path of ``m.carbon``."""
    with tempfile.TemporaryDirectory(prefix="carbonc-fuzz-") as d:
        for rel, text in files.items():
            path = Path(d) / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
        yield Path(d) / "m.carbon"


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seed_projects_run(name: str) -> None:
    with project(SEEDS[name]) as path:
        code, err = run_cli("run", str(path))
        assert code == 0, err


@st.composite
def mutated_projects(draw: st.DrawFn) -> dict[str, str]:
    files = dict(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 2))):
        name = draw(st.sampled_from(sorted(files)))
        files[name] = mutate(draw, files[name])
    return files


@settings(FAST, max_examples=budget(80))
@given(mutated_projects(), st.sampled_from(["check", "run", "graph"]))
def test_mutated_project(files: dict[str, str], verb: str) -> None:
    with project(files) as path:
        code, err = run_cli(verb, str(path))
        assert code in ((0, 1, 3) if verb == "run" else (0, 1)), (code, err)
        if verb == "run" and code != 1:
            run_cli("run", "--choose", "tier=t2", "--choose", "metric=AR6_GWP100", str(path))
        if verb == "check":
            run_api(path)


# -- CSV data ---------------------------------------------------------------------------------

CSV_CELLS = [
    "1",
    "2.5",
    "-0",
    "1e999",
    "nan",
    "NaN",
    "inf",
    "",
    " ",
    "abc",
    "1,000",
    "1_000",
    "5 t",
    '"7"',
    '"a,b"',
    '"',
    "0x10",
    "#",
    "\t3",
    "é",
    "9" * 400,
]


@st.composite
def csv_models(draw: st.DrawFn) -> tuple[str, str]:
    """A model reading one data entry (long or wide) and maybe a dimension from a CSV file."""
    labels = {"gas": ["CO2", "CH4"], "fuel": ["coal", "oil", "2020"]}
    dims = draw(st.permutations(["gas", "fuel"]))[: draw(st.integers(0, 2))]
    wide = draw(st.sampled_from([None, *dims]))
    garbage = st.one_of(
        st.sampled_from(CSV_CELLS),
        st.sampled_from([*labels["gas"], *labels["fuel"], "zzz", "CO2 "]),
        st.text(max_size=4),
    )
    number = st.one_of(st.integers(0, 1000).map(str), st.floats(0, 1e6).map(repr))

    def cell() -> str:
        return draw(garbage) if draw(st.integers(0, 9)) == 0 else draw(number)

    if draw(st.integers(0, 4)) == 0:
        csv = draw(st.text(max_size=200))  # anything at all
    else:
        row_dims = [d for d in dims if d != wide]
        header = [*row_dims, *(labels[wide] if wide else ["value"])]
        if draw(st.integers(0, 4)) == 0:
            header = draw(st.lists(st.one_of(st.sampled_from(header), garbage), max_size=5))
        keys = list(itertools.product(*(labels[d] for d in row_dims)))
        keys = draw(st.permutations(keys))
        if draw(st.integers(0, 3)) == 0:  # a missing or a repeated row
            keys = keys[1:] if draw(st.booleans()) else [*keys, keys[0]]
        rows = []
        for key in keys:
            fields = [*key, *(cell() for _ in range(len(header) - len(row_dims)))]
            if draw(st.integers(0, 9)) == 0:
                fields = [*fields[: draw(st.integers(0, len(fields)))], draw(garbage)]
            rows.append(",".join(fields))
        comments = draw(st.sampled_from(["", "# source: invented\n", "\n\n# a\n"]))
        bom = draw(st.sampled_from(["", "\ufeff"]))
        csv = bom + comments + ",".join(header) + "\n" + "\n".join(rows) + "\n"
    doc: dict[str, Any] = {"carbon": 1, "model": "csv", "dimensions": dict(labels)}
    entry: dict[str, Any] = {"csv": "data.csv", "dims": list(dims), "unit": "t"}
    if wide:
        entry["wide"] = wide
    if draw(st.booleans()):
        entry["fill"] = draw(st.sampled_from([0, 1.5, float("nan")]))
    if draw(st.integers(0, 4)) == 0:
        entry["columns"] = {draw(st.sampled_from(["gas", "fuel", "x"])): "Gas"}
    if draw(st.integers(0, 4)) == 0:
        entry["value"] = draw(st.sampled_from(["value", "amount", ""]))
    if draw(st.integers(0, 4)) == 0:
        doc["dimensions"]["gas"] = {
            "csv": "data.csv",
            "column": draw(st.sampled_from(["gas", "x"])),
        }
    doc["data"] = {"d": entry}
    doc["rules"] = {"total": "sum(d)", "scaled": "d * 2"}
    doc["outputs"] = ["total", "scaled"]
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), csv


@settings(FAST, max_examples=budget(100))
@given(csv_models())
def test_generated_csv_data(model: tuple[str, str]) -> None:
    text, csv = model
    with model_file(text) as path:
        (path.parent / "data.csv").write_text(csv, encoding="utf-8", errors="surrogatepass")
        code, err = run_cli("check", str(path))
        assert code in (0, 1), (code, err)
        code, err = run_cli("run", str(path))
        assert code in (0, 1, 3), (code, err)
        run_api(path)


def test_helpers_report_hangs() -> None:
    """The hang guard itself works, so a hanging example fails instead of blocking the suite."""
    assert carbonc.CarbonError is CarbonError
    with pytest.raises(AssertionError, match="hang"), time_limit(1, "sleep"):
        signal.pause()
