"""Streaming drift statistics with bounded memory, and the per-feature tests.

Per model version the window is summarised in two fixed-size structures, whatever its length:
- a uniform reservoir of ``reservoir_size`` rows (Vitter's algorithm R, vectorised per chunk),
  which the two-sample Kolmogorov-Smirnov test reads;
- per feature, counts over ten bins cut at the baseline's deciles, exact over the whole window,
  from which the population stability index (PSI) is computed.
Rows are buffered in chunks of ``CHUNK_ROWS`` and folded in with numpy, so Python does a little
work per record and numpy the per-feature work.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

CHUNK_ROWS = 512
PSI_BINS = 10
_PSI_FLOOR = 1e-4  # empty bins would make PSI infinite; this is the usual smoothing


class Reservoir:
    """A uniform sample of at most ``size`` rows of ``width`` columns from a stream."""

    def __init__(self, size: int, width: int, rng: np.random.Generator) -> None:
        self.rows = np.empty((size, width))
        self.seen = 0
        self._rng = rng

    def add(self, chunk: np.ndarray) -> None:
        size = len(self.rows)
        fill = max(0, min(size - self.seen, len(chunk)))
        if fill:
            self.rows[self.seen : self.seen + fill] = chunk[:fill]
        rest = chunk[fill:]
        if len(rest):
            # Row i of the stream (0-based) replaces slot j ~ U[0, i] when j < size; numpy
            # applies repeated slots in order, so the last row wins, as in the sequential loop.
            positions = self.seen + fill + np.arange(len(rest))
            slots = (self._rng.random(len(rest)) * (positions + 1)).astype(np.int64)
            keep = slots < size
            self.rows[slots[keep]] = rest[keep]
        self.seen += len(chunk)

    def sample(self) -> np.ndarray:
        return self.rows[: min(self.seen, len(self.rows))]


@dataclass(frozen=True)
class Baseline:
    """A model version's reference data: feature names and a bounded sample of rows."""

    features: tuple[str, ...]
    sample: np.ndarray  # (rows, features)

    def bin_edges(self) -> list[np.ndarray]:
        """Interior PSI bin edges per feature: the baseline's deciles, duplicates merged."""
        quantiles = np.linspace(0, 1, PSI_BINS + 1)[1:-1]
        return [np.unique(np.quantile(column, quantiles)) for column in self.sample.T]


class WindowSummary:
    """What the job keeps of one model version's window: a reservoir, bin counts, a row count."""

    def __init__(self, baseline: Baseline, reservoir_size: int, rng: np.random.Generator) -> None:
        self.baseline = baseline
        self.reservoir = Reservoir(reservoir_size, len(baseline.features), rng)
        self.edges = baseline.bin_edges()
        self.counts = [np.zeros(len(edges) + 1, dtype=np.int64) for edges in self.edges]
        self._pending: list[list[float]] = []

    @property
    def rows(self) -> int:
        return self.reservoir.seen + len(self._pending)

    def add(self, row: list[float]) -> None:
        self._pending.append(row)
        if len(self._pending) >= CHUNK_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        chunk = np.asarray(self._pending, dtype=float)
        self._pending = []
        self.reservoir.add(chunk)
        for column, edges, counts in zip(chunk.T, self.edges, self.counts, strict=True):
            counts += np.bincount(
                np.searchsorted(edges, column, side="right"), minlength=len(counts)
            )


@dataclass(frozen=True)
class FeatureResult:
    name: str
    ks_statistic: float
    p_value: float
    psi: float
    drifted: bool


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two count vectors over the same bins."""
    e = np.maximum(expected / max(expected.sum(), 1), _PSI_FLOOR)
    a = np.maximum(actual / max(actual.sum(), 1), _PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def compare(summary: WindowSummary, method: str, threshold: float) -> list[FeatureResult]:
    """Each feature's KS and PSI against the baseline, and whether it drifted.

    ``ks``: drifted when the p-value is below ``threshold / features`` (Bonferroni), so
    ``threshold`` bounds the chance that an undrifted model raises any alarm in a window.
    ``psi``: drifted when PSI reaches ``threshold`` (0.1 moderate, 0.2 significant by custom).
    """
    summary.flush()
    window = summary.reservoir.sample()
    baseline = summary.baseline
    per_feature_alpha = threshold / len(baseline.features)
    results = []
    for index, name in enumerate(baseline.features):
        # "asymp": the exact distribution is quadratic in sample size, and at these sizes the
        # asymptotic p-value is accurate (scipy.stats.ks_2samp docs).
        test = stats.ks_2samp(baseline.sample[:, index], window[:, index], method="asymp")
        expected = np.bincount(
            np.searchsorted(summary.edges[index], baseline.sample[:, index], side="right"),
            minlength=len(summary.counts[index]),
        )
        score = psi(expected, summary.counts[index])
        drifted = test.pvalue < per_feature_alpha if method == "ks" else score >= threshold
        results.append(
            FeatureResult(name, float(test.statistic), float(test.pvalue), score, bool(drifted))
        )
    return results
