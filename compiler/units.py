"""Units: pint through openscm-units, so greenhouse gases are distinct (``t CH4`` is not ``t CO2``).

Unit algebra happens at compile time only; the runtime sees plain scale factors. Every
operation is cached because generated models repeat the same few units many times.
"""

from __future__ import annotations

import contextlib
import re
from functools import lru_cache
from typing import Any

import pint
from openscm_units import unit_registry as ureg

Unit = Any  # pint.Unit; pint's own stubs are too loose to be useful here

for _definition in (
    "CO2e = CO2",
    "CO2eq = CO2",
    "CO2_eq = CO2",
    "EUR = [currency_EUR]",
    "USD = [currency_USD]",
    "GBP = [currency_GBP]",
    "CNY = [currency_CNY]",
    "JPY = [currency_JPY]",
    "capita = [population] = cap = person",
    # Counted things (a turbine, a module, an inverter) are amounts of products in LCA.
    "piece = [piece] = pcs = unit_count",
):
    with contextlib.suppress(pint.errors.RedefinitionError):  # a second import in one process
        ureg.define(_definition)

DIMENSIONLESS: Unit = ureg.dimensionless


class UnitError(ValueError):
    """A unit that cannot be parsed, or an operation between incompatible units."""


_UNIT_TEXT = re.compile(r"^[A-Za-z0-9_%µ°\s/*^.()-]*$")


@lru_cache(maxsize=4096)
def parse_unit(text: str | None) -> Unit:
    """Parse a unit string such as ``t/TJ``, ``kt CO2e``, ``%`` or ``1``.

    Raises:
        UnitError: the text is not a unit, naming the unknown part.
    """
    if text is None or not str(text).strip() or str(text).strip() == "1":
        return DIMENSIONLESS
    text = str(text).strip()
    if not _UNIT_TEXT.match(text):
        raise UnitError(f"`{text}` is not a unit")
    if "/" in text and "(" not in text:
        # `t CO2e/t CH4` means (t CO2e)/(t CH4), as written on emission-factor tables.
        text_for_pint = "/".join(f"({part.strip()})" for part in text.split("/"))
    else:
        text_for_pint = text
    try:
        parsed = ureg.parse_units(text_for_pint.replace("%", " percent "))
    except pint.errors.UndefinedUnitError as exc:
        raise UnitError(
            f"unknown unit `{exc.unit_names if isinstance(exc.unit_names, str) else exc.unit_names[0]}` in `{text}`"
        ) from None
    except Exception:  # pint raises many kinds (tokenize, arithmetic, overflow) on bad input
        raise UnitError(f"`{text}` is not a valid unit expression") from None
    try:
        _clean(1.0 * parsed)  # offset units (degC) and absurd powers fail here, not later
    except Exception:
        raise UnitError(
            f"`{text}` cannot be used in arithmetic (offset or out-of-range unit)"
        ) from None
    return parsed


def _clean(q: Any) -> tuple[Unit, float]:
    """Reduce same-dimension units (kg/TJ·GJ -> kg) and fold dimensionless scales (%) into the factor."""
    if q.dimensionless:
        return DIMENSIONLESS, float(q.to(DIMENSIONLESS).magnitude)
    q = q.to_reduced_units()
    factor = float(q.magnitude)
    units = q.units
    for name, power in list(units._units.items()):
        one = ureg.Unit(name)
        if one.dimensionless:
            factor *= float((1 * one).to(DIMENSIONLESS).magnitude) ** power
            units = units / one**power
    return units, factor


@lru_cache(maxsize=16384)
def multiply(a: Unit, b: Unit) -> tuple[Unit, float]:
    """The unit of ``a * b`` and the scale factor the values need."""
    try:
        return _clean(1.0 * a * b)
    except Exception:
        raise UnitError(f"cannot combine {fmt(a)} and {fmt(b)}") from None


@lru_cache(maxsize=16384)
def divide(a: Unit, b: Unit) -> tuple[Unit, float]:
    """The unit of ``a / b`` and the scale factor the values need."""
    try:
        return _clean(1.0 * a / b)
    except Exception:
        raise UnitError(f"cannot combine {fmt(a)} and {fmt(b)}") from None


@lru_cache(maxsize=16384)
def power(a: Unit, exponent: float) -> Unit:
    """The unit of ``a ** exponent``."""
    try:
        out = a**exponent
        _clean(1.0 * out)
    except Exception:
        raise UnitError(f"cannot raise {fmt(a)} to the power {exponent:g}") from None
    return out


@lru_cache(maxsize=16384)
def conversion(source: Unit, target: Unit) -> float:
    """The factor that converts values in ``source`` to ``target``.

    Raises:
        UnitError: the units measure different things.
    """
    if source == target:
        return 1.0
    try:
        return float((1.0 * source).to(target).magnitude)
    except Exception:
        raise UnitError(f"cannot convert {fmt(source)} to {fmt(target)}") from None


def compatible(a: Unit, b: Unit) -> bool:
    """Whether values in ``a`` and ``b`` can be added or compared."""
    try:
        conversion(b, a)
    except UnitError:
        return False
    return True


@lru_cache(maxsize=16384)
def fmt(unit: Unit) -> str:
    """A short, readable symbol: ``t/TJ``, ``kt CO2e``, ``t CO2e/t``, ``1`` for dimensionless."""
    if unit == DIMENSIONLESS:
        return "1"
    items = list(unit._units.items())
    if len(items) == 1 and items[0][1] == 1 and _is_species(items[0][0]):
        # `t CO2e/t` cancels to a bare species in pint; show the mass ratio it stands for.
        sym = ureg.get_symbol(items[0][0])
        return f"kg {sym}/kg"
    num: list[tuple[int, str]] = []
    den: list[tuple[int, str]] = []
    for name, p in unit._units.items():
        sym = ureg.get_symbol(name)
        # Gas species read after the quantity: `t CO2e`, not `CO2e t`.
        order = 1 if ureg.Unit(name).dimensionality.keys() - _PHYSICAL else 0
        if p > 0:
            num.append((order, sym if p == 1 else f"{sym}^{_exp(p)}"))
        else:
            den.append((order, sym if p == -1 else f"{sym}^{_exp(-p)}"))
    top = " ".join(s for _, s in sorted(num, key=lambda t: t[0])) or "1"
    if not den:
        return top
    bottom = " ".join(s for _, s in sorted(den, key=lambda t: t[0]))
    return f"{top}/{bottom}" if len(den) == 1 else f"{top}/({bottom})"


def _is_species(name: str) -> bool:
    """Whether a unit is a greenhouse-gas species of openscm-units (not a currency or people)."""
    extra = ureg.Unit(name).dimensionality.keys() - _PHYSICAL
    return bool(extra) and not any(k.startswith(("[currency", "[population")) for k in extra)


_PHYSICAL = {
    "[mass]",
    "[length]",
    "[time]",
    "[current]",
    "[temperature]",
    "[substance]",
    "[luminosity]",
}


def _exp(p: float) -> str:
    return str(int(p)) if float(p).is_integer() else f"{p:g}"


_KINDS = (
    ("kg", "a mass"),
    ("J", "an energy"),
    ("W", "a power"),
    ("m^3", "a volume"),
    ("m^2", "an area"),
    ("m", "a length"),
    ("s", "a time"),
    ("t/TJ", "a mass per energy (an emission factor)"),
)


@lru_cache(maxsize=1024)
def describe_dimension(unit: Unit) -> str:
    """What ``unit`` measures, in words where common (``an energy``), else its pint dimensionality."""
    dim = unit.dimensionality
    if not dim:
        return "a plain number"
    for ref, words in _KINDS:
        if ureg.Unit(ref).dimensionality == dim:
            return words
    extra = [k.strip("[]") for k in dim if k not in _PHYSICAL]
    if (
        len(extra) == 1
        and dim[f"[{extra[0]}]"] == 1
        and dict(dim) == {"[mass]": 1, f"[{extra[0]}]": 1}
    ):
        return f"a mass of {extra[0]}"
    if len(extra) == 1 and extra[0].startswith("currency_"):
        return f"an amount of {extra[0].removeprefix('currency_')}"
    return f"`{dim}`"
