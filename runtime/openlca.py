"""Read openLCA JSON-LD zips (olca-schema 2) into carbonc's tidy LCA tables.

The zip is read in memory, never extracted; entries are dispatched by folder (olca-schema's
``ZipWriter`` names, plus ``units/``, ``impact_categories/``, ``impact_methods/``). Conventions:

- Amounts are in each flow's reference unit: ``amount * unit.conversionFactor /
  flowPropertyFactor.conversionFactor``, as openLCA's ``ReferenceAmount`` computes them.
- A process delivers (``technosphere_out``) its product outputs and waste inputs (a treatment
  delivers the treatment of its waste) and consumes the rest; an avoided product swaps sides,
  so carbonc's ``substitution`` credits it as openLCA does. Elementary inputs are negative.
- Allocation: ``PHYSICAL`` (default) or ``ECONOMIC`` factors. ``CAUSAL`` ones are per exchange,
  which carbonc's ``explicit_factors`` [process, product] cannot express: never read.
- Properties: kg and MJ per reference unit from the flow's properties whose unit group has
  them; price from the first product output's ``costValue`` (the value of the whole amount).
- Demand: one functional unit per reference product, named like it, of one reference unit.
- Uncertainty: openLCA's geometric mean is the median, i.e. the amount: a lognormal keeps only
  ``gsd`` (and is dropped, with a warning, on a negative amount); other parameters are
  converted (and negated) with the amount. Formulas are kept as text, never computed.
- ``gas_of``: by CAS number, else by name. Biogenic, non-fossil and in-air CO2 stay unmapped
  (the carbon-neutral convention), as do flows in resource, water or soil compartments.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd

from carbonc.dsl.diagnostics import CarbonError, Diagnostic, Diagnostics
from carbonc.dsl.module import RESERVED
from carbonc.dsl.span import Span

MAX_ENTRIES = 200_000
MAX_BYTES = 4 * 1024**3  # a whole ecoinvent export unpacks to a few GB


def _table(text: str) -> dict[str, str]:
    return dict(pair.split("=") for pair in text.split())


_FOLDERS = _table(
    "unit_groups=UnitGroup units=UnitGroup flow_properties=FlowProperty flows=Flow "
    "locations=Location parameters=Parameter processes=Process lcia_categories=ImpactCategory "
    "impact_categories=ImpactCategory lcia_methods=ImpactMethod impact_methods=ImpactMethod"
)
# Read in this order, so that what an entity references is known when it is read.
_ORDER: tuple[str, ...] = ("UnitGroup", "FlowProperty", "Flow", "Location", "Parameter", "Process")
_ORDER += ("ImpactCategory", "ImpactMethod")
_CAS_GAS = _table(
    "124-38-9=CO2 74-82-8=CH4 10024-97-2=N2O 2551-62-4=SF6 7783-54-2=NF3 75-73-0=CF4 "
    "76-16-4=C2F6 75-46-7=HFC23 75-10-5=HFC32 354-33-6=HFC125 811-97-2=HFC134a "
    "420-46-2=HFC143a 75-37-6=HFC152a"
)
_NAME_GAS = {n: "N2O" for n in ("dinitrogen monoxide", "dinitrogen oxide", "nitrous oxide")}
_NAME_GAS |= {"dinitrous oxide": "N2O", "carbon dioxide": "CO2", "methane": "CH4"}
_NAME_GAS |= {"sulfur hexafluoride": "SF6", "sulphur hexafluoride": "SF6"}
# Words that qualify the origin of CO2 or CH4: any other (``Methane, tetrafluoro-``) names
# another substance, so a match by name alone is refused.
_ORIGIN_WORDS = "fossil non nonfossil biogenic from to soil or biomass stock land use change"
_ORIGIN = {*_ORIGIN_WORDS.split(), "transformation", "in", "air", "resource", "correction"}
_DISTRIBUTIONS = {
    "LOG_NORMAL_DISTRIBUTION": ("geomSd",),
    "NORMAL_DISTRIBUTION": ("sd",),
    "TRIANGLE_DISTRIBUTION": ("minimum", "mode", "maximum"),
    "UNIFORM_DISTRIBUTION": ("minimum", "maximum"),
}
_HELP = {
    "E1301": "export the database or data sets from openLCA 2 as JSON-LD (a .zip)",
    "E1302": "a zip bomb is refused; raise `max_entries` or `max_bytes` if the zip is genuine",
    "E1303": "carbonc reads only relative, plain entry names; export the zip again from openLCA",
    "E1304": "the zip is damaged or encrypted; export it again",
    "E1305": "each entry must be one JSON object in UTF-8, as openLCA writes them",
    "E1306": "keep each entity, with its @type and @id, in its own folder",
    "E1307": "export the data set with its references (openLCA's JSON-LD export includes them)",
    "E1308": "fix the data set in openLCA (or olca-schema) and export it again",
    "E1309": "export from openLCA 2 (olca-schema version 2)",
    "W1301": "add them in openLCA, or allocate by mass, energy or price in carbonc",
    "W1302": "describe the uncertainty in carbonc's `uncertainty` column by hand",
}
_KINDS = ("ELEMENTARY_FLOW", "PRODUCT_FLOW", "WASTE_FLOW")
_UNSAFE = re.compile(r"^/|^[A-Za-z]:|(^|/)\.\.(/|$)|//|[\\\x00]")


@dataclass(frozen=True)
class OpenLcaData:
    """The tables of one openLCA zip in carbonc's long form, one per CSV (see :func:`write_tidy`).

    Labels are slugs of names, deduplicated with ``_2``, ``_3``, ... in order of name, category
    and @id; ``products``, ``processes`` and ``flows`` keep the openLCA @id in an ``id`` column.
    ``impact_factors`` is None when the zip has no impact categories. ``warnings`` lists what was
    imported with a loss (e.g. an uncertainty that could not be carried over).
    """

    products: pd.DataFrame  # product, unit, name, id
    processes: pd.DataFrame  # process, name, location, stage (openLCA category), id
    flows: pd.DataFrame  # flow, unit, compartment, name, cas, id
    technosphere_in: pd.DataFrame  # product, process, value, uncertainty, formula
    technosphere_out: pd.DataFrame  # product, process, value, uncertainty, formula
    reference: pd.DataFrame  # product, process
    biosphere: pd.DataFrame  # flow, process, value, uncertainty, formula
    properties: pd.DataFrame  # product, mass, energy, price
    allocation: pd.DataFrame  # process, product, value
    demand: pd.DataFrame  # product, functional_unit, value
    gas_of: pd.DataFrame  # flow, gas
    parameters: pd.DataFrame  # name, scope, context, value, formula, uncertainty
    impact_factors: pd.DataFrame | None  # method, category, flow, factor, unit
    warnings: tuple[Diagnostic, ...] = ()

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by CSV name (without ``.csv``); ``impact_factors`` only when present."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "warnings"}
        return {name: table for name, table in out.items() if table is not None}


@dataclass
class _Flow:
    name: str
    kind: str  # ELEMENTARY_FLOW, PRODUCT_FLOW or WASTE_FLOW
    cas: str
    category: str
    ref_prop: str
    factors: dict[str, float]  # flow property @id -> amount of it per reference unit


def read_openlca(
    path: Path,
    *,
    allocation: str = "PHYSICAL",
    max_entries: int = MAX_ENTRIES,
    max_bytes: int = MAX_BYTES,
) -> OpenLcaData:
    """Read an openLCA JSON-LD zip (olca-schema version 2) into carbonc's tidy tables.

    Args:
        path: The zip file.
        allocation: ``PHYSICAL`` or ``ECONOMIC``: which of openLCA's allocation factors go to
            ``allocation.csv``.
        max_entries: Refuse zips with more entries than this (zip bombs).
        max_bytes: Refuse zips whose entries unpack to more bytes than this, in total.

    Returns:
        The tables, with the warnings collected while reading.

    Raises:
        CarbonError: For anything wrong with the zip or its data; each diagnostic points at
            ``<zip>!/<entry>``, and every problem of the data sets is reported at once.
    """
    method = allocation.upper().removesuffix("_ALLOCATION")
    if method not in ("PHYSICAL", "ECONOMIC"):
        help = "choose PHYSICAL or ECONOMIC (openLCA's causal factors are per exchange)"
        raise _fail("E1308", f"unknown allocation method `{allocation}`", None, help)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _fail("E1301", f"not a readable zip file: {exc}", _at(path, "")) from None
    with zf:
        return _Builder(zf, Path(path), max_entries, max_bytes, f"{method}_ALLOCATION").build()


def write_tidy(data: OpenLcaData, folder: Path) -> list[Path]:
    """Write every table of ``data`` as ``<name>.csv`` in ``folder`` (created when missing).

    Args:
        data: What :func:`read_openlca` returned.
        folder: The output folder.

    Returns:
        The files written, in the order of :meth:`OpenLcaData.tables`.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in data.tables().items():
        target = folder / f"{name}.csv"
        tmp = target.with_name(f".{target.name}.tmp")  # readers never see a half-written file
        table.to_csv(tmp, index=False, float_format="%.15g", lineterminator="\n")
        written.append(tmp.replace(target))
    return written


MODEL = """\
carbon: 1
model: {name}
description: >
  Imported from {source} by `carbonc import openlca`. The unit processes are in the CSV files
  beside this file; stdlib:lca/footprint allocates and solves them. openLCA's allocation factors
  are `explicit_factors`: run with `--choose allocation=explicit` to use them.
dimensions:
  process: {{csv: processes.csv, column: process}}
  product: {{csv: products.csv, column: product}}
  flow: {{csv: flows.csv, column: flow}}
  functional_unit: {{csv: demand.csv, column: functional_unit}}
data:
  technosphere_in:
    {{csv: technosphere_in.csv, dims: [product, process], sparse: true, uncertainty: {{column: uncertainty}}}}
  technosphere_out:
    {{csv: technosphere_out.csv, dims: [product, process], sparse: true, uncertainty: {{column: uncertainty}}}}
  reference: {{csv: reference.csv, dims: [product, process], mapping: true, sparse: true}}
  biosphere:
    {{csv: biosphere.csv, dims: [flow, process], unit: kg, sparse: true, uncertainty: {{column: uncertainty}}}}
  mass: {{csv: properties.csv, dims: [product], value: mass}}
  energy: {{csv: properties.csv, dims: [product], value: energy}}
  price: {{csv: properties.csv, dims: [product], value: price}}
  explicit_factors: {{csv: allocation.csv, dims: [process, product], sparse: true}}
  demand: {{csv: demand.csv, dims: [product, functional_unit], fill: 0}}
  gas_of: {{csv: gas_of.csv, dims: [flow, gas], mapping: true}}
import:
  lca:
    from: stdlib:lca/footprint
    with: {{technosphere_in: technosphere_in, technosphere_out: technosphere_out,
           reference: reference, biosphere: biosphere, mass: mass, energy: energy, price: price,
           explicit_factors: explicit_factors, demand: demand, gas_of: gas_of}}
outputs: [lca.score, lca.per_product]
"""


def import_openlca(path: Path, out: Path, allocation: str = "PHYSICAL") -> list[Path]:
    """Read an openLCA JSON-LD zip and write tidy CSVs plus ``<name>.carbon`` into ``out``.

    The folder is written whole or not at all: into a temporary sibling, then renamed.

    Raises:
        CarbonError: a bad zip or data set (located diagnostics).
        FileExistsError: ``out`` exists and is not empty.
    """
    data = read_openlca(Path(path), allocation=allocation)
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"`{out}` exists and is not empty")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        write_tidy(data, tmp)
        name = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(path).stem).strip("-") or "imported"
        (tmp / f"{name}.carbon").write_text(
            MODEL.format(name=name, source=Path(path).name), encoding="utf-8"
        )
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return sorted(out.iterdir())


def _fail(code: str, message: str, span: Span | None, help: str | None = None) -> CarbonError:
    return CarbonError([Diagnostic(code, message, span, help or _HELP.get(code))])


def _at(path: Path, entry: str) -> Span:
    """Where diagnostics about ``entry`` point: ``<zip>!/<entry>``, never read as a source."""
    return Span.point(f"{path}!/{entry}", 1, 1)


def _num(value: Any) -> float | None:
    """A finite number, or None: JSON booleans, NaN, infinities and huge integers are not."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok and abs(value) <= sys.float_info.max else None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _list(obj: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = obj.get(key)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _ref(obj: dict[str, Any], key: str) -> tuple[str, str]:
    """The @id and name of a reference ``obj[key]`` (empty strings where absent)."""
    v = obj.get(key)
    return (_str(v.get("@id")), _str(v.get("name"))) if isinstance(v, dict) else ("", "")


class _Builder:
    """Reads the zip's entities into rows keyed by @id; labels are given at the end."""

    def __init__(self, zf: zipfile.ZipFile, path: Path, entries: int, size: int, alloc: str):
        self.zf, self.path, self.diags = zf, path, Diagnostics()
        self.entries, self.budget, self.allocation = entries, size, alloc  # caps, factor type
        self.groups: dict[str, tuple[str, dict[str, float], dict[str, float]]] = {}
        self.props: dict[str, str] = {}  # flow property -> unit group
        self.flows: dict[str, _Flow] = {}
        self.locations: dict[str, str] = {}
        self.procs: dict[str, tuple[str, str, str]] = {}  # name, location, category
        self.exchanges: list[tuple[str, str, str, float, str, str]] = []  # kind, flow, process
        self.reference: list[tuple[str, str]] = []
        self.alloc: list[tuple[str, str, float]] = []
        self.prices: dict[str, float] = {}
        self.params: list[tuple[str, str, str, float | None, str, str]] = []
        self.categories: dict[str, tuple[str, str]] = {}  # name, reference unit
        self.factors: dict[str, list[tuple[str, float]]] = {}
        self.methods: list[tuple[str, str, list[str]]] = []

    def err(self, code: str, message: str, at: Span, help: str | None = None) -> None:
        """Record an error (or a ``W`` warning); reading goes on, to report every problem."""
        add = self.diags.warning if code.startswith("W") else self.diags.error
        add(code, message, at, help or _HELP.get(code))

    def build(self) -> OpenLcaData:
        """Check the zip, read every entity in dependency order, then label and tabulate."""
        infos = self.zf.infolist()
        size = sum(i.file_size for i in infos)  # as declared; `_load` counts what unpacks
        unsafe = [i.filename for i in infos if _UNSAFE.search(i.filename)]
        for bad, code, message, entry in (
            (len(infos) > self.entries, "E1302", f"{len(infos)} entries, over {self.entries}", ""),
            (size > self.budget, "E1302", f"{size} bytes unpacked, over {self.budget}", ""),
            (unsafe, "E1303", "unsafe entry name (absolute, `..` or backslash)", unsafe[:1]),
        ):
            if bad:
                raise _fail(code, f"the zip is refused: {message}", _at(self.path, "".join(entry)))
        by_type: dict[str, list[zipfile.ZipInfo]] = {t: [] for t in _ORDER}
        for info in sorted(infos, key=lambda i: i.filename):
            parts = info.filename.split("/")
            if info.filename == "olca-schema.json" and self._load(info).get("version") != 2:
                raise _fail("E1309", "olca-schema version is not 2", _at(self.path, parts[0]))
            if len(parts) >= 2 and parts[-1].endswith(".json") and parts[-2] in _FOLDERS:
                by_type[_FOLDERS[parts[-2]]].append(info)
        for kind in _ORDER:
            for info in by_type[kind]:
                obj, at = self._load(info), _at(self.path, info.filename)
                if obj.get("@type") != kind or not (uid := _str(obj.get("@id"))):
                    self.err("E1306", f"expected a {kind} with an @id in this folder", at)
                else:
                    getattr(self, f"_read_{kind}")(uid, obj, at)
        self.diags.raise_if_errors()
        return self._tables()

    def _load(self, info: zipfile.ZipInfo) -> dict[str, Any]:
        """The JSON object of one entry, counting what really unpacks against the budget."""
        at = _at(self.path, info.filename)
        try:
            with self.zf.open(info) as f:
                raw = f.read(self.budget + 1)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
            raise _fail("E1304", f"cannot read the entry: {exc}", at) from None
        self.budget -= len(raw)
        if self.budget < 0:
            raise _fail("E1302", "the zip unpacks to more bytes than allowed", at)
        try:
            text = raw.decode("utf-8-sig")
            obj = json.loads(text)  # NaN and Infinity parse, but `_num` refuses them
        except UnicodeDecodeError as exc:
            raise _fail("E1305", f"the entry is not UTF-8 text: {exc.reason}", at) from None
        except json.JSONDecodeError as exc:
            span = Span.point(at.file, exc.lineno, exc.colno)
            near = (f"near: {text[max(0, exc.pos - 30) : exc.pos + 30]!r}",)
            diag = Diagnostic("E1305", f"invalid JSON: {exc.msg}", span, _HELP["E1305"], notes=near)
            raise CarbonError([diag]) from None
        except (ValueError, RecursionError) as exc:  # huge integers, deep nesting
            raise _fail("E1305", f"invalid JSON: {exc}", at) from None
        if not isinstance(obj, dict):
            raise _fail("E1305", "the entry is not a JSON object", at)
        return obj

    def _read_UnitGroup(self, uid: str, obj: dict[str, Any], at: Span) -> None:
        ref, by_id, by_name = "", {}, {}
        for u in _list(obj, "units"):
            cf, name = _num(u.get("conversionFactor")), _str(u.get("name"))
            if cf is None or cf <= 0:
                self.err("E1308", f"unit `{name}` has no positive conversionFactor", at)
                continue
            by_id[_str(u.get("@id"))], by_name[name] = cf, cf
            ref = name if u.get("isRefUnit") is True else ref
        if not ref:
            self.err("E1308", "the unit group has no reference unit (isRefUnit)", at)
        self.groups[uid] = (ref, by_id, by_name)

    def _read_FlowProperty(self, uid: str, obj: dict[str, Any], at: Span) -> None:
        group, name = _ref(obj, "unitGroup")
        if group not in self.groups:
            self.err("E1307", f"unit group `{name or group}` is not in the zip", at)
        self.props[uid] = group

    def _read_Flow(self, uid: str, obj: dict[str, Any], at: Span) -> None:
        kind, name, factors, ref = _str(obj.get("flowType")), _str(obj.get("name")), {}, ""
        if kind not in _KINDS:
            self.err("E1308", f"flow `{name}` has flowType {kind!r}", at, f"use one of {_KINDS}")
        for f in _list(obj, "flowProperties"):
            prop, pname = _ref(f, "flowProperty")
            cf = _num(f.get("conversionFactor", 1.0))
            if prop not in self.props:
                self.err("E1307", f"flow property `{pname or prop}` is not in the zip", at)
            elif cf is None or cf <= 0:
                self.err("E1308", f"flow property `{pname}` has no positive conversionFactor", at)
            else:
                factors[prop] = cf
                ref = prop if f.get("isRefFlowProperty") is True else ref
        ref = ref or (next(iter(factors)) if len(factors) == 1 else "")
        if not ref:
            self.err("E1308", f"flow `{name}` has no reference flow property", at)
        cas, category = _str(obj.get("cas")), _str(obj.get("category"))
        self.flows[uid] = _Flow(name, kind, cas, category, ref, factors)

    def _read_Location(self, uid: str, obj: dict[str, Any], at: Span) -> None:
        self.locations[uid] = _str(obj.get("code")) or _str(obj.get("name"))

    def _read_Parameter(self, uid: str, obj: dict[str, Any], at: Span) -> None:
        self._params([obj], "", at)

    def _params(self, ps: list[dict[str, Any]], context: str, at: Span) -> None:
        for p in ps:
            name, value = _str(p.get("name")), _num(p.get("value"))
            scope = _str(p.get("parameterScope")).removesuffix("_SCOPE").lower() or "global"
            unc = self._uncertainty(p.get("uncertainty"), 1.0, f"parameter `{name}`", at)
            self.params.append((name, scope, context, value, _str(p.get("formula")), unc))

    def _read_Process(self, pid: str, obj: dict[str, Any], at: Span) -> None:
        name = _str(obj.get("name"))
        loc, loc_name = _ref(obj, "location")
        self.procs[pid] = (name, self.locations.get(loc, loc_name), _str(obj.get("category")))
        self._params(_list(obj, "parameters"), pid, at)
        rows: dict[tuple[str, str], list[Any]] = {}  # (kind, flow) -> [value, uncertainty, formula]
        refs: list[str] = []
        avoided: set[str] = set()
        for i, e in enumerate(_list(obj, "exchanges"), 1):
            where = f"exchange {e.get('internalId', i)} of process `{name}`"
            fid, fname = _ref(e, "flow")
            if (flow := self.flows.get(fid)) is None:
                self.err("E1307", f"{where} references flow `{fname or fid}`, not in the zip", at)
                continue
            k, amount = self._scale(flow, e, where, at), self._amount(e, "amount", where, at)
            if k is None or amount is None:
                continue
            is_input, is_avoided = e.get("isInput") is True, e.get("isAvoidedProduct") is True
            if flow.kind == "ELEMENTARY_FLOW":
                kind, k = "bio", -k if is_input else k
            else:  # waste runs against the product direction; an avoided flow swaps back
                delivers = is_input if flow.kind == "WASTE_FLOW" else not is_input
                kind = "out" if delivers != is_avoided else "in"
                avoided |= {fid} if is_avoided else set()
            unc = self._uncertainty(e.get("uncertainty"), k, where, at)
            formula = _str(e.get("amountFormula"))
            formula = f"{k:.15g} * ({formula})" if formula and k != 1 else formula
            if (kind, fid) in rows:  # the same flow twice (e.g. from two providers): one sum
                value, old_unc, old_formula = rows[kind, fid]
                if old_unc or unc:
                    self.err("W1302", f"{where}: uncertainty dropped where flows are summed", at)
                parts = (old_formula or f"{value:.15g}", formula or f"{amount * k:.15g}")
                formula = " + ".join(parts) if old_formula or formula else ""
                rows[kind, fid] = [value + amount * k, "", formula]
            else:
                rows[kind, fid] = [amount * k, unc, formula]
            if e.get("isQuantitativeReference") is True and kind == "out":
                refs.append(fid)
            elif e.get("isQuantitativeReference") is True:
                self.err("E1308", f"{where} is the reference but not a product output", at)
            cost = _num(e.get("costValue"))
            if kind == "out" and not is_avoided and cost is not None and amount:
                self.prices.setdefault(fid, cost / (amount * k))  # costValue is for the amount
        outs = [fid for kind, fid in rows if kind == "out" and fid not in avoided]
        refs = refs or (outs if len(outs) == 1 else [])
        if refs:
            self.reference.append((refs[0], pid))
        else:
            help = "mark its product output with isQuantitativeReference"
            self.err("E1308", f"process `{name}` has no quantitative reference", at, help)
        self.exchanges += [(kind, fid, pid, *row) for (kind, fid), row in rows.items()]
        factors = [
            (pid, fid, value)
            for f in _list(obj, "allocationFactors")
            if f.get("allocationType") == self.allocation
            and (fid := _ref(f, "product")[0]) in outs
            and (value := _num(f.get("value"))) is not None
        ]
        if len(outs) > 1 and not factors:
            message = f"process `{name}` has {len(outs)} outputs but no {self.allocation} factors"
            self.err("W1301", message, at)
        self.alloc += [(pid, outs[0], 1.0)] if len(outs) == 1 else factors

    def _scale(self, flow: _Flow, e: dict[str, Any], where: str, at: Span) -> float | None:
        """The factor from an exchange's (or impact factor's) unit to the flow's reference unit."""
        prop = _ref(e, "flowProperty")[0] or flow.ref_prop
        unit_id, unit_name = _ref(e, "unit")
        if prop not in flow.factors or self.props.get(prop) not in self.groups:
            self.err("E1307", f"{where}: flow `{flow.name}` has no flow property {prop}", at)
            return None
        ref, by_id, by_name = self.groups[self.props[prop]]
        cf = by_id.get(unit_id) if unit_id else by_name.get(unit_name or ref)  # hand-made: name
        if cf is None:
            self.err("E1307", f"{where}: unit `{unit_name or unit_id}` is not one of {ref}'s", at)
        return None if cf is None else cf / flow.factors[prop]

    def _amount(self, e: dict[str, Any], key: str, where: str, at: Span) -> float | None:
        value = _num(e.get(key))
        if value is None:
            help = "carbonc never computes openLCA formulas: export them evaluated, as openLCA does"
            self.err("E1308", f"{where} has no numeric {key}", at, help)
        return value

    def _uncertainty(self, u: Any, k: float, where: str, at: Span) -> str:
        """openLCA's uncertainty, scaled by ``k``, in carbonc's syntax ('' when none)."""
        if not isinstance(u, dict):
            return ""
        kind = _str(u.get("distributionType"))
        args = [_num(u.get(key)) for key in _DISTRIBUTIONS.get(kind, ())]
        x = [a * k for a in args if a is not None]
        x = x[::-1] if k < 0 else x  # a negated interval swaps its bounds
        if kind not in _DISTRIBUTIONS or None in args:
            problem = f"the {kind or 'untyped'} distribution is unknown or incomplete"
        elif kind == "LOG_NORMAL_DISTRIBUTION" and k < 0:
            problem = "a lognormal cannot describe a negative amount"
        elif kind == "LOG_NORMAL_DISTRIBUTION":  # the median is the amount; gsd has no unit
            return f"lognormal(gsd={args[0]:.15g})"
        elif kind == "NORMAL_DISTRIBUTION":
            return f"normal(sd={abs(x[0]):.15g})"
        else:
            name = "triangular" if kind == "TRIANGLE_DISTRIBUTION" else "uniform"
            return f"{name}({', '.join(f'{v:.15g}' for v in x)})"
        self.err("W1302", f"{where}: uncertainty dropped: {problem}", at)
        return ""

    def _read_ImpactCategory(self, cid: str, obj: dict[str, Any], at: Span) -> None:
        name = _str(obj.get("name"))
        self.categories[cid] = (name, _str(obj.get("refUnit")))
        rows = self.factors.setdefault(cid, [])
        for i, f in enumerate(_list(obj, "impactFactors"), 1):
            where = f"factor {i} of impact category `{name}`"
            fid, fname = _ref(f, "flow")
            if (flow := self.flows.get(fid)) is None:
                self.err("E1307", f"{where} references flow `{fname or fid}`, not in the zip", at)
                continue
            k, value = self._scale(flow, f, where, at), self._amount(f, "value", where, at)
            if k is not None and value is not None and flow.kind == "ELEMENTARY_FLOW":
                rows.append((fid, value / k))  # per unit / (reference units per unit)

    def _read_ImpactMethod(self, mid: str, obj: dict[str, Any], at: Span) -> None:
        cats = [_ref({"c": c}, "c") for c in _list(obj, "impactCategories")]
        for c, n in cats:
            if c not in self.categories:
                self.err("E1307", f"impact category `{n or c}` is not in the zip", at)
        self.methods.append((mid, _str(obj.get("name")), [c for c, _ in cats]))

    def _tables(self) -> OpenLcaData:
        fl, ex, cats = self.flows, self.exchanges, self.categories
        used = [f for k, f, *_ in ex if k == "bio"] + [
            f for r in self.factors.values() for f, _ in r
        ]
        pl = _labels((f, fl[f].name, fl[f].category) for k, f, *_ in ex if k != "bio")
        el = _labels((f, fl[f].name, fl[f].category) for f in used)
        ql = _labels((p, n, c) for p, (n, _, c) in self.procs.items())
        cl = _labels((c, n, "") for c, (n, _) in cats.items())
        ml = _labels((m, n, "") for m, n, _ in self.methods)
        unit = {f: self.groups[self.props[fl[f].ref_prop]][0] for f in [*pl, *el]}
        pairs = [(ml[m], c) for m, _, cs in self.methods for c in cs]
        pairs += [("", c) for c in cl if not any(c in cs for *_, cs in self.methods)]
        tech = "product,process,value,uncertainty,formula"
        side = {
            k: [(labels[f], ql[p], *rest) for kind, f, p, *rest in ex if kind == k]
            for k, labels in (("in", pl), ("out", pl), ("bio", el))
        }
        context = {**ql, **cl}
        specs: dict[str, tuple[list[Any], str, tuple[str, ...]]] = {
            "products": ([(pl[f], unit[f], fl[f].name, f) for f in pl], "product,unit,name,id", ()),
            "processes": ([(ql[p], *self.procs[p], p) for p in ql],
                          "process,name,location,stage,id", ()),
            "flows": ([(el[f], unit[f], fl[f].category, fl[f].name, fl[f].cas, f) for f in el],
                      "flow,unit,compartment,name,cas,id", ()),
            "technosphere_in": (side["in"], tech, ("process", "product")),
            "technosphere_out": (side["out"], tech, ("process", "product")),
            "reference": ([(pl[f], ql[p]) for f, p in self.reference], "product,process",
                          ("process",)),
            "biosphere": (side["bio"], tech.replace("product", "flow"), ("process", "flow")),
            "properties": ([(pl[f], *self._properties(f)) for f in pl],
                           "product,mass,energy,price", ()),
            "allocation": ([(ql[p], pl[f], v) for p, f, v in self.alloc],
                           "process,product,value", ("process", "product")),
            "demand": ([(pl[f], pl[f], 1.0) for f in dict.fromkeys(f for f, _ in self.reference)],
                       "product,functional_unit,value", ("product",)),
            "gas_of": ([(el[f], g) for f in el if (g := _gas(fl[f]))], "flow,gas", ("flow",)),
            "parameters": ([(n, s, context.get(c, ""), *r) for n, s, c, *r in self.params],
                           "name,scope,context,value,formula,uncertainty",
                           ("scope", "context", "name")),
            "impact_factors": ([(m, cl[c], el[f], v, f"{cats[c][1]}/{unit[f]}")
                                for m, c in pairs for f, v in self.factors[c]],
                               "method,category,flow,factor,unit", ("method", "category", "flow")),
        }  # fmt: skip
        out: dict[str, Any] = {name: _frame(*spec) for name, spec in specs.items()}
        out["impact_factors"] = out["impact_factors"] if cats else None
        warnings = tuple(d for d in self.diags if d.severity == "warning")
        return OpenLcaData(**out, warnings=warnings)

    def _properties(self, fid: str) -> tuple[float, float, float]:
        """Mass (kg) and energy (MJ) per reference unit from the flow's properties, and price."""
        flow, found = self.flows[fid], {}
        for prop in sorted(flow.factors, key=lambda p: p != flow.ref_prop):  # reference first
            by_name = self.groups[self.props[prop]][2]
            for symbol in ("kg", "MJ"):
                if symbol in by_name and symbol not in found:
                    found[symbol] = flow.factors[prop] / by_name[symbol]
        return found.get("kg", 0.0), found.get("MJ", 0.0), self.prices.get(fid, 0.0)


def _frame(rows: list[Any], columns: str, by: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns.split(","), dtype=object)
    frame = frame.sort_values(list(by), kind="stable") if by else frame
    return frame.infer_objects().reset_index(drop=True)


def _labels(items: Iterable[tuple[str, str, str]]) -> dict[str, str]:
    """Unique carbonc labels (identifiers, not reserved words) for (@id, name, category) triples.

    Labels are slugs of the names, numbered ``_2``, ``_3``, ... in order of name, category, @id.
    """
    out: dict[str, str] = {}
    taken: set[str] = set()
    for uid, name, _ in sorted(set(items), key=lambda t: (t[1].casefold(), t[2], t[0])):
        slug = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
        slug = re.sub(r"[^a-z0-9]+", "_", slug).strip("_")[:48].rstrip("_") or "x"
        slug = slug if slug[0].isalpha() else f"x_{slug}"
        label = slug = f"{slug}_" if slug in RESERVED else slug
        n = 1
        while label in taken:
            n += 1
            label = f"{slug}_{n}"
        taken.add(label)
        out[uid] = label
    return out


def _gas(flow: _Flow) -> str | None:
    """The stdlib:gwp gas of an elementary flow, by CAS number or name; None when unmapped."""
    if any(word in flow.category.lower() for word in ("resource", "water", "soil")):
        return None
    cas = re.fullmatch(r"\s*0*(\d+)-(\d\d)-(\d)\s*", flow.cas)
    base, _, rest = flow.name.lower().replace("(", ",").partition(",")
    qualifiers = set(re.sub(r"[^a-z0-9]+", " ", rest).split())
    gas = _CAS_GAS.get("-".join(cas.groups())) if cas else None
    if not cas:
        gas = _NAME_GAS.get(" ".join(re.sub(r"[^a-z0-9]+", " ", base).split()))
        if gas in ("CO2", "CH4") and not qualifiers <= _ORIGIN:
            return None  # e.g. "Methane, tetrafluoro-": another substance
    nonfossil = bool({"biogenic", "nonfossil"} & qualifiers) or {"non", "fossil"} <= qualifiers
    if gas == "CO2" and (nonfossil or "air" in qualifiers or {"to", "soil"} <= qualifiers):
        return None  # biogenic CO2 and uptake from air are carbon-neutral by convention
    if gas == "CH4" and "fossil" in qualifiers and not nonfossil:
        return "CH4_fossil"
    if gas == "CH4" and (nonfossil or {"soil", "biomass", "land"} & qualifiers):
        return "CH4_nonfossil"
    return gas
