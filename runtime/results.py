"""Run results: labelled arrays with units and provenance, convertible to pandas."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .larray import LArray


@dataclass(frozen=True)
class Result:
    """One output: values over named dims, with the dims' labels and the unit."""

    name: str
    array: LArray
    labels: Mapping[str, tuple[str, ...]]
    unit: str
    description: str | None = None
    stats: Mapping[str, np.ndarray] | None = None  # mean, sd, median, p2.5, p97.5 …

    @property
    def dims(self) -> tuple[str, ...]:
        """The dimension names, in axis order."""
        return self.array.dims

    @property
    def values(self) -> np.ndarray:
        """The raw numbers."""
        return self.array.values

    def item(self) -> float:
        """The value of a scalar result."""
        return self.array.scalar()

    def rows(self) -> Iterator[tuple[tuple[str, ...], Any]]:
        """(labels, value) pairs in row-major order."""
        if not self.dims:
            yield (), self.values.item()
            return
        for idx in np.ndindex(*self.values.shape):
            yield (
                tuple(self.labels[d][i] for d, i in zip(self.dims, idx, strict=True)),
                self.values[idx].item(),
            )

    def to_pandas(self) -> pd.DataFrame:
        """A tidy frame: one column per dimension, then ``value`` and ``unit``."""
        if self.dims:
            index = pd.MultiIndex.from_product(
                [list(self.labels[d]) for d in self.dims], names=list(self.dims)
            )
            frame = pd.DataFrame({"value": self.values.reshape(-1)}, index=index).reset_index()
        else:
            frame = pd.DataFrame({"value": [self.values.item()]})
        frame["unit"] = self.unit
        return frame

    def __getitem__(self, labels: str | tuple[str, ...]) -> float:
        """The value at the given labels, e.g. ``result["CO2"]`` or ``result["coal", "CH4"]``."""
        key = (labels,) if isinstance(labels, str) else labels
        idx = tuple(self.labels[d].index(lab) for d, lab in zip(self.dims, key, strict=True))
        return float(self.values[idx])


@dataclass
class Results:
    """Everything a run produced: outputs by name, assertion outcomes and provenance."""

    outputs: dict[str, Result]
    provenance: dict[str, Any]
    asserts: list[dict[str, Any]] = field(default_factory=list)
    samples: Mapping[str, np.ndarray] | None = None  # per output: (samples, *dims), if kept
    keepalive: object = None  # owns the temporary files behind memory-mapped samples

    def __getitem__(self, name: str) -> Result:
        return self.outputs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.outputs)

    def __len__(self) -> int:
        return len(self.outputs)

    def to_pandas(self) -> dict[str, pd.DataFrame]:
        """Each output as a tidy pandas frame."""
        return {name: r.to_pandas() for name, r in self.outputs.items()}
