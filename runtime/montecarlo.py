"""IPCC Approach 2: Monte Carlo with the samples as one array axis, in memory-bounded chunks.

The model runs once per chunk, not once per sample: every uncertain input gets a leading
sample axis, and every op (linear solves included, as extra right-hand sides for the same
factors) carries it along. Factors of matrices that are not uncertain are computed once and
shared by all chunks. Each output's samples are kept in memory, or in a temporary file when
they would not fit the budget, and summarised at the end.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from .executor import Executor
from .larray import LArray
from .sampling import Plan

DEFAULT_BUDGET = 1 << 30  # bytes; `--memory-budget` changes it
STAT_NAMES = ("mean", "sd", "median", "p2.5", "p97.5")


@dataclass
class SampleStore:
    """Every sample of every output: in memory, or memory-mapped from a temporary folder."""

    arrays: dict[str, np.ndarray]
    folder: Path | None = None

    @classmethod
    def create(cls, shapes: Mapping[str, tuple[int, ...]], n: int, budget: int) -> SampleStore:
        """Room for ``n`` samples of each output; on disk when that exceeds half the budget."""
        need = sum(8 * n * int(np.prod(s, dtype=np.int64)) for s in shapes.values())
        if need <= budget // 2:
            return cls({q: np.empty((n, *s)) for q, s in shapes.items()})
        folder = Path(tempfile.mkdtemp(prefix="carbonc-samples-"))
        store = cls(
            {
                q: np.lib.format.open_memmap(folder / f"{i}.npy", "w+", float, (n, *s))
                for i, (q, s) in enumerate(shapes.items())
            },
            folder,
        )
        weakref.finalize(store, shutil.rmtree, folder, True)
        return store


class Design(Protocol):
    """Where a run's input values come from: random draws, or a fixed design."""

    plans: dict[str, Plan]
    seed: int

    def draw(self, n: int) -> dict[str, LArray]:
        """The next ``n`` rows of every uncertain input, with a leading sample axis."""
        ...


@dataclass
class MonteCarlo:
    """The outcome of a Monte Carlo run."""

    samples: SampleStore
    stats: dict[str, dict[str, np.ndarray]]
    n: int
    seed: int
    chunk: int


def summarise(x: np.ndarray, block_bytes: int = 64 << 20) -> dict[str, np.ndarray]:
    """Mean, standard deviation, median and the 95% interval over axis 0, a block at a time."""
    n = x.shape[0]
    flat = x.reshape(n, -1)
    out = {k: np.empty(flat.shape[1]) for k in STAT_NAMES}
    step = max(1, block_bytes // max(1, 8 * n))
    for j in range(0, flat.shape[1], step):
        block = np.asarray(flat[:, j : j + step], dtype=float)
        # Moments of the deviations from the first sample: exact zeros for a value no input
        # moves, and no cancellation for a small spread around a large value.
        dev = block - block[:1]
        out["mean"][j : j + step] = block[0] + dev.mean(axis=0)
        out["sd"][j : j + step] = dev.std(axis=0, ddof=1) if n > 1 else 0.0
        q = np.percentile(block, [50.0, 2.5, 97.5], axis=0)
        out["median"][j : j + step], out["p2.5"][j : j + step], out["p97.5"][j : j + step] = q
    return {k: v.reshape(x.shape[1:]) for k, v in out.items()}


def chunk_size(per_sample_bytes: int, n: int, budget: int) -> int:
    """Samples per chunk so that one chunk's arrays (with temporaries) fit the budget."""
    return int(max(1, min(n, budget // max(1, 3 * per_sample_bytes))))


def run_monte_carlo(
    make_executor: Callable[[Mapping[str, LArray]], Executor],
    base: Mapping[str, LArray],
    sampler: Design,
    roots: set[str],
    names: list[str],
    n: int,
    budget: int,
    check: Callable[[Executor, int], None] | None = None,
    summary: bool = True,
) -> MonteCarlo:
    """Run ``n`` samples in chunks and summarise every output in ``names``.

    Args:
        make_executor: builds an executor over the given data; executors it builds share the
            factors of matrices that are not uncertain.
        base: the run's data with nominal values.
        sampler: draws the uncertain inputs.
        roots: what each chunk computes (outputs and what assertions read).
        names: the outputs to keep samples of.
        n: the number of samples.
        budget: bytes one chunk may use.
        check: evaluates assertions on a chunk (given its first sample's number).
        summary: summarise each output's samples (otherwise ``stats`` is empty).
    """
    probe = make_executor(dict(base))
    need = probe.needed(roots)
    probe.sampled = set(sampler.plans)
    probe.mark_sampled(need)
    sizes = {q: probe.cells(q) for q in need}
    per_sample = 8 * sum(sizes[q] for q in probe.sampled & need)
    per_sample += 8 * sum(sizes[q] for q in names)
    chunk = chunk_size(per_sample, n, budget)
    shapes = {q: tuple(len(probe.labels[d]) for d in probe.ir[q].dims) for q in names}
    store = SampleStore.create(shapes, n, budget)
    for start in range(0, n, chunk):
        k = min(chunk, n - start)
        data = {**base, **sampler.draw(k)}
        ex = make_executor(data)
        values = ex.run(roots)
        for q in names:
            v = values[q]
            target = store.arrays[q][start : start + k]
            target[...] = v.aligned(ex.ir[q].dims) if v.sampled else v.values
        if check is not None:
            check(ex, start)
        del ex, values, data
    stats = {q: summarise(store.arrays[q]) for q in names} if summary else {}
    return MonteCarlo(store, stats, n, sampler.seed, chunk)


def _size(ex: Executor, dims: tuple[str, ...]) -> int:
    return int(np.prod([len(ex.labels[d]) for d in dims], dtype=np.int64)) if dims else 1
