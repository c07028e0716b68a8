"""Property tests: no input makes ``check`` or ``run`` crash, hang or leak a traceback.

Formula strings, whole documents and generated models go through the parser, the CLI and the
Python API. A crash of the CLI (exit 70) fails the test with the traceback carbonc saved, so the
report names the bug directly.
"""

from __future__ import annotations

import contextlib
import io
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

import carbonc
from carbonc.compiler import load
from carbonc.compiler.cli import main
from carbonc.dsl import ast
from carbonc.dsl.diagnostics import CarbonError, Diagnostics
from carbonc.dsl.parser import parse_formula
from carbonc.dsl.span import Span

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

#: Wall-clock limit for one parse, check or run; longer counts as a hang.
HANG_SECONDS = 20


# -- helpers ----------------------------------------------------------------------------------


class _Hang(BaseException):
    """Raised by the alarm; a BaseException so carbonc's `except Exception` cannot swallow it."""


@contextlib.contextmanager
def time_limit(seconds: int, what: str) -> Iterator[None]:
    """Fail (instead of blocking the suite) when the body runs longer than ``seconds``."""

    def on_alarm(signum: int, frame: Any) -> None:
        raise _Hang

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    except _Hang:
        raise AssertionError(f"hang: {what} took more than {seconds} s") from None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


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
        event(f"carbonc {args[0]} exit {code}")
    except Exception as exc:  # main() must never raise; report it the same way
        raise AssertionError(
            f"carbonc {' '.join(args)} raised {type(exc).__name__}:\n{traceback.format_exc()}"
        ) from None
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


@st.composite
def mutated_models(draw: st.DrawFn) -> str:
    """The valid model with a few characters or lines inserted, deleted or replaced."""
    text = VALID_MODEL
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["insert", "delete", "replace", "line", "token"]))
        i = draw(st.integers(0, len(text)))
        if kind == "insert":
            text = text[:i] + draw(st.text(max_size=5)) + text[i:]
        elif kind == "delete":
            text = text[:i] + text[i + draw(st.integers(1, 20)) :]
        elif kind == "replace":
            text = (
                text[:i]
                + draw(st.sampled_from([*FORMULA_TOKENS, "-", ":", "[", "]"]))
                + text[i + 1 :]
            )
        elif kind == "token":
            old = draw(st.sampled_from([*NAMES, *UNITS, "coal", "CO2", "AR5", "100", "1e-9"]))
            new = draw(st.sampled_from([*NAMES, *UNITS, *NUMBERS, "", "nope", "[]", "{}", "~"]))
            text = text.replace(old, new, 1)
        else:
            lines = text.splitlines(keepends=True)
            j = draw(st.integers(0, len(lines) - 1))
            if draw(st.booleans()):
                del lines[j]
            else:
                lines.insert(j, lines[draw(st.integers(0, len(lines) - 1))])
            text = "".join(lines)
    return text


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
MODEL_UNITS = [
    "1",
    "t",
    "kg",
    "TJ",
    "t/TJ",
    "kg/TJ",
    "t CO2e",
    "kt CO2e",
    "t CO2e/t",
    "%",
    "GJ",
    "m^2",
]
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


def _ident(label: str | int) -> bool:
    return isinstance(label, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", label) is not None


@st.composite
def models(draw: st.DrawFn) -> str:
    """A generated model: mostly well-formed, with random formulas over the declared names."""
    odd = draw(st.integers(0, 9)) == 0  # one model in ten may use odd units and numbers
    units = st.sampled_from(MODEL_UNITS + (ODD_UNITS if odd else []))
    numbers = st.one_of(
        st.integers(-1000, 1000),
        st.floats(-1e6, 1e6, allow_nan=False),
        *([st.sampled_from(ODD_NUMBERS)] if odd else []),
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
        if shape == "list":
            return [values_for(ds[1:]) for _ in labels]
        return {lab: values_for(ds[1:]) for lab in labels}

    names: list[str] = []
    data: dict[str, Any] = {}
    for i in range(draw(st.integers(0, 3))):
        ds = draw(st.permutations(list(dims)))[: draw(st.integers(0, len(dims)))]
        data[f"d{i}"] = {"dims": ds, "unit": draw(units), "values": values_for(ds)}
        names.append(f"d{i}")
    if data:
        doc["data"] = data

    params: dict[str, Any] = {}
    for i in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["number", "formula", "spec"]))
        if kind == "number":
            params[f"p{i}"] = draw(numbers)
        elif kind == "formula":
            params[f"p{i}"] = f"{draw(numbers)} {draw(units)}"
        else:
            params[f"p{i}"] = {"value": draw(numbers), "unit": draw(units)}
        names.append(f"p{i}")
    if params:
        doc["parameters"] = params

    choice_values: list[str] = []
    if draw(st.booleans()):
        choice_values = draw(
            st.lists(
                st.sampled_from(["AR4", "AR5", "AR6", "low", "high"]),
                min_size=1,
                max_size=3,
                unique=True,
            )
        )
        default = draw(st.sampled_from(choice_values + (["nope"] if odd else [])))
        doc["choices"] = {"metric": {"one_of": choice_values, "default": default}}

    dim_list = list(dims)

    def expressions(pool: list[str]) -> st.SearchStrategy[str]:
        leaf_parts: list[st.SearchStrategy[str]] = [
            st.tuples(numbers.filter(lambda v: isinstance(v, (int, float))), units).map(
                lambda t: f"{t[0]!r} {t[1]}".replace("inf", "1e999").replace("nan", "0")
            ),
            st.integers(0, 100).map(str),
        ]
        if pool:
            leaf_parts.append(st.sampled_from(pool))
        if odd:
            leaf_parts.append(st.sampled_from(["nope", "super", "choice.metric", "d9"]))
        leaves = st.one_of(*leaf_parts)

        def extend(sub: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
            ops = st.sampled_from(["+", "-", "*", "/", "^", "==", "!=", "<", ">=", "and", "or"])
            parts: list[st.SearchStrategy[str]] = [
                st.tuples(sub, ops, sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
                sub.map(lambda s: f"-{s}"),
                sub.map(lambda s: f"not ({s})"),
                st.tuples(sub, st.sampled_from(MODEL_UNITS)).map(lambda t: f"({t[0]} in {t[1]})"),
                st.tuples(st.sampled_from(["abs", "sqrt", "exp", "log", "is_present"]), sub).map(
                    lambda t: f"{t[0]}({t[1]})"
                ),
                st.tuples(sub, sub, sub).map(lambda t: f"where({t[0]} > {t[1]}, {t[1]}, {t[2]})"),
                st.tuples(sub, sub).map(lambda t: f"min({t[0]}, {t[1]})"),
                st.tuples(st.sampled_from(["sum", "mean", "min", "max"]), sub).map(
                    lambda t: f"{t[0]}({t[1]})"
                ),
            ]
            if dim_list:
                dim = st.sampled_from(dim_list)
                reducers = st.sampled_from(["sum", "mean", "min", "max", "share", "cumsum"])
                parts.append(
                    st.tuples(reducers, sub, dim).map(lambda t: f"{t[0]}({t[1]}, over={t[2]})")
                )
                parts.append(
                    st.tuples(sub, st.lists(dim, min_size=1, max_size=3, unique=True)).map(
                        lambda t: f"sum({t[0]}, over=({', '.join(t[1])},))"
                    )
                )

                @st.composite
                def select(d2: st.DrawFn) -> str:
                    name = d2(dim)
                    label = d2(st.sampled_from([*dims[name], "zzz"]))
                    shown = label if _ident(label) or isinstance(label, int) else f'"{label}"'
                    return f"({d2(sub)})[{name}={shown}]"

                parts.append(select())

                @st.composite
                def stack(d2: st.DrawFn) -> str:
                    name = d2(dim)
                    labels = [lab for lab in dims[name] if _ident(lab)]
                    args = ", ".join(f"{lab}={d2(sub)}" for lab in labels)
                    return f"stack(over={name}{', ' if args else ''}{args})"

                parts.append(stack())
            if choice_values:
                values = st.lists(st.sampled_from(choice_values), min_size=1, unique=True)
                parts.append(
                    st.tuples(values, sub, sub, st.booleans()).map(
                        lambda t: (
                            "match choice.metric { "
                            + ", ".join(f"{v} => {t[1]}" for v in t[0])
                            + (f", _ => {t[2]}" if t[3] else "")
                            + " }"
                        )
                    )
                )
            return st.one_of(*parts)

        return st.recursive(leaves, extend, max_leaves=6)

    rules: dict[str, Any] = {}
    n_rules = draw(st.integers(1, 4))
    for i in range(n_rules):
        pool = names + [f"r{j}" for j in range(i)]
        if odd and draw(st.booleans()):
            pool.append(f"r{n_rules - 1}")  # may form a cycle
        expr = draw(expressions(pool))
        if draw(st.booleans()):
            rules[f"r{i}"] = expr
        else:
            spec: dict[str, Any] = {"expr": expr}
            if draw(st.booleans()):
                spec["unit"] = draw(units)
            if draw(st.booleans()):
                spec["dims"] = draw(st.lists(st.sampled_from(dim_list or ["gas"]), unique=True))
            rules[f"r{i}"] = spec
    doc["rules"] = rules
    pool = names + list(rules)

    asserts: list[Any] = []
    for _ in range(draw(st.integers(0, 2))):
        left, right = draw(expressions(pool)), draw(expressions(pool))
        form = draw(st.sampled_from(["cmp", "within", "spec"]))
        if form == "cmp":
            asserts.append(
                f"{left} {draw(st.sampled_from(['<', '<=', '>', '>=', '==', '!=']))} {right}"
            )
        elif form == "within":
            asserts.append(
                f"{left} == {right} within {draw(st.sampled_from(['1e-9', '0', '1 t', '10 %']))}"
            )
        else:
            asserts.append(
                {
                    "expr": f"{left} == {right}",
                    "within": draw(st.sampled_from([1e-9, 0, "1 t"])),
                    "message": "m",
                }
            )
    if asserts:
        doc["assert"] = asserts
    outputs = draw(st.lists(st.sampled_from(list(rules) + (["nope"] if odd else [])), unique=True))
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
@given(models(), st.sampled_from(["AR4", "AR5", "AR6", "nope", ""]), st.sampled_from(["d0", "x"]))
def test_generated_model_cli_options(text: str, value: str, entry: str) -> None:
    """`--choose` and `--data` with good and bad values are diagnosed, never crash."""
    with model_file(text) as path:
        (path.parent / "other.csv").write_text("gas,value\nCO2,1\n", encoding="utf-8")
        code, err = run_cli("run", "--choose", f"metric={value}", str(path))
        assert code in (0, 1, 2, 3), (code, err)
        code, err = run_cli("run", "--data", f"{entry}={path.parent / 'other.csv'}", str(path))
        assert code in (0, 1, 2, 3), (code, err)
        out = path.parent / "out"
        code, err = run_cli("run", "-o", str(out), str(path))
        assert code in (0, 1, 3, 4), (code, err)


def test_helpers_report_hangs() -> None:
    """The hang guard itself works, so a hanging example fails instead of blocking the suite."""
    assert carbonc.CarbonError is CarbonError
    with pytest.raises(AssertionError, match="hang"), time_limit(1, "sleep"):
        signal.pause()
