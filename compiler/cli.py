"""The ``carbonc`` command: a thin layer over :mod:`carbonc.compiler.api`.

Exit codes:
    0   success (``check``: the model is clean).
    1   the model or its data has errors; diagnostics are on stderr.
    2   the command line is wrong (unknown option, malformed ``--choose``).
    3   the run finished but an assertion failed; nothing is written.
    4   the outputs could not be written.
    70  an internal error (a bug in carbonc); details are saved to a file, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TextIO

import carbonc
from carbonc.dsl.diagnostics import (
    CarbonError,
    Diagnostic,
    Diagnostics,
    render_all,
    render_json,
    sorted_diagnostics,
)

if TYPE_CHECKING:
    from carbonc.compiler.api import Sensitivity, Uncertainty

EXIT_OK, EXIT_ERRORS, EXIT_USAGE, EXIT_ASSERT, EXIT_WRITE, EXIT_INTERNAL = 0, 1, 2, 3, 4, 70

EPILOG = """exit codes:
  0   success
  1   errors in the model or its data (diagnostics on stderr)
  2   wrong command line
  3   an assertion failed (nothing written)
  4   outputs could not be written
  70  internal error (a bug: please report it with the file named in the message)
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"carbonc: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _pairs(values: Sequence[str] | None, flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            print(f"carbonc: error: {flag} expects NAME=VALUE, got `{item}`", file=sys.stderr)
            raise SystemExit(EXIT_USAGE)
        out[key.strip()] = value.strip()
    return out


def _positive(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got `{text}`") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got `{text}`")
    return value


_SIZES = {"": 1, "b": 1, "k": 1 << 10, "kb": 1000, "kib": 1 << 10, "m": 1 << 20, "mb": 10**6}
_SIZES.update({"mib": 1 << 20, "g": 1 << 30, "gb": 10**9, "gib": 1 << 30})


def _bytes(text: str) -> int:
    """A size such as ``512MiB``, ``2GB`` or ``1000000``."""
    number = text.strip().rstrip("BbIiKkMmGg")
    unit = text.strip()[len(number) :].lower()
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if unit not in _SIZES or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a size such as 512MiB or 2GiB, got `{text}`")
    return int(value * _SIZES[unit])


def _seed_and_budget(group: argparse._ActionsContainer) -> None:
    group.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random seed (default 0); the same seed gives identical results",
    )
    group.add_argument(
        "--memory-budget",
        type=_bytes,
        default=1 << 30,
        metavar="SIZE",
        help="memory one chunk of samples may use, e.g. 512MiB (default 1GiB)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one sub-command per verb."""
    p = _Parser(
        prog="carbonc",
        description="Compile and run .carbon carbon-accounting models.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"carbonc {carbonc.__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def model_cmd(name: str, help_: str) -> argparse.ArgumentParser:
        c = sub.add_parser(
            name,
            help=help_,
            description=help_,
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        c.add_argument("model", help="the .carbon model file")
        c.add_argument(
            "--allow-path",
            action="append",
            default=[],
            metavar="DIR",
            help="let the model read files below DIR as well as its own folder",
        )
        c.add_argument("--json", action="store_true", help="print diagnostics (and graphs) as JSON")
        return c

    check = model_cmd("check", "check a model and its data; silent when clean")
    check.add_argument(
        "--choose",
        action="append",
        metavar="NAME=VALUE",
        help="check the data assertions under this choice (default: the declared defaults)",
    )
    check.add_argument(
        "--data",
        action="append",
        metavar="NAME=PATH",
        help="check entry NAME read from another file of the same shape",
    )
    run = model_cmd("run", "run a model and report or write its outputs")
    run.add_argument(
        "--choose", action="append", metavar="NAME=VALUE", help="set a choice for this run"
    )
    run.add_argument(
        "--data",
        action="append",
        metavar="NAME=PATH",
        help="read data entry NAME from another file of the same shape",
    )
    run.add_argument(
        "-o", "--output", metavar="DIR", help="write outputs and provenance.json to DIR"
    )
    run.add_argument(
        "--format", choices=["csv", "json"], default="csv", help="output format (default csv)"
    )
    uncertainty = run.add_argument_group("uncertainty")
    uncertainty.add_argument(
        "--samples",
        type=_positive,
        metavar="N",
        help="Monte Carlo (IPCC Approach 2): report each output's mean, sd, median and 95%% interval",
    )
    uncertainty.add_argument(
        "--uncertainty",
        choices=["montecarlo", "propagation"],
        help="propagation: IPCC Approach 1 error propagation (no sampling); "
        "montecarlo is implied by --samples",
    )
    _seed_and_budget(uncertainty)
    uncertainty.add_argument(
        "--save-samples",
        action="store_true",
        help="with -o: also write every output's samples to DIR/samples/NAME.parquet",
    )
    sens = model_cmd("sensitivity", "rank the uncertain inputs by their effect on one output")
    sens.add_argument("--output", required=True, metavar="NAME", help="a scalar output or rule")
    sens.add_argument(
        "--method",
        choices=["rank", "sobol"],
        default="rank",
        help="rank: Spearman rank correlation (default, cheap); sobol: Sobol first-order and "
        "total indices (SALib)",
    )
    sens.add_argument(
        "--samples",
        type=_positive,
        metavar="N",
        help="rank: samples (default 10000); sobol: base sample, a power of 2 (default 4096)",
    )
    sens.add_argument(
        "--top", type=_positive, default=15, metavar="K", help="show the K largest (default 15)"
    )
    sens.add_argument(
        "--choose", action="append", metavar="NAME=VALUE", help="set a choice for this run"
    )
    sens.add_argument(
        "--data", action="append", metavar="NAME=PATH", help="read data entry NAME from a file"
    )
    _seed_and_budget(sens)
    tr = model_cmd("trace", "show where an LCA footprint comes from: its supply-chain tree")
    tr.add_argument(
        "--lca", required=True, metavar="ALIAS", help="the imported stdlib:lca/footprint"
    )
    tr.add_argument("--unit", metavar="NAME", help="the functional unit (default: the first)")
    tr.add_argument(
        "--cutoff",
        type=float,
        default=0.01,
        help="do not expand branches below this share of the footprint (default 0.01)",
    )
    tr.add_argument("--depth", type=_positive, default=8, help="deepest level shown (default 8)")
    tr.add_argument(
        "--choose", action="append", metavar="NAME=VALUE", help="set a choice for this run"
    )
    tr.add_argument(
        "--data", action="append", metavar="NAME=PATH", help="read data entry NAME from a file"
    )
    model_cmd("graph", "print the computation graph (DOT, or JSON with --json)")
    sub.add_parser("schema", help="print the JSON Schema of .carbon files")
    imp = sub.add_parser(
        "import",
        help="turn another tool's data into a .carbon model with tidy CSVs",
        description="turn another tool's data into a .carbon model with tidy CSVs",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    imp.add_argument("format", choices=["openlca"], help="openlca: a JSON-LD zip (olca-schema 2)")
    imp.add_argument("source", help="the file to import")
    imp.add_argument("-o", "--output", required=True, metavar="DIR", help="a new folder to write")
    imp.add_argument(
        "--allocation",
        choices=["PHYSICAL", "ECONOMIC"],
        default="PHYSICAL",
        help="which of openLCA's allocation factors become explicit_factors (default PHYSICAL)",
    )
    imp.add_argument("--json", action="store_true", help="print diagnostics as JSON")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``carbonc`` command; returns the exit code."""
    try:
        code = _main(argv)
    except SystemExit as exc:
        code = int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        print("carbonc: interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:  # `carbonc run … | head`: the reader has all it wants
        _quiet_stdout()
        code = EXIT_OK
    except Exception:
        code = _internal_error()
    if argv is None:
        sys.exit(code)
    return code


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so flushing at exit does not raise again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _internal_error() -> int:
    with tempfile.NamedTemporaryFile(
        "w", prefix="carbonc-crash-", suffix=".txt", delete=False
    ) as f:
        f.write(f"carbonc {carbonc.__version__}\n{' '.join(sys.argv)}\n\n{traceback.format_exc()}")
        name = f.name
    print(
        f"carbonc: internal error (this is a bug in carbonc, not in your model).\n"
        f"Details were saved to {name}; please attach that file to a bug report.",
        file=sys.stderr,
    )
    return EXIT_INTERNAL


def _report(diags: Sequence[Diagnostic], as_json: bool, stream: TextIO) -> None:
    items = sorted_diagnostics(diags)
    print(render_json(items) if as_json else render_all(items), file=stream)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command == "schema":
        from carbonc.dsl.schema import json_schema

        print(json_schema())
        return EXIT_OK
    if args.command == "import":
        return _import(args)
    from carbonc.compiler.api import AssertionFailed, compile_model

    diags = Diagnostics()
    model = compile_model(Path(args.model), diags, [Path(p) for p in args.allow_path])
    if model is None:
        _report(diags.items, args.json, sys.stderr)
        return EXIT_ERRORS
    try:
        if args.command == "check":
            try:
                model.check_data(_pairs(args.data, "--data"), _pairs(args.choose, "--choose"))
            except AssertionFailed as exc:  # for `check`, a false data assertion is an error
                raise CarbonError(exc.diagnostics) from None
            if model.warnings:
                _report(model.warnings, args.json, sys.stderr)
            return EXIT_OK
        if args.command == "graph":
            from carbonc.compiler.graph import graph_dot, graph_json

            print(graph_json(model) if args.json else graph_dot(model))
            return EXIT_OK
        choose = _pairs(args.choose, "--choose")
        data = _pairs(args.data, "--data")
        if args.command == "trace":
            from carbonc.runtime.trace import render_tree

            unit, nodes = model.trace(args.lca, args.unit, args.cutoff, args.depth, choose, data)
            print(f"supply chain of functional unit `{unit}`:")
            print(render_tree(nodes, "kg CO2e"))
            return EXIT_OK
        if args.command == "sensitivity":
            report = model.sensitivity(
                args.output,
                args.method,
                args.samples,
                args.seed,
                choose,
                data,
                args.memory_budget,
            )
            print(_sensitivity_json(report) if args.json else _sensitivity_table(report, args.top))
            return EXIT_OK
        results = model.run(choose=choose, data=data, uncertainty=_uncertainty(args))
    except AssertionFailed as exc:
        _report(exc.diagnostics, args.json, sys.stderr)
        return EXIT_ASSERT
    except CarbonError as exc:
        _report(exc.diagnostics, args.json, sys.stderr)
        return EXIT_ERRORS
    if args.output:
        from carbonc.runtime.writer import write_results

        try:
            files = write_results(results, Path(args.output), args.format, args.save_samples)
        except OSError as exc:
            print(f"carbonc: error: cannot write outputs: {exc}", file=sys.stderr)
            return EXIT_WRITE
        print(f"wrote {len(files)} files to {Path(args.output)}", file=sys.stderr)
        return EXIT_OK
    if args.format == "json":
        from carbonc.runtime.writer import result_json

        doc = {name: result_json(r) for name, r in results.outputs.items()}
        print(
            json.dumps(
                {"outputs": doc, "provenance": results.provenance, "asserts": results.asserts},
                indent=2,
            )
        )
    else:
        from carbonc.runtime.table import render_results

        print(render_results(results))
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    from carbonc.runtime.openlca import import_openlca

    try:
        files = import_openlca(Path(args.source), Path(args.output), args.allocation)
    except CarbonError as exc:
        _report(exc.diagnostics, args.json, sys.stderr)
        return EXIT_ERRORS
    except OSError as exc:
        print(f"carbonc: error: cannot write `{args.output}`: {exc}", file=sys.stderr)
        return EXIT_WRITE
    model = next(f for f in files if f.suffix == ".carbon")
    print(f"wrote {len(files)} files to {args.output}; run: carbonc run {model}", file=sys.stderr)
    return EXIT_OK


def _uncertainty(args: argparse.Namespace) -> Uncertainty | None:
    from carbonc.compiler.api import Uncertainty

    if args.uncertainty is None and args.samples is None:
        if args.save_samples:
            print("carbonc: error: --save-samples needs --samples N", file=sys.stderr)
            raise SystemExit(EXIT_USAGE)
        return None
    method: Literal["montecarlo", "propagation"] = (
        "propagation" if args.uncertainty == "propagation" else "montecarlo"
    )
    if method == "propagation" and (args.samples is not None or args.save_samples):
        print(
            "carbonc: error: --uncertainty propagation draws no samples; drop --samples",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_USAGE)
    if args.save_samples and not args.output:
        print("carbonc: error: --save-samples needs -o DIR", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)
    return Uncertainty(
        method=method,
        samples=args.samples or 10_000,
        seed=args.seed,
        memory_budget=args.memory_budget,
        keep_samples=args.save_samples,
    )


def _sensitivity_table(report: Sensitivity, top: int) -> str:
    if report.method == "sobol":
        head = (
            f"Sobol indices of `{report.output}` ({report.samples} model runs, seed {report.seed}):"
        )
        cols = [("S1", "first-order"), ("ST", "total")]
    else:
        head = (
            f"inputs ranked by their effect on `{report.output}` (Spearman rank correlation, "
            f"{report.samples} samples, seed {report.seed}):"
        )
        cols = [("spearman", "rank corr."), ("share", "share of variance")]
    shown = report.factors[:top]
    width = max([5, *(len(f.name) for f in shown)])
    lines = [head, "  " + "input".ljust(width) + "".join(f"  {t:>17}" for _, t in cols)]
    for f in shown:
        cells = []
        for key, _ in cols:
            v = f.values[key]
            conf = f.values.get(f"{key}_conf")
            text = f"{v:+.3f}" if key == "spearman" else f"{v:.3f}"
            cells.append(f"{text} ± {conf:.3f}" if conf is not None else text)
        lines.append("  " + f.name.ljust(width) + "".join(f"  {c:>17}" for c in cells))
    if len(report.factors) > top:
        lines.append(f"  … {len(report.factors) - top} more (show them with --top or --json)")
    if report.method == "rank":
        noise = 2 / report.samples**0.5
        lines.append(f"  (|rank corr.| below {noise:.3f}, 2/√samples, is indistinguishable from 0)")
    return "\n".join(lines)


def _sensitivity_json(report: Sensitivity) -> str:
    return json.dumps(
        {
            "output": report.output,
            "method": report.method,
            "samples": report.samples,
            "seed": report.seed,
            "inputs": [{"input": f.name, **f.values} for f in report.factors],
        },
        indent=2,
    )


if __name__ == "__main__":  # pragma: no cover
    main()
