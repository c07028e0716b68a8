"""Assemble a model and everything it imports or extends into one flat program.

Each import is an *instance*: a scope with its own prefix (``sc.``) whose declared inputs are
bound to formulas in the importer's scope. ``extends`` merges a base model into the same scope.
``override`` then replaces existing definitions, keeping the old one reachable as ``super``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from carbonc.dsl import ast
from carbonc.dsl.diagnostics import Diagnostics, did_you_mean
from carbonc.dsl.module import Module, load_module
from carbonc.dsl.schema import (
    AssertSpec,
    DataSpec,
    DimensionFromCategories,
    DimensionFromCsv,
    DimensionLabels,
    DimensionLike,
    ImportSpec,
    InputSpec,
    MrioSpec,
    ParameterSpec,
    RuleSpec,
)
from carbonc.dsl.span import Span

from .categories import CategoryError, Hierarchy, hierarchy_labels
from .paths import STDLIB_ROOT, PathError, safe_path, stdlib_path
from .uncertainty import is_distribution

Kind = Literal["data", "parameter", "rule", "input"]


@dataclass(frozen=True)
class MrioMember:
    """One table of an MRIO data entry (``wiod.Z``): where to read it from."""

    spec: MrioSpec
    member: str
    files: Any


@dataclass(frozen=True)
class ProcessCell:
    """One exchange of a unit process: where it goes in a table, and its amount."""

    row: str  # a product or flow label
    process: str
    expr: ast.Node
    span: Span


@dataclass(frozen=True)
class ProcessTable:
    """A table assembled from the exchanges of a `processes:` block.

    ``kind`` is ``technosphere_in``, ``technosphere_out``, ``reference`` or ``biosphere``;
    ``units`` holds each row's unit (a product's unit is that of its first output amount with
    one; elementary flows are in kg).
    """

    kind: str
    row_dim: str
    cells: tuple[ProcessCell, ...]
    units: tuple[tuple[str, str], ...]


PROCESS_TABLES = {
    "technosphere_in": (
        "product",
        "products consumed by each process per run, in the product's unit",
    ),
    "technosphere_out": (
        "product",
        "products delivered by each process per run, in the product's unit",
    ),
    "reference": ("product", "1 where a product is a process's reference product"),
    "biosphere": ("flow", "elementary flows of each process per run, kg"),
    "stage": ("stage", "1 where a process belongs to a life-cycle stage (its `stage:`)"),
}


@dataclass(eq=False)
class Definition:
    """A named value of the program: data, parameter, rule, or a method's bound input."""

    qname: str
    name: str
    kind: Kind
    owner: Scope
    scope: Scope  # where ``expr`` resolves (the importer's, for a bound input)
    module: Module
    span: Span
    expr: ast.Node | None = None
    unit: str | None = None
    unit_span: Span | None = None
    dims: tuple[str, ...] | None = None
    dims_span: Span | None = None
    spec: DataSpec | ParameterSpec | InputSpec | RuleSpec | MrioMember | ProcessTable | None = None
    because: str | None = None
    super_def: Definition | None = None
    description: str | None = None
    formula_key: tuple[str, ...] | None = None  # where its formula is, if not under its name

    @property
    def is_override(self) -> bool:
        """Whether an ``override:`` replaced the original definition."""
        return self.because is not None


@dataclass(eq=False)
class ChoiceDef:
    """A declared methodology choice."""

    qname: str
    name: str
    values: tuple[str, ...]
    default: str
    span: Span
    module: Module
    cite: str | None = None
    description: str | None = None


@dataclass(eq=False)
class AssertDef:
    """One assertion, evaluated in the scope that declares it."""

    qname: str
    scope: Scope
    expr: ast.Node
    within: ast.Node | float | None
    message: str | None
    span: Span
    module: Module


@dataclass(frozen=True)
class DimDecl:
    """One module's declaration of a dimension's labels."""

    name: str
    labels: tuple[str, ...]
    span: Span
    module: Module
    depth: int
    like: str | None = None  # a dual: labels come from this dimension
    hierarchy: Hierarchy | None = None  # category codes with their parents
    others_zero: bool = False  # the program's labels this module does not list are 0 here


@dataclass(eq=False)
class Scope:
    """A module instance: the root model, or an import under an alias."""

    prefix: tuple[str, ...]
    modules: list[Module]
    sandbox: list[Path]
    depth: int
    names: dict[str, Definition] = field(default_factory=dict)
    choices: dict[str, ChoiceDef] = field(default_factory=dict)
    imports: dict[str, Scope] = field(default_factory=dict)
    import_spans: dict[str, Span] = field(default_factory=dict)
    broken: set[str] = field(
        default_factory=set
    )  # imports that failed; their names are not re-reported
    # Dims the importer's bindings add beyond the inputs' contract (a method run for every
    # region at once): the method's rules carry them, and its sums keep them.
    batch: set[str] = field(default_factory=set)

    @property
    def module(self) -> Module:
        """The most derived module of the scope (the one named on the command line or imported)."""
        return self.modules[-1]

    def qname(self, name: str) -> str:
        """The fully qualified name of a local ``name``."""
        return ".".join((*self.prefix, name))

    @property
    def label(self) -> str:
        """How the scope is named in messages."""
        return ".".join(self.prefix) or "the model"


@dataclass
class Program:
    """Everything the compiler knows after assembly, before type checking."""

    root: Scope
    scopes: list[Scope]
    definitions: dict[str, Definition]
    choices: dict[str, ChoiceDef]
    asserts: list[AssertDef]
    dims: dict[str, list[DimDecl]]
    outputs: list[tuple[str, Span]]
    modules: dict[str, Module]
    allow: list[Path]


def assemble(path: Path, diags: Diagnostics, allow: list[Path] | None = None) -> Program | None:
    """Load ``path`` and all it imports and extends; collect problems in ``diags``."""
    allow = [p.resolve() for p in (allow or [])]
    builder = _Builder(diags, allow)
    root_path = path.resolve() if path.exists() else path
    sandbox = [root_path.parent, *allow]
    root = builder.instantiate(root_path, (), sandbox, None, ())
    if root is None:
        return None
    builder.apply_overrides()
    outputs = [(o, root.module.span("outputs", i)) for i, o in enumerate(builder.outputs_of(root))]
    return Program(
        root=root,
        scopes=builder.scopes,
        definitions=builder.definitions,
        choices=builder.choices,
        asserts=builder.asserts,
        dims=builder.dims,
        outputs=outputs,
        modules=builder.modules,
        allow=allow,
    )


class _Builder:
    def __init__(self, diags: Diagnostics, allow: list[Path]):
        self.diags = diags
        self.allow = allow
        self.scopes: list[Scope] = []
        self.definitions: dict[str, Definition] = {}
        self.choices: dict[str, ChoiceDef] = {}
        self.asserts: list[AssertDef] = []
        self.dims: dict[str, list[DimDecl]] = {}
        self.modules: dict[str, Module] = {}
        self.overrides: list[tuple[Scope, Module]] = []

    # -- loading ------------------------------------------------------------------------

    def load(self, path: Path) -> Module | None:
        key = str(path)
        if key in self.modules:
            return self.modules[key]
        module = load_module(path, self.diags)
        if module is not None:
            self.modules[key] = module
        return module

    def chain(self, path: Path, sandbox: list[Path], seen: tuple[str, ...]) -> list[Module] | None:
        """The module at ``path`` preceded by the bases it extends."""
        module = self.load(path)
        if module is None:
            return None
        if module.spec.extends is None:
            return [module]
        span = module.span("extends")
        try:
            base_path = safe_path(module.folder, module.spec.extends, sandbox, "extended model")
        except PathError as exc:
            self.diags.error("E0701", str(exc), span, help=exc.help)
            return None
        if str(base_path) in seen or base_path == path.resolve():
            self.diags.error(
                "E0704",
                f"`extends` forms a cycle through `{module.spec.extends}`",
                span,
                help="a model cannot extend itself, directly or through its bases",
            )
            return None
        base = self.chain(base_path, sandbox, (*seen, str(path.resolve())))
        return None if base is None else [*base, module]

    def instantiate(
        self,
        path: Path,
        prefix: tuple[str, ...],
        sandbox: list[Path],
        importer: tuple[Scope, str, ImportSpec | str, Span] | None,
        stack: tuple[str, ...],
    ) -> Scope | None:
        modules = self.chain(path, sandbox, ())
        if modules is None:
            return None
        scope = Scope(prefix, modules, sandbox, len(prefix))
        self.scopes.append(scope)
        for module in modules:
            self.declare(scope, module)
        for module in modules:
            for alias, imp in module.spec.import_.items():
                self.import_(scope, module, alias, imp, (*stack, str(path)))
        return scope

    def import_(
        self,
        scope: Scope,
        module: Module,
        alias: str,
        imp: ImportSpec | str,
        stack: tuple[str, ...],
    ) -> None:
        span = module.key_span("import", alias)
        source = imp if isinstance(imp, str) else imp.from_
        src_span = (
            module.span("import", alias)
            if isinstance(imp, str)
            else module.span("import", alias, "from")
        )
        if alias in scope.imports or alias in scope.names:
            self.diags.error(
                "E0309",
                f"`{alias}` is already defined in {scope.label}",
                span,
                help="give the import another alias",
            )
            return
        try:
            if source.startswith("stdlib:"):
                target = stdlib_path(source)
                sandbox = [STDLIB_ROOT, *self.allow]
            else:
                target = safe_path(module.folder, source, scope.sandbox, "imported model")
                sandbox = scope.sandbox
        except PathError as exc:
            self.diags.error("E0701", str(exc), src_span, help=exc.help)
            return
        if str(target) in stack:
            cycle = " -> ".join(
                Path(s).name for s in (*stack[stack.index(str(target)) :], str(target))
            )
            self.diags.error(
                "E0704",
                f"import cycle: {cycle}",
                src_span,
                help="break the cycle by moving shared definitions into a third file",
            )
            return
        child = self.instantiate(target, (*scope.prefix, alias), sandbox, None, stack)
        if child is None:
            scope.broken.add(alias)
            return
        scope.imports[alias] = child
        scope.import_spans[alias] = span
        self.bind_inputs(scope, module, alias, imp, child, span)

    def bind_inputs(
        self,
        scope: Scope,
        module: Module,
        alias: str,
        imp: ImportSpec | str,
        child: Scope,
        span: Span,
    ) -> None:
        bindings = {} if isinstance(imp, str) else imp.with_
        inputs = {n: d for n, d in child.names.items() if d.kind == "input"}
        for key, value in bindings.items():
            key_span = module.key_span("import", alias, "with", key)
            if key not in inputs:
                hint = did_you_mean(key, inputs)
                self.diags.error(
                    "E0703",
                    f"`{alias}` has no input `{key}`",
                    key_span,
                    help=hint
                    or (
                        f"its inputs are: {', '.join(inputs)}"
                        if inputs
                        else "it declares no inputs"
                    ),
                )
                continue
            target = inputs[key]
            if isinstance(value, str):
                formula = module.formulas.get(("import", alias, key))
                if formula is None:
                    continue  # a syntax error was already reported
                target.expr = formula.tree
            else:
                vspan = module.span("import", alias, "with", key)
                target.expr = ast.Quantity(vspan, float(value), None)
            target.scope = scope
        for name, d in inputs.items():
            if name not in bindings:
                contract = f"dims [{', '.join(d.dims or ())}], unit {d.unit or '1'}"
                self.diags.error(
                    "E0702",
                    f"import `{alias}` does not bind input `{name}` ({contract})",
                    span,
                    help=f"add `with: {{{name}: <formula>}}` to the import",
                )

    # -- declarations -------------------------------------------------------------------

    def define(self, scope: Scope, d: Definition) -> None:
        existing = scope.names.get(d.name)
        if existing is not None or d.name in scope.imports:
            where = f" (first at {existing.span})" if existing is not None else ""
            base = existing is not None and existing.module is not d.module
            self.diags.error(
                "E0309",
                f"`{d.name}` is defined twice in {scope.label}{where}",
                d.span,
                help="to replace a definition from a base model, put it under `override:` with a `because:`"
                if base
                else "rename one of them",
            )
            return
        scope.names[d.name] = d
        self.definitions[d.qname] = d

    def declare(self, scope: Scope, m: Module) -> None:
        spec = m.spec
        for name, dim in spec.dimensions.items():
            self.dimension(scope, m, name, dim)
        for name, inp in spec.inputs.items():
            self.define(
                scope,
                Definition(
                    scope.qname(name),
                    name,
                    "input",
                    scope,
                    scope,
                    m,
                    m.key_span("inputs", name),
                    unit=inp.unit,
                    unit_span=m.span("inputs", name, "unit"),
                    dims=tuple(inp.dims),
                    dims_span=m.span("inputs", name, "dims"),
                    spec=inp,
                    description=inp.description,
                ),
            )
        if spec.processes:
            self.processes(scope, m)
        for name, data in spec.data.items():
            if isinstance(data, MrioSpec):
                self.mrio(scope, m, name, data)
                continue
            self.define(
                scope,
                Definition(
                    scope.qname(name),
                    name,
                    "data",
                    scope,
                    scope,
                    m,
                    m.key_span("data", name),
                    unit=data.unit,
                    unit_span=m.span("data", name, "unit"),
                    dims=tuple(data.dims),
                    dims_span=m.span("data", name, "dims"),
                    spec=data,
                    description=data.description,
                ),
            )
        for name, param in spec.parameters.items():
            d = Definition(
                scope.qname(name),
                name,
                "parameter",
                scope,
                scope,
                m,
                m.key_span("parameters", name),
            )
            formula = m.formulas.get(("parameters", name))
            if isinstance(param, ParameterSpec):
                d.spec, d.description = param, param.description
                d.unit, d.unit_span = param.unit, m.span("parameters", name, "unit")
                d.dims, d.dims_span = tuple(param.dims), m.span("parameters", name, "dims")
                if isinstance(param.value, (int, float)):
                    d.expr = ast.Quantity(
                        m.span("parameters", name, "value"), float(param.value), param.unit
                    )
            elif isinstance(param, (int, float)) or _is_number(param):
                d.expr = ast.Quantity(m.span("parameters", name), float(param), None)
            if formula is not None:
                d.expr = formula.tree
            self.define(scope, d)
        for name, rule in spec.rules.items():
            formula = m.formulas.get(("rules", name))
            d = Definition(
                scope.qname(name),
                name,
                "rule",
                scope,
                scope,
                m,
                m.key_span("rules", name),
                expr=formula.tree if formula else None,
            )
            if isinstance(rule, RuleSpec):
                d.spec, d.description = rule, rule.description
                if rule.unit is not None:
                    d.unit, d.unit_span = rule.unit, m.span("rules", name, "unit")
                if rule.dims is not None:
                    d.dims, d.dims_span = tuple(rule.dims), m.span("rules", name, "dims")
            self.define(scope, d)
        for name, choice in spec.choices.items():
            span = m.key_span("choices", name)
            if choice.default not in choice.one_of:
                self.diags.error(
                    "E0902",
                    f"default `{choice.default}` of choice `{name}` is not one of its values",
                    m.span("choices", name, "default"),
                    help=did_you_mean(choice.default, choice.one_of)
                    or f"choose one of: {', '.join(choice.one_of)}",
                )
            if name in scope.choices:
                self.diags.error(
                    "E0309", f"choice `{name}` is defined twice in {scope.label}", span
                )
                continue
            c = ChoiceDef(
                scope.qname(name),
                name,
                tuple(choice.one_of),
                choice.default,
                span,
                m,
                choice.cite,
                choice.description,
            )
            scope.choices[name] = c
            self.choices[c.qname] = c
        for i, a in enumerate(spec.assert_):
            formula = m.formulas.get(("assert", str(i)))
            if formula is None:
                continue
            within: ast.Node | float | None = None
            if isinstance(a, AssertSpec):
                if isinstance(a.within, str):
                    wf = m.formulas.get(("assert", str(i), "within"))
                    within = wf.tree if wf else None
                elif a.within is not None:
                    within = float(a.within)
            span = m.span("assert", i)
            self.asserts.append(
                AssertDef(
                    f"assert@{Path(m.path).name}:{span.line}",
                    scope,
                    formula.tree,
                    within,
                    a.message if isinstance(a, AssertSpec) else None,
                    formula.tree.span,
                    m,
                )
            )
        if spec.override:
            self.overrides.append((scope, m))

    def dimension(
        self,
        scope: Scope,
        m: Module,
        name: str,
        dim: list[str | int | float]
        | DimensionLabels
        | DimensionFromCsv
        | DimensionLike
        | DimensionFromCategories,
    ) -> None:
        span = m.key_span("dimensions", name)
        if isinstance(dim, DimensionLike):
            self.dims.setdefault(name, []).append(DimDecl(name, (), span, m, scope.depth, dim.like))
            return
        if isinstance(dim, DimensionFromCategories):
            codes = None if dim.codes is None else [_label(c) for c in dim.codes]
            try:
                labels, tree = hierarchy_labels(dim.categorization, codes)
            except CategoryError as exc:
                at: tuple[str | int, ...] = ("categorization",)
                if exc.code is not None and codes is not None:
                    at = ("codes", codes.index(exc.code))
                self.diags.error(
                    "E0307",
                    str(exc),
                    m.span("dimensions", name, *at),
                    help=did_you_mean(exc.code or dim.categorization, list(exc.suggestions)),
                )
                return
            self.dims.setdefault(name, []).append(
                DimDecl(name, labels, span, m, scope.depth, hierarchy=tree)
            )
            return
        if isinstance(dim, DimensionFromCsv):
            from carbonc.runtime.readers import DataError, read_labels

            csv_span = m.span("dimensions", name, "csv")
            try:
                path = safe_path(m.folder, dim.csv, scope.sandbox, "dimension")
                labels = read_labels(path, dim.column)
            except PathError as exc:
                self.diags.error("E0801", str(exc), csv_span, help=exc.help)
                return
            except DataError as exc:
                self.diags.extend(exc.diagnostics)
                return
        else:
            values = dim.labels if isinstance(dim, DimensionLabels) else dim
            labels = tuple(_label(v) for v in values)
            seen: dict[str, int] = {}
            where = ("labels",) if isinstance(dim, DimensionLabels) else ()
            for i, lab in enumerate(labels):
                if lab in seen:
                    self.diags.error(
                        "E0805",
                        f"label `{lab}` appears twice in dimension `{name}`",
                        m.span("dimensions", name, *where, i),
                        help="labels of a dimension must be unique",
                    )
                seen[lab] = i
        if not labels:
            self.diags.error("E0403", f"dimension `{name}` has no labels", span)
            return
        zero = isinstance(dim, DimensionLabels) and dim.others == "zero"
        self.dims.setdefault(name, []).append(
            DimDecl(name, labels, span, m, scope.depth, others_zero=zero)
        )

    def mrio(self, scope: Scope, m: Module, name: str, spec: MrioSpec) -> None:
        """An MRIO data entry: its dims, and its tables as definitions under ``name.``."""
        from carbonc.runtime import mrio
        from carbonc.runtime.readers import DataError

        span = m.key_span("data", name)
        try:
            root = safe_path(m.folder, spec.mrio, scope.sandbox, "MRIO")
            files = mrio.locate(root, spec.extension, spec.files, spec.split)
            labels = mrio.labels(files)
        except PathError as exc:
            self.diags.error("E0801", str(exc), m.span("data", name, "mrio"), help=exc.help)
            scope.broken.add(name)
            return
        except DataError as exc:
            # A problem with the folder itself is shown at the `mrio:` line of the model.
            at = m.span("data", name, "mrio")
            self.diags.extend(
                replace(x, span=at) if x.span is not None and Path(x.span.file).is_dir() else x
                for x in exc.diagnostics
            )
            scope.broken.add(name)
            return
        except (OSError, ValueError) as exc:
            self.diags.error("E0809", f"cannot read the MRIO in `{spec.mrio}`: {exc}", span)
            scope.broken.add(name)
            return
        for dim, labs in (
            ("region", labels.region),
            ("sector", labels.sector),
            ("category", labels.category),
            ("stressor", labels.stressor),
        ):
            if labs:
                self.dims.setdefault(dim, []).append(DimDecl(dim, labs, span, m, scope.depth))
        for dual, base in (("region_to", "region"), ("sector_to", "sector")):
            self.dims.setdefault(dual, []).append(DimDecl(dual, (), span, m, scope.depth, base))
        if name in scope.imports or name in scope.names:
            self.diags.error("E0309", f"`{name}` is defined twice in {scope.label}", span)
            return
        child = Scope((*scope.prefix, name), [m], scope.sandbox, scope.depth)
        shapes = {
            "Z": (("region", "sector", "region_to", "sector_to"), spec.unit),
            "Y": (("region", "sector", "region_to", "category"), spec.unit),
            "F": (("stressor", "region", "sector"), spec.stressor_unit),
            "F_Y": (("stressor", "region_to", "category"), spec.stressor_unit),
            "population": (("region",), "capita"),
        }
        for member in (k for k in mrio.MEMBERS if k in files.tables):
            dims, unit = shapes[member]
            d = Definition(
                child.qname(member),
                member,
                "data",
                child,
                child,
                m,
                span,
                unit=unit,
                unit_span=m.span("data", name, "unit"),
                dims=dims,
                spec=MrioMember(spec, member, files),
                description=f"{member} of {name}",
            )
            child.names[member] = d
            self.definitions[d.qname] = d
        scope.imports[name] = child
        scope.import_spans[name] = span

    def processes(self, scope: Scope, m: Module) -> None:
        """A `processes:` block: dims `process`, `product` and `flow`, and its exchange tables
        as definitions under `processes.`."""
        procs = m.spec.processes
        span = m.key_span("processes", next(iter(procs)))
        products: dict[str, None] = {}
        flows: dict[str, None] = {}
        stages: dict[str, None] = {}
        units: dict[str, str] = {}
        cells: dict[str, list[ProcessCell]] = {k: [] for k in PROCESS_TABLES}
        child = Scope((*scope.prefix, "processes"), [m], scope.sandbox, scope.depth)

        def amount_of(key: tuple[str, ...], amount: object) -> tuple[ast.Node, Span]:
            expr, at = _amount(m, key, amount)
            if not is_distribution(expr):
                return expr, at
            # An uncertain amount is a parameter of its own (`processes.power__inputs__steel`),
            # drawn like any other; the deterministic run uses its central value.
            pname = "__".join(key[1:])
            d = Definition(child.qname(pname), pname, "parameter", child, scope, m, at, expr=expr)
            d.formula_key = key
            child.names[pname] = d
            self.definitions[d.qname] = d
            return ast.Name(at, ("processes", pname)), at

        for name, proc in procs.items():
            for part, table in (("products", "technosphere_out"), ("inputs", "technosphere_in")):
                for product, amount in getattr(proc, part).items():
                    products.setdefault(product)
                    expr, at = amount_of(("processes", name, part, product), amount)
                    if part == "products" and isinstance(expr, ast.Quantity) and expr.unit:
                        units.setdefault(product, expr.unit)
                    cells[table].append(ProcessCell(product, name, expr, at))
            reference = next(iter(proc.products))
            at = m.key_span("processes", name, "products", reference)
            one = ast.Quantity(at, 1.0, None)
            cells["reference"].append(ProcessCell(reference, name, one, at))
            for flow, amount in proc.emissions.items():
                flows.setdefault(flow)
                expr, at = amount_of(("processes", name, "emissions", flow), amount)
                cells["biosphere"].append(ProcessCell(flow, name, expr, at))
            if proc.stage is not None:
                stages.setdefault(proc.stage)
                at = m.span("processes", name, "stage")
                cells["stage"].append(
                    ProcessCell(proc.stage, name, ast.Quantity(at, 1.0, None), at)
                )
        for dim, labels in (
            ("process", tuple(procs)),
            ("product", tuple(products)),
            ("flow", tuple(flows)),
            ("stage", tuple(stages)),
        ):
            if labels:
                self.dims.setdefault(dim, []).append(DimDecl(dim, labels, span, m, scope.depth))
        for kind, (row_dim, description) in PROCESS_TABLES.items():
            if (row_dim == "flow" and not flows) or (row_dim == "stage" and not stages):
                continue
            row_units = tuple(units.items()) if row_dim == "product" else ()
            d = Definition(
                child.qname(kind),
                kind,
                "rule",
                child,
                scope,
                m,
                span,
                dims=(row_dim, "process"),
                spec=ProcessTable(kind, row_dim, tuple(cells[kind]), row_units),
                description=description,
            )
            child.names[kind] = d
            self.definitions[d.qname] = d
        if "processes" in scope.imports or "processes" in scope.names:
            self.diags.error("E0309", f"`processes` is defined twice in {scope.label}", span)
            return
        scope.imports["processes"] = child
        scope.import_spans["processes"] = span

    # -- overrides ----------------------------------------------------------------------

    def apply_overrides(self) -> None:
        # Deepest scopes first, so an outer model's override wins over an inner one.
        for scope, m in sorted(self.overrides, key=lambda t: -t[0].depth):
            for target, ov in m.spec.override.items():
                span = m.key_span("override", target)
                formula = m.formulas.get(("override", target))
                d = self.resolve_target(scope, target, span)
                if d is None or formula is None:
                    continue
                old = replace(d, qname=self.super_name(d.qname))
                self.definitions[old.qname] = old
                d.kind, d.expr, d.scope, d.because, d.super_def = (
                    "rule",
                    formula.tree,
                    scope,
                    ov.because,
                    old,
                )
                d.spec = None
                d.module = m
                d.span = span
                if ov.unit is not None:
                    d.unit, d.unit_span = ov.unit, m.span("override", target, "unit")

    def super_name(self, qname: str) -> str:
        n = 1
        while f"{qname}@super{n if n > 1 else ''}" in self.definitions:
            n += 1
        return f"{qname}@super{n if n > 1 else ''}"

    def resolve_target(self, scope: Scope, target: str, span: Span) -> Definition | None:
        parts = target.split(".")
        here = scope
        for i, part in enumerate(parts[:-1]):
            nxt = here.imports.get(part)
            if nxt is None:
                hint = did_you_mean(part, here.imports)
                self.diags.error(
                    "E0310",
                    f"cannot override `{target}`: `{'.'.join(parts[: i + 1])}` is not an import",
                    span,
                    help=hint,
                )
                return None
            here = nxt
        name = parts[-1]
        d = here.names.get(name)
        if d is None:
            if name in here.choices:
                self.diags.error(
                    "E0310",
                    f"cannot override choice `{target}`",
                    span,
                    help="set a choice per run with `--choose`, or change its default",
                )
                return None
            hint = did_you_mean(name, here.names)
            self.diags.error(
                "E0310",
                f"cannot override `{target}`: {here.label} defines no `{name}`",
                span,
                help=hint
                or "an override must name an existing definition; add new ones under `rules:`",
            )
            return None
        return d

    def outputs_of(self, root: Scope) -> list[str]:
        for m in reversed(root.modules):
            if m.spec.outputs:
                return list(m.spec.outputs)
        return []


def _label(v: str | int | float) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _amount(m: Module, key: tuple[str, ...], amount: object) -> tuple[ast.Node, Span]:
    """An exchange amount as a formula tree: parsed text, or a bare number."""
    at = m.span(*key)
    formula = m.formulas.get(key)
    if formula is not None:
        return formula.tree, at
    value = float(amount) if isinstance(amount, (int, float)) else float("nan")
    return ast.Quantity(at, value, None), at


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
