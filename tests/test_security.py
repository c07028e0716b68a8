"""Hostile model files are refused with a located, specific diagnostic, and execute nothing.

Covers YAML tags, anchors and aliases (billion laughs), paths that leave the model's folder
(data, dimensions, imports, extends, symlinks) and the `--allow-path` escape hatch, formula
strings that try to reach Python, oversized or over-deep documents, and a static scan of the
sources for eval/exec and unsafe YAML loading.
"""

from __future__ import annotations

import ast
import contextlib
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from carbonc.compiler import load
from carbonc.compiler.cli import main
from carbonc.dsl import yaml_loader
from carbonc.dsl.diagnostics import CarbonError, Diagnostic, Diagnostics
from carbonc.dsl.parser import parse_formula
from carbonc.dsl.span import Span
from tests.conftest import time_limit

REPO = Path(__file__).resolve().parents[1]
HEADER = "carbon: 1\nmodel: t\n"

# -- helpers ----------------------------------------------------------------------------------


def fails_fast(seconds: int = 10) -> contextlib.AbstractContextManager[None]:
    """Guard against a hang or a catastrophic expansion (not a benchmark)."""
    return time_limit(seconds, "the call (hang or catastrophic expansion)")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run carbonc in-process; returns (exit code, stderr + stdout). Exit 70 fails the test."""
    capsys.readouterr()
    with fails_fast(30):
        code = main(list(args))
    out = capsys.readouterr()
    if code == 70:
        crash = re.search(r"Details were saved to (.+?); please attach", out.err)
        details = ""
        if crash:
            with contextlib.suppress(OSError):
                details = Path(crash.group(1)).read_text(encoding="utf-8")
                Path(crash.group(1)).unlink()
        pytest.fail(f"carbonc crashed (exit 70, internal error) on {args}:\n{details}")
    assert "Traceback" not in out.err
    return code, out.err + out.out


def errors_of(path: Path, allow: tuple[Path, ...] = ()) -> tuple[Diagnostic, ...]:
    """The diagnostics of loading and running ``path`` through the Python API."""
    with pytest.raises(CarbonError) as info, fails_fast(30):
        load(path, allow=allow).run()
    return info.value.diagnostics


def only(diags: tuple[Diagnostic, ...], code: str) -> Diagnostic:
    """The first diagnostic with ``code`` (failing with all of them shown when there is none)."""
    found = [d for d in diags if d.code == code]
    assert found, f"no {code} among: " + "; ".join(f"{d.code} {d.message}" for d in diags)
    return found[0]


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the first occurrence of ``needle`` in ``path``."""
    for i, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in text:
            return i
    raise AssertionError(f"{needle!r} not in {path}")


def assert_located(d: Diagnostic, path: Path, needle: str) -> None:
    """``d`` points into ``path`` at the line (and column) where ``needle`` is written."""
    assert d.span is not None, d
    assert Path(d.span.file).resolve() == path.resolve(), d.span
    line = line_of(path, needle)
    assert d.span.line == line, (d.span, needle)
    col = path.read_text(encoding="utf-8").splitlines()[line - 1].index(needle) + 1
    assert d.span.col <= col + len(needle), (d.span, needle)


@pytest.fixture
def marker() -> Iterator[Path]:
    """A file in /tmp that a successful exploit would create."""
    path = Path("/tmp") / f"carbonc-pwned-{uuid.uuid4().hex}"
    yield path
    assert not path.exists(), f"{path} was created: the model executed code"


# -- YAML tags --------------------------------------------------------------------------------

TAGS = {
    "python-object-apply": (
        'rules:\n  x: !!python/object/apply:os.system ["touch {marker}"]\n',
        "python/object/apply:os.system",
    ),
    "python-object-new": (
        'rules:\n  x: !!python/object/new:subprocess.check_output [["touch", "{marker}"]]\n',
        "python/object/new:subprocess.check_output",
    ),
    "python-name": ("rules:\n  x: !!python/name:os.system\n", "python/name:os.system"),
    "python-module": ("description: !!python/module:os\n", "python/module:os"),
    "binary": ("description: !!binary aGVsbG8=\n", "binary"),
    "custom": ("description: !foo bar\n", "!foo"),
    "on-mapping": ("rules: !!python/object:os.system {x: '1 t'}\n", "python/object:os.system"),
    "on-sequence": ("outputs: !!python/tuple [x]\n", "python/tuple"),
    "core-schema": ("description: !!str 1\n", "str"),
}


@pytest.mark.parametrize("name", sorted(TAGS))
def test_yaml_tag_refused(
    name: str, tmp_path: Path, marker: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snippet, tag = TAGS[name]
    local_marker = tmp_path / "pwned"
    text = HEADER + snippet.replace("{marker}", str(marker))
    path = write(tmp_path / "m.carbon", text)
    d = only(errors_of(path), "E0002")
    assert tag in d.message and "not allowed" in d.message, d.message
    assert d.help and "remove the tag" in d.help
    assert_located(d, path, "!")
    for verb in ("check", "run"):
        code, err = cli(capsys, verb, str(path))
        assert code == 1
        assert "error[E0002]" in err and tag in err
        assert f"{path}:{line_of(path, '!')}:" in err
    assert not local_marker.exists()


def test_yaml_tag_directive_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path / "m.carbon",
        "%TAG !e! tag:example.com,2000:\n---\n" + HEADER + "description: !e!thing x\n",
    )
    d = only(errors_of(path), "E0002")
    assert "tag:example.com,2000:thing" in d.message
    assert_located(d, path, "!e!thing")


def test_non_specific_tag_is_plain_data(tmp_path: Path) -> None:
    """`!` only marks a plain string; it resolves nothing and stays allowed."""
    path = write(tmp_path / "m.carbon", HEADER + 'rules:\n  x: ! "1 t"\noutputs: [x]\n')
    assert load(path).run().outputs["x"].item() == 1.0


# -- anchors and aliases ----------------------------------------------------------------------


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """The classic: each level repeats the previous one ``width`` times (9^9 ≈ 4e8 strings)."""
    lines = [HEADER.rstrip("\n"), 'description: &a0 "lol"', "parameters:"]
    for i in range(1, levels + 1):
        refs = ", ".join([f"*a{i - 1}"] * width)
        lines.append(f"  p{i}: &a{i} [{refs}]")
    lines.append(f"outputs: [*a{levels}]")
    return "\n".join(lines) + "\n"


ANCHORS = {
    "anchor-and-alias": ("description: &d hello\nrules:\n  x: *d\n", "&d", "&d"),
    "alias-only": ("description: *nowhere\n", "*nowhere", "*nowhere"),
    "merge-key": (
        "choices:\n  base: &b {one_of: [a], default: a}\n  other:\n    <<: *b\n",
        "&b",
        "&b",
    ),
    "anchor-on-mapping": ("rules: &r\n  x: '1 t'\n", "&r", "&r"),
}


@pytest.mark.parametrize("name", sorted(ANCHORS))
def test_anchor_or_alias_refused(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snippet, shown, needle = ANCHORS[name]
    path = write(tmp_path / "m.carbon", HEADER + snippet)
    d = only(errors_of(path), "E0003")
    assert f"`{shown}`" in d.message and "not allowed" in d.message, d.message
    assert d.help and "import" in d.help
    assert_located(d, path, needle)
    code, err = cli(capsys, "check", str(path))
    assert code == 1 and "error[E0003]" in err


def test_billion_laughs_fails_fast(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "lol.carbon", billion_laughs())
    with fails_fast(10):
        d = only(errors_of(path), "E0003")
        code, err = cli(capsys, "run", str(path))
    assert "&a0" in d.message
    assert_located(d, path, "&a0")
    assert code == 1 and "error[E0003]" in err


def test_billion_laughs_without_anchor_first_fails_fast(tmp_path: Path) -> None:
    """Aliases before any anchor (the anchors live at the end) are refused at the first alias."""
    body = billion_laughs().replace('description: &a0 "lol"\n', "")
    path = write(tmp_path / "lol.carbon", body + 'cite: &a0 "lol"\n')
    with fails_fast(10):
        diags = errors_of(path)
    assert {d.code for d in diags} == {"E0003"}


@pytest.mark.parametrize("loader", ["libyaml", "pure-python"])
@pytest.mark.parametrize(
    "doc, code",
    [
        (HEADER + "x: !!python/object/apply:os.system ['true']\n", "E0002"),
        (HEADER + "x: !!binary aGVsbG8=\n", "E0002"),
        (billion_laughs(), "E0003"),
        (HEADER + "x: *a\n", "E0003"),
    ],
    ids=["apply", "binary", "billion-laughs", "alias"],
)
def test_loader_refuses_with_either_backend(
    loader: str, doc: str, code: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Safety does not depend on libyaml being installed."""
    if loader == "pure-python":
        monkeypatch.setattr(yaml_loader, "Loader", yaml.SafeLoader)
    elif not getattr(yaml, "__with_libyaml__", False):
        pytest.skip("PyYAML was built without libyaml")
    diags = Diagnostics()
    with fails_fast(10):
        root = yaml_loader.load_yaml(doc, "m.carbon", diags)
    assert root is None
    assert [d.code for d in diags] == [code]


# -- data paths -------------------------------------------------------------------------------

SECRET = "fuel,value\ncoal,424242\n"


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    """tmp/model/ holds the model; tmp/secret.csv and tmp/shared/ lie outside it."""
    write(tmp_path / "secret.csv", SECRET)
    write(tmp_path / "shared" / "fuel.csv", "fuel,value\ncoal,7\n")
    write(tmp_path / "model" / "data" / "fuel.csv", "fuel,value\ncoal,5\n")
    return tmp_path


def data_model(folder: Path, csv: str) -> Path:
    """A model reading data entry `fuel_use` from ``csv`` (written as a double-quoted YAML string)."""
    text = (
        HEADER
        + "dimensions:\n  fuel: [coal]\n"
        + "data:\n"
        + f'  fuel_use:\n    csv: "{csv}"\n    dims: [fuel]\n    unit: TJ\n'
        + 'rules:\n  total: "sum(fuel_use)"\n'
        + "outputs: [total]\n"
    )
    return write(folder / "model" / "m.carbon", text)


def test_data_inside_folder_is_read(layout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = data_model(layout, "data/fuel.csv")
    assert load(path).run().outputs["total"].item() == 5.0
    assert cli(capsys, "check", str(path))[0] == 0


OUTSIDE = {
    "parent": "../secret.csv",
    "hidden-parent": "data/../../secret.csv",
    "absolute-outside": "{root}/secret.csv",
    "etc-passwd": "/etc/passwd",
    "home": "~/.ssh/id_rsa",
}


@pytest.mark.parametrize("name", sorted(OUTSIDE))
def test_data_path_outside_folder_refused(
    name: str, layout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = OUTSIDE[name].replace("{root}", str(layout))
    path = data_model(layout, csv)
    if name == "home":  # `~` is not expanded: a folder named `~` inside the model folder
        d = only(errors_of(path), "E0801")
        assert f"`{csv}`" in d.message and "does not exist" in d.message
        return
    d = only(errors_of(path), "E0801")
    assert f"data path `{csv}` is outside the model's folder" in d.message, d.message
    assert d.help and "--allow-path" in d.help
    assert_located(d, path, csv)
    for verb in ("check", "run"):
        code, err = cli(capsys, verb, str(path))
        assert code == 1
        assert "error[E0801]" in err and csv in err
        assert "424242" not in err and "root:" not in err  # nothing of the file is shown


def test_data_symlink_to_outside_refused(layout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    link = layout / "model" / "data" / "link.csv"
    link.symlink_to(layout / "secret.csv")
    path = data_model(layout, "data/link.csv")
    d = only(errors_of(path), "E0801")
    assert "`data/link.csv`" in d.message and "outside the model's folder" in d.message
    assert_located(d, path, "data/link.csv")
    code, err = cli(capsys, "run", str(path))
    assert code == 1 and "error[E0801]" in err and "424242" not in err


def test_data_symlinked_folder_to_outside_refused(layout: Path) -> None:
    (layout / "model" / "ext").symlink_to(layout / "shared", target_is_directory=True)
    path = data_model(layout, "ext/fuel.csv")
    d = only(errors_of(path), "E0801")
    assert "`ext/fuel.csv`" in d.message and "outside the model's folder" in d.message


def test_data_symlink_inside_folder_allowed(layout: Path) -> None:
    (layout / "model" / "alias.csv").symlink_to(layout / "model" / "data" / "fuel.csv")
    assert load(data_model(layout, "alias.csv")).run().outputs["total"].item() == 5.0


@pytest.mark.parametrize("csv", ["a\\0b.csv", ""], ids=["nul-byte", "empty"])
def test_data_path_malformed_refused(csv: str, layout: Path) -> None:
    path = data_model(layout, csv)
    d = only(errors_of(path), "E0801")
    assert "invalid data path" in d.message or "empty" in d.message, d.message


def test_dimension_csv_outside_folder_refused(
    layout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        layout / "model" / "m.carbon",
        HEADER + "dimensions:\n  fuel: {csv: ../secret.csv, column: fuel}\n",
    )
    with pytest.raises(CarbonError) as info:
        load(path)
    d = only(info.value.diagnostics, "E0801")
    assert "dimension path `../secret.csv` is outside the model's folder" in d.message
    assert_located(d, path, "../secret.csv")
    code, err = cli(capsys, "check", str(path))
    assert code == 1 and "error[E0801]" in err and "coal" not in err


def test_allow_path_permits_a_folder_outside(
    layout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = layout / "shared"
    path = data_model(layout, "../shared/fuel.csv")
    only(errors_of(path), "E0801")  # refused by default
    assert cli(capsys, "check", str(path))[0] == 1
    code, out = cli(capsys, "run", "--allow-path", str(shared), str(path))
    assert code == 0, out
    assert "7" in out
    assert load(path, allow=[shared]).run().outputs["total"].item() == 7.0
    assert load(str(path), allow=[str(shared)]).run().outputs["total"].item() == 7.0


def test_allow_path_is_not_wider_than_asked(layout: Path) -> None:
    """Allowing tmp/shared does not allow its parent (and so not tmp/secret.csv)."""
    path = data_model(layout, "../secret.csv")
    d = only(errors_of(path, allow=(layout / "shared",)), "E0801")
    assert "outside the model's folder" in d.message
    sibling = layout / "shared-evil"
    write(sibling / "fuel.csv", "fuel,value\ncoal,1\n")
    path = data_model(layout, "../shared-evil/fuel.csv")
    only(errors_of(path, allow=(layout / "shared",)), "E0801")


@pytest.mark.parametrize("kind", ["data", "import"])
def test_special_file_refused_not_hanging(kind: str, tmp_path: Path) -> None:
    """A FIFO inside the model folder would block a reader forever: it is not a data file."""
    fifo = tmp_path / "model" / "data" / ("f.csv" if kind == "data" else "f.carbon")
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    if kind == "data":
        path = data_model(tmp_path, "data/f.csv")
    else:
        path = write(tmp_path / "model" / "m.carbon", HEADER + "import: {x: data/f.carbon}\n")
    with fails_fast(5), pytest.raises(CarbonError) as info:
        load(path).run()
    (d,) = [x for x in info.value.diagnostics if x.code.startswith(("E07", "E08"))]
    assert "data/f." in d.message, d.message


# -- imports and extends ----------------------------------------------------------------------

OTHER = HEADER.replace("model: t", "model: other") + 'rules:\n  k: "2 t"\n'


@pytest.mark.parametrize(
    "snippet, needle, what",
    [
        ("import: {x: ../other.carbon}\n", "../other.carbon", "imported model"),
        ("import:\n  x: {from: ../other.carbon}\n", "../other.carbon", "imported model"),
        ("import: {x: /etc/passwd}\n", "/etc/passwd", "imported model"),
        ("import: {x: '{root}/other.carbon'}\n", "/other.carbon", "imported model"),
        ("extends: /etc/passwd\n", "/etc/passwd", "extended model"),
        ("extends: ../other.carbon\n", "../other.carbon", "extended model"),
        ("extends: sub/../../other.carbon\n", "sub/../../other.carbon", "extended model"),
    ],
)
def test_import_or_extends_outside_folder_refused(
    snippet: str, needle: str, what: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "other.carbon", OTHER)
    (tmp_path / "model" / "sub").mkdir(parents=True)
    path = write(tmp_path / "model" / "m.carbon", HEADER + snippet.replace("{root}", str(tmp_path)))
    with pytest.raises(CarbonError) as info:
        load(path)
    d = only(info.value.diagnostics, "E0701")
    assert what in d.message and "outside the model's folder" in d.message, d.message
    assert needle in d.message
    assert d.help and "--allow-path" in d.help
    assert_located(d, path, needle)
    assert all(x.span is None or "passwd" not in x.span.file for x in info.value.diagnostics)
    code, err = cli(capsys, "check", str(path))
    assert code == 1 and "error[E0701]" in err and "root:" not in err


@pytest.mark.parametrize("target", ["base.carbon", "lib/other.carbon"])
def test_import_symlink_to_outside_refused(target: str, tmp_path: Path) -> None:
    write(tmp_path / "other.carbon", OTHER)
    link = tmp_path / "model" / target
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(tmp_path / "other.carbon")
    path = write(tmp_path / "model" / "m.carbon", HEADER + f"import: {{x: {target}}}\n")
    with pytest.raises(CarbonError) as info:
        load(path)
    d = only(info.value.diagnostics, "E0701")
    assert f"`{target}`" in d.message and "outside the model's folder" in d.message


@pytest.mark.parametrize(
    "ref", ["stdlib:../../../../etc/passwd", "stdlib:/etc/passwd", "stdlib:gwp/../../x", "stdlib:"]
)
def test_stdlib_reference_cannot_escape(ref: str, tmp_path: Path) -> None:
    path = write(tmp_path / "m.carbon", HEADER + f"import: {{x: '{ref}'}}\n")
    with pytest.raises(CarbonError) as info:
        load(path)
    d = only(info.value.diagnostics, "E0701")
    assert "not a valid stdlib name" in d.message, d.message
    assert d.help and "stdlib:gwp" in d.help


def test_allow_path_permits_import_outside(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = tmp_path / "shared"
    write(shared / "other.carbon", OTHER)
    path = write(
        tmp_path / "model" / "m.carbon",
        HEADER + 'import: {o: ../shared/other.carbon}\nrules:\n  x: "o.k * 2"\noutputs: [x]\n',
    )
    with pytest.raises(CarbonError) as info:
        load(path)
    only(info.value.diagnostics, "E0701")
    assert load(path, allow=[shared]).run().outputs["x"].item() == 4.0
    code, out = cli(capsys, "run", "--allow-path", str(shared), str(path))
    assert code == 0, out


# -- names that become file names ------------------------------------------------------------


@pytest.mark.parametrize("alias", ["{outside}/pwned", "sub/pwned", "../pwned"])
def test_names_cannot_steer_output_files(
    alias: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`run -o DIR` writes one file per output, named after it: a name must not be a path."""
    outside = tmp_path / "outside"
    outside.mkdir()
    alias = alias.replace("{outside}", str(outside))
    write(tmp_path / "model" / "method.carbon", "carbon: 1\nmodel: method\nrules:\n  k: '1 t'\n")
    path = write(
        tmp_path / "model" / "m.carbon",
        HEADER + f'import:\n  "{alias}": method.carbon\noutputs: ["{alias}.k"]\n',
    )
    out = tmp_path / "out"
    code, err = cli(capsys, "run", "-o", str(out), str(path))
    stray = [
        p
        for p in tmp_path.rglob("*")
        if p.is_file() and out not in p.parents and p.suffix != ".carbon"
    ]
    assert not stray, f"files written outside the output folder: {stray}"
    assert code == 1, err
    assert re.search(r"error\[E\d{4}\]", err), err
    assert cli(capsys, "check", str(path))[0] == 1


# -- formulas that try to reach Python --------------------------------------------------------

#: formula -> (code, the text the diagnostic points at and names)
PYTHONISH = {
    "x.__class__": ("E0202", "__"),
    "x.__class__.__mro__[1].__subclasses__()": ("E0202", "__"),
    "__import__('os')": ("E0202", "__"),
    "import os": ("E0202", "import"),
    "x + import": ("E0202", "import"),
    "lambda: 1": ("E0202", "lambda"),
    'eval("1")': ("E0202", "eval"),
    'exec ("import os")': ("E0202", "exec"),
    'open("/etc/passwd")': ("E0202", "open"),
    'getattr(x, "y")': ("E0202", "getattr"),
    "compile(x)": ("E0303", "compile"),
    "print(x)": ("E0303", "print"),
    "input(x)": ("E0303", "input"),
    "os.system(x)": ("E0201", "("),
    "x; y": ("E0201", ";"),
    "`x`": ("E0201", "`"),
    "{x: 1}": ("E0201", "{"),
    "x if x else x": ("E0201", "if"),
}
PYTHON_HELP = re.compile(r"never run Python|not part of the formula language|Python syntax")


@pytest.mark.parametrize("formula", [f for f, (c, _) in PYTHONISH.items() if c != "E0303"])
def test_parse_formula_refuses_python(formula: str) -> None:
    """(Calls of unknown functions such as `compile(x)` parse; the checker refuses them.)"""
    code, token = PYTHONISH[formula]
    diags = Diagnostics()
    spans: list[tuple[int, int]] = []

    def span_of(start: int, end: int) -> Span:
        spans.append((start, end))
        return Span("f", 1, start + 1, 1, end + 1)

    assert parse_formula(formula, span_of, diags) is None
    (d,) = list(diags)
    assert d.code == code, d
    assert formula[spans[0][0] :].startswith(token), (spans, token)


@pytest.mark.parametrize("where", ["rule", "assert", "parameter", "import-with"])
@pytest.mark.parametrize("formula", list(PYTHONISH))
def test_python_in_formula_refused(
    formula: str, where: str, tmp_path: Path, marker: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, token = PYTHONISH[formula]
    quoted = formula.replace("'", "''")
    if where == "rule":
        body = f"rules:\n  x: '1 t'\n  y: '{quoted}'\noutputs: [x]\n"
    elif where == "assert":
        body = f"rules:\n  x: '1 t'\nassert:\n  - '{quoted}'\noutputs: [x]\n"
    elif where == "parameter":
        body = f"parameters:\n  x: '1 t'\n  y: {{value: '{quoted}'}}\n"
    else:
        write(tmp_path / "method.carbon", "carbon: 1\nmodel: method\ninputs:\n  v: {unit: t}\n")
        body = (
            f"rules:\n  x: '1 t'\nimport:\n  m: {{from: method.carbon, with: {{v: '{quoted}'}}}}\n"
        )
    path = write(tmp_path / "m.carbon", HEADER + body)
    with pytest.raises(CarbonError) as info, fails_fast(10):
        load(path)
    d = only(info.value.diagnostics, code)
    assert_located(d, path, quoted)
    line = path.read_text(encoding="utf-8").splitlines()[d.span.line - 1]
    assert line[d.span.col - 1 :].startswith(token.replace("'", "''")), (d.span, line)
    if code in ("E0202", "E0303"):
        assert token in d.message
        assert d.help and PYTHON_HELP.search(d.help), d.help
    code_cli, err = cli(capsys, "check", str(path))
    assert code_cli == 1 and f"error[{code}]" in err


def test_formula_cannot_run_a_shell(tmp_path: Path, marker: Path) -> None:
    for formula in (
        f"os.system('touch {marker}')",
        f"__import__('os').system('touch {marker}')",
        f"open('{marker}', 'w')",
        f"x[a='{marker}']",
    ):
        path = write(tmp_path / "m.carbon", HEADER + f'rules:\n  x: "{formula}"\noutputs: [x]\n')
        with pytest.raises(CarbonError):
            load(path).run()


# -- size and depth ---------------------------------------------------------------------------


def test_too_large_document_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "big.carbon"
    path.write_text(HEADER + "description: " + "x" * yaml_loader.MAX_BYTES + "\n", "utf-8")
    with fails_fast(10), pytest.raises(CarbonError) as info:
        load(path)
    d = only(info.value.diagnostics, "E0004")
    assert "too large" in d.message and str(yaml_loader.MAX_BYTES) in d.message
    assert d.help and "import" in d.help
    code, err = cli(capsys, "check", str(path))
    assert code == 1 and "error[E0004]" in err


# Block-style nesting needs depth² bytes of indentation, so only flow style goes very deep.
@pytest.mark.parametrize(
    ("depth", "style"),
    [
        (65, "flow"),
        (200, "flow"),
        (10_000, "flow"),
        (100_000, "flow"),
        (65, "block"),
        (200, "block"),
    ],
)
def test_too_deep_document_refused(depth: int, style: str, tmp_path: Path) -> None:
    if style == "flow":
        nested = "[" * depth + "]" * depth
    else:
        nested = (
            "\n"
            + "".join(f"{'  ' * (i + 1)}k{i}:\n" for i in range(depth))
            + f"{'  ' * (depth + 1)}x"
        )
    path = write(tmp_path / "deep.carbon", HEADER + "description: " + nested + "\n")
    with fails_fast(10), pytest.raises(CarbonError) as info:
        load(path)
    d = only(info.value.diagnostics, "E0004")
    assert "nested" in d.message and "deep" in d.message, d.message
    assert d.span is not None and d.span.line >= 3


def test_too_many_nodes_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The node budget stops a document early (checked with a small budget to stay fast)."""
    monkeypatch.setattr(yaml_loader, "MAX_NODES", 1000)
    path = write(tmp_path / "wide.carbon", HEADER + "description: [" + "0, " * 5000 + "0]\n")
    with fails_fast(10), pytest.raises(CarbonError) as info:
        load(path)
    d = only(info.value.diagnostics, "E0004")
    assert "more than 1000 nodes" in d.message


def test_several_documents_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "m.carbon", HEADER + "---\n" + HEADER)
    with pytest.raises(CarbonError) as info:
        load(path)
    d = only(info.value.diagnostics, "E0004")
    assert "exactly one YAML document" in d.message
    assert d.span is not None and d.span.line == 3


@pytest.mark.parametrize(
    "formula",
    [
        " + ".join(["1 t"] * 5000),
        "-" * 5000 + "1",
        "x" + "[gas=CO2]" * 5000,
        "not " * 5000 + "x",
        "(" * 5000 + "1" + ")" * 5000,
    ],
    ids=["long-sum", "many-minus", "many-selects", "many-nots", "deep-parens"],
)
def test_huge_formula_is_diagnosed_not_crashed(
    formula: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A formula whose tree is very deep gives a diagnostic or a result, never a crash."""
    path = write(
        tmp_path / "m.carbon",
        HEADER + "dimensions:\n  gas: [CO2]\n" + f'rules:\n  x: "1 t"\n  y: "{formula}"\n',
    )
    code, err = cli(capsys, "check", str(path))
    assert code in (0, 1), err
    if code == 1:
        assert re.search(r"error\[E\d{4}\]", err), err


@pytest.mark.parametrize("where", ["data", "rule"])
def test_huge_array_is_diagnosed_not_crashed(
    where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Four dims of 1000 labels make 10^12 cells (7 TiB): refuse it, do not crash or thrash."""
    labels = "[" + ", ".join(f"l{i}" for i in range(1000)) + "]"
    dims = "".join(f"  {d}: {labels}\n" for d in "abcd")
    if where == "data":
        body = "data:\n  x: {dims: [a, b, c, d], unit: t, values: 1}\nrules:\n  y: 'sum(x)'\n"
    else:  # two 10^6-cell arrays (8 MB each) whose product is the 10^12-cell one
        body = "data:\n  x: {dims: [a, b], unit: t, values: 1}\n  z: {dims: [c, d], unit: '1', values: 2}\n"
        body += "rules:\n  y: 'sum(x * z + x)'\n"  # the sum is of a huge broadcast
    path = write(tmp_path / "m.carbon", HEADER + "dimensions:\n" + dims + body + "outputs: [y]\n")
    code, err = cli(capsys, "run", str(path))
    assert code == 1, err
    assert re.search(r"error\[E\d{4}\]", err), err


@pytest.mark.parametrize(
    "text",
    [
        HEADER + "description: " + "1" * 5000 + "\n",
        HEADER + "parameters:\n  p: " + "9" * 400 + "\n",
        HEADER + "dimensions: {g: [a]}\ndata:\n  d: {dims: [g], values: {a: 1" + "0" * 400 + "}}\n",
    ],
    ids=["5000-digit-int", "400-digit-parameter", "400-digit-value"],
)
def test_huge_integer_is_diagnosed_not_crashed(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "m.carbon", text)
    for verb in ("check", "run"):
        code, err = cli(capsys, verb, str(path))
        assert code in (0, 1), err


# -- static scan of the sources ---------------------------------------------------------------

SOURCE_DIRS = ["dsl", "compiler", "runtime", "stdlib", "carbonc"]
BANNED_CALLS = {"eval", "exec", "compile", "__import__", "execfile", "input", "breakpoint"}
BANNED_YAML = {
    "load",
    "load_all",
    "unsafe_load",
    "unsafe_load_all",
    "full_load",
    "full_load_all",
    "Loader",
    "UnsafeLoader",
    "FullLoader",
    "CLoader",
    "CUnsafeLoader",
    "CFullLoader",
    "add_constructor",
    "add_multi_constructor",
}
BANNED_MODULES = {"pickle", "marshal", "shelve", "subprocess", "dill", "cloudpickle", "code"}


def source_files() -> list[Path]:
    files = [p for d in SOURCE_DIRS for p in sorted((REPO / d).rglob("*.py"))]
    assert len(files) > 10, files
    return files


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


def test_sources_never_eval_exec_or_load_yaml_unsafely() -> None:
    problems: list[str] = []
    for path in source_files():
        rel = path.relative_to(REPO)
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        yaml_names = {"yaml"}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in BANNED_MODULES:
                        problems.append(f"{rel}:{node.lineno}: import {alias.name}")
                    if alias.name == "yaml":
                        yaml_names.add(alias.asname or "yaml")
            elif isinstance(node, ast.ImportFrom):
                mod = (node.module or "").split(".")[0] if node.level == 0 else ""
                if mod in BANNED_MODULES:
                    problems.append(f"{rel}:{node.lineno}: from {node.module} import …")
                if mod == "yaml":
                    bad = [a.name for a in node.names if a.name in BANNED_YAML]
                    if bad:
                        problems.append(f"{rel}:{node.lineno}: from yaml import {bad}")
            elif isinstance(node, ast.Call):
                name = _dotted(node.func)
                if name in BANNED_CALLS or name in {"builtins.eval", "builtins.exec"}:
                    problems.append(f"{rel}:{node.lineno}: call of {name}()")
                if name in {
                    "os.system",
                    "os.popen",
                    "os.execv",
                    "os.spawnl",
                    "pd.eval",
                    "pandas.eval",
                }:
                    problems.append(f"{rel}:{node.lineno}: call of {name}()")
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in yaml_names
                and node.attr in BANNED_YAML
            ):
                problems.append(f"{rel}:{node.lineno}: yaml.{node.attr}")
    assert not problems, "\n".join(problems)


def test_sources_grep_for_eval_exec_yaml_load() -> None:
    """The same rule as a plain text search, so it also catches code the AST scan misses."""
    pattern = re.compile(
        r"(?<![\w.])(?:eval|exec)\s*\(|\byaml\.(?:unsafe_|full_)?load(?:_all)?\s*\("
        r"|\bLoader\s*=\s*yaml\.(?:Unsafe|Full)?Loader\b"
    )
    hits = []
    for path in source_files():
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.match(r"\s*def\s", code):
                continue
            if pattern.search(code):
                hits.append(f"{path.relative_to(REPO)}:{i}: {line.strip()}")
    assert not hits, "\n".join(hits)


def test_yaml_loader_uses_a_safe_loader() -> None:
    assert yaml_loader.Loader in (yaml.SafeLoader, getattr(yaml, "CSafeLoader", None))
