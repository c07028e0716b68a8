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
from typing import TextIO

import carbonc
from carbonc.dsl.diagnostics import (
    CarbonError,
    Diagnostic,
    Diagnostics,
    render_all,
    render_json,
    sorted_diagnostics,
)

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

    model_cmd("check", "check a model and its data; silent when clean")
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
    model_cmd("graph", "print the computation graph (DOT, or JSON with --json)")
    sub.add_parser("schema", help="print the JSON Schema of .carbon files")
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
    except Exception:
        code = _internal_error()
    if argv is None:
        sys.exit(code)
    return code


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
    from carbonc.compiler.api import AssertionFailed, compile_model

    diags = Diagnostics()
    model = compile_model(Path(args.model), diags, [Path(p) for p in args.allow_path])
    if model is None:
        _report(diags.items, args.json, sys.stderr)
        return EXIT_ERRORS
    try:
        if args.command == "check":
            model.check_data()
            if model.warnings:
                _report(model.warnings, args.json, sys.stderr)
            return EXIT_OK
        if args.command == "graph":
            from carbonc.compiler.graph import graph_dot, graph_json

            print(graph_json(model) if args.json else graph_dot(model))
            return EXIT_OK
        choose = _pairs(args.choose, "--choose")
        data = _pairs(args.data, "--data")
        results = model.run(choose=choose, data=data)
    except AssertionFailed as exc:
        _report(exc.diagnostics, args.json, sys.stderr)
        return EXIT_ASSERT
    except CarbonError as exc:
        _report(exc.diagnostics, args.json, sys.stderr)
        return EXIT_ERRORS
    if args.output:
        from carbonc.runtime.writer import write_results

        try:
            files = write_results(results, Path(args.output), args.format)
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


if __name__ == "__main__":  # pragma: no cover
    main()
