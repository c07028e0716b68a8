"""The structure of a ``.carbon`` file, as pydantic models (``extra="forbid"`` everywhere).

Formula strings are validated here only as strings; ``parser.py`` gives them meaning.
``carbonc schema`` prints :func:`json_schema` so editors can validate and complete files.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _unit_text(v: Any) -> Any:
    return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v


UnitText = Annotated[
    str, BeforeValidator(_unit_text), Field(description="a unit, e.g. t/TJ, kt CO2e, 1")
]

Label = Annotated[str | int | float, Field(description="a label of a dimension")]
Number = int | float
Formula = Annotated[str, Field(description="a formula in the carbonc expression language")]


class Strict(BaseModel):
    """Base for every block: unknown keys are errors, field order is kept."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class ImportSpec(Strict):
    """Instantiate a method or model file under an alias, binding its declared inputs."""

    from_: str = Field(
        alias="from", description="`stdlib:path/to/method` or a relative `.carbon` path"
    )
    with_: dict[str, Formula | Number] = Field(
        default_factory=dict,
        alias="with",
        description="input name -> formula in the importer's scope",
    )
    description: str | None = None


class DimensionFromCsv(Strict):
    """A dimension whose labels are a column of a CSV file (unique, in order of first appearance)."""

    csv: str
    column: str
    description: str | None = None


class DimensionLike(Strict):
    """A dimension with another's labels, paired with it as its dual (rows and columns).

    ``region_to: {like: region}`` lets a matrix have dims ``[region, region_to]``; `@` contracts
    a matrix's dual dims with a vector's base dims, and ``transpose`` swaps the two.
    """

    like: str
    description: str | None = None


class DimensionLabels(Strict):
    """Labels with a rule for the program's other labels of the same name.

    ``gas: {labels: [CO2, CF4, C2F6], others: zero}`` in a method says it emits only these
    gases: when a model combines it with methods emitting others, its values for those are 0.
    """

    labels: list[Label] = Field(min_length=1)
    others: Literal["error", "zero"] = Field(
        default="error",
        description="zero: the program's labels this file does not list are structurally 0 here",
    )
    description: str | None = None


class DimensionFromCategories(Strict):
    """A dimension of category codes with their hierarchy, from the climate-categories package.

    ``{categorization: IPCC2006, codes: ["1.A.1", "2.A.1"]}`` has the codes given and every
    ancestor of them up to the root; without ``codes`` it has the whole categorization.
    """

    categorization: str = Field(description="e.g. IPCC2006, IPCC1996, CRF2013")
    codes: list[Label] | None = Field(
        default=None, description="the codes the model reports at (ancestors are added)"
    )
    description: str | None = None


class InputSpec(Strict):
    """An entry of a method's contract: what an importer must bind."""

    dims: list[str] = Field(default_factory=list)
    unit: UnitText = "1"
    description: str | None = None


class UncertaintySpec(Strict):
    """How uncertain an input is, when a single distribution string is not enough.

    A string ``uncertainty:`` is the same as ``{distribution: ...}``.
    """

    distribution: str | None = Field(
        default=None,
        description="`±5%` (a 95% interval), `-30%/+50%`, or a call such as `normal(sd=2 t)`, "
        "`lognormal(gsd=1.5)`, `triangular(low, mode, high)`, `uniform(low, high)`, "
        "`pert(low, mode, high)`, `dirichlet(concentration=100)`",
    )
    column: str | None = Field(
        default=None,
        description="per-row uncertainty: the CSV column holding each row's distribution",
    )
    samples: str | None = Field(
        default=None,
        description="an empirical distribution: a CSV file of draws (relative to this file)",
    )
    samples_column: str = Field(default="value", description="the column of draws in `samples`")
    source: str | None = Field(
        default=None,
        description="inputs naming the same source share one draw (fully correlated)",
    )
    truncate: bool | list[Number] | None = Field(
        default=None, description="`true` truncates to the `domain:`; `[low, high]` to bounds"
    )
    cite: str | None = None
    description: str | None = None


Uncertainty = str | UncertaintySpec
Domain = Literal["real", "nonnegative", "positive", "share"]


class DataSpec(Strict):
    """A named array read from CSV (long or wide) or given inline."""

    csv: str | None = Field(default=None, description="path relative to this file")
    values: Any = Field(
        default=None, description="inline values: a number, a list, or nested mappings by label"
    )
    dims: list[str] = Field(default_factory=list)
    unit: UnitText = "1"
    value: str = Field(default="value", description="long form: the column holding the numbers")
    wide: str | None = Field(
        default=None, description="wide form: the dimension spread across columns"
    )
    columns: dict[str, str] = Field(
        default_factory=dict, description="dimension -> CSV column, when they differ"
    )
    fill: Number | None = Field(
        default=None, description="value for label combinations the file omits"
    )
    mapping: bool = Field(
        default=False,
        description="a concordance: each row pairs labels (1 where listed, 0 elsewhere); no value column",
    )
    uncertainty: Uncertainty | None = None
    domain: Domain | None = Field(
        default=None, description="the values a quantity can take; sampled values must fit"
    )
    sums_to_one: str | None = Field(
        default=None, description="shares that sum to one over this dimension"
    )
    sparse: bool = Field(
        default=False,
        description="held sparse: only the cells that are not zero are stored (the exchange "
        "tables of a large LCA database); operations keep it sparse where they can",
    )
    description: str | None = None
    cite: str | None = None


class MrioSpec(Strict):
    """A multi-regional input-output table: a pymrio folder (txt or parquet) or CSV matrices.

    Its tables become ``NAME.Z``, ``NAME.Y``, ``NAME.F``, ``NAME.F_Y`` and ``NAME.population``,
    and it declares the dimensions ``region``, ``sector``, ``category`` and ``stressor`` with the
    duals ``region_to`` and ``sector_to``.
    """

    mrio: str = Field(description="folder, relative to this file")
    extension: str | None = Field(
        default=None, description="which satellite account gives F and F_Y"
    )
    unit: UnitText = Field(description="monetary unit of Z and Y, e.g. MEUR or MUSD")
    stressor_unit: UnitText = Field(default="1", description="unit of F and F_Y, e.g. kg or kt CO2")
    files: dict[str, str] = Field(
        default_factory=dict, description="CSV folders: table -> file name, e.g. {Z: wiot_Z.csv}"
    )
    split: str | None = Field(
        default=None,
        description="CSV folders with one label per row/column, e.g. `AUS_c1`: split at this separator into (region, sector)",
    )
    description: str | None = None
    cite: str | None = None


class ParameterSpec(Strict):
    """A named value with a unit: a scalar, or an array over dims given inline."""

    value: Formula | Number | None = None
    values: Any = None
    dims: list[str] = Field(default_factory=list)
    unit: UnitText = "1"
    uncertainty: Uncertainty | None = None
    domain: Domain | None = Field(
        default=None, description="the values a quantity can take; sampled values must fit"
    )
    sums_to_one: str | None = Field(
        default=None, description="shares that sum to one over this dimension"
    )
    description: str | None = None
    cite: str | None = None


class ChoiceSpec(Strict):
    """A methodology switch: one of a fixed set of values, with a default, set per run."""

    one_of: list[str] = Field(min_length=1)
    default: str
    description: str | None = None
    cite: str | None = None


class RuleSpec(Strict):
    """A named formula, optionally with a declared unit (converted to) and dims (checked)."""

    expr: Formula
    unit: UnitText | None = None
    dims: list[str] | None = None
    description: str | None = None
    cite: str | None = None


class OverrideSpec(Strict):
    """Replace an existing definition; ``super`` refers to the replaced one."""

    expr: Formula
    because: str = Field(min_length=1, description="why; recorded in every result's provenance")
    unit: UnitText | None = None


class AssertSpec(Strict):
    """An identity that must hold, e.g. ``a == b within 1e-9``."""

    expr: Formula
    within: Number | str | None = Field(
        default=None, description="relative tolerance, or an absolute quantity"
    )
    message: str | None = None


Amount = Annotated[
    Formula | Number, Field(description="an amount with its unit, e.g. `120 t`, or a formula")
]


class ProcessSpec(Strict):
    """A unit process of a life cycle model: what it delivers, consumes and emits per run.

    The first of ``products`` is the reference product. Amounts are formulas over parameters
    (parameterised LCA); a bare number is in the product's own unit.
    """

    products: dict[str, Amount] = Field(min_length=1)
    inputs: dict[str, Amount] = Field(default_factory=dict)
    emissions: dict[str, Amount] = Field(
        default_factory=dict, description="elementary flows, e.g. `{CO2: 1.8 t}` (removals < 0)"
    )
    stage: str | None = Field(default=None, description="life-cycle stage, e.g. production")
    description: str | None = None
    cite: str | None = None


class CorrelationSpec(Strict):
    """Inputs whose draws are correlated (a Gaussian copula on their normal scores)."""

    inputs: list[str] = Field(min_length=2)
    matrix: list[list[Number]] | None = Field(
        default=None, description="the correlation matrix, in the order of `inputs`"
    )
    rho: Number | None = Field(default=None, description="one correlation for every pair")
    cite: str | None = None
    description: str | None = None


class ModelFile(Strict):
    """A ``.carbon`` file: a model, or a method meant to be imported."""

    carbon: int = Field(description="language version; this release reads version 1")
    model: str
    description: str | None = None
    cite: str | list[str] | None = None
    extends: str | None = None
    import_: dict[str, str | ImportSpec] = Field(default_factory=dict, alias="import")
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    dimensions: dict[
        str,
        list[Label] | DimensionLabels | DimensionFromCsv | DimensionLike | DimensionFromCategories,
    ] = Field(default_factory=dict)
    data: dict[str, DataSpec | MrioSpec] = Field(default_factory=dict)
    parameters: dict[str, Formula | Number | ParameterSpec] = Field(default_factory=dict)
    choices: dict[str, ChoiceSpec] = Field(default_factory=dict)
    rules: dict[str, Formula | RuleSpec] = Field(default_factory=dict)
    override: dict[str, OverrideSpec] = Field(default_factory=dict)
    assert_: list[Formula | AssertSpec] = Field(default_factory=list, alias="assert")
    outputs: list[str] = Field(default_factory=list)
    correlations: list[CorrelationSpec] = Field(default_factory=list)
    processes: dict[str, ProcessSpec] = Field(
        default_factory=dict,
        description="unit processes; they become `processes.technosphere_in`, "
        "`processes.technosphere_out`, `processes.reference` and `processes.biosphere`",
    )


LANGUAGE_VERSION = 1


def json_schema() -> str:
    """The JSON Schema of a ``.carbon`` file, for editors."""
    schema: dict[str, Any] = ModelFile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "carbonc model file (.carbon)"
    return json.dumps(schema, indent=2)
