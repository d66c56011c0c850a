"""Agreement coefficients over rated items: percent agreement, Cohen's κ, Fleiss' κ, Krippendorff's alpha.

Items come grouped: a `Patterns` counter maps each distinct row of values (one value, or None, per rater)
to how many items have it, so the database sends one row per pattern however many items there are. A
`Table` holds the patterns as arrays (each value's code, the scores, each pattern's weight) and every sum
here is weighted by the patterns' weights, in numpy: scores make nearly every item a pattern of its own.

Each coefficient is a function of sums over the items. That makes the confidence interval cheap: a
jackknife over items (leave one item out, recompute; Efron & Tibshirani ch. 11, as Fleiss & Davies 1982
did for κ). Leaving an item out subtracts its terms from the sums, so every item's leave-one-out value is
one array expression, and items of one pattern share it. The interval is the estimate ± 1.96 jackknife
standard errors, held within [-1, 1]: deterministic, no seed, and exact for the coefficients it rests on.
It needs at least two items; a coefficient that is undefined without one of them (no variation left) has
no interval.
"""

from __future__ import annotations

import enum
import math
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from itertools import chain, combinations

import numpy as np

Value = str | float
Pattern = tuple[Value | None, ...]
Patterns = Counter[Pattern]

# The normal quantile of a two-sided 95% interval.
Z_95 = 1.959963984540054


class Level(enum.StrEnum):
    """How values compare: nominal labels agree or not; interval scores differ by their squared distance."""

    NOMINAL = "nominal"
    INTERVAL = "interval"


@dataclass(frozen=True)
class Estimate:
    """A coefficient, the number of items it rests on and its 95% jackknife interval (None when undefined)."""

    value: float | None
    items: int
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True, eq=False)
class Table:
    """Patterns as arrays, a row per pattern and a column per rater.

    `codes` numbers each of the `distinct` values (0 to distinct - 1, -1 for no value), which is all that
    nominal comparisons need; `scores` holds the values themselves (NaN for none) when they are numbers.
    """

    codes: np.ndarray
    weights: np.ndarray
    distinct: int
    scores: np.ndarray | None

    @classmethod
    def of(cls, patterns: Patterns) -> Table:
        keys = list(patterns)
        width = len(keys[0]) if keys else 0
        weights = np.fromiter(patterns.values(), dtype=np.float64, count=len(keys))
        first = next((value for key in keys for value in key if value is not None), None)
        if isinstance(first, str):
            labels = sorted(set(chain.from_iterable(keys)) - {None}, key=str)
            index: dict[Value | None, int] = {None: -1, **{label: i for i, label in enumerate(labels)}}
            flat = np.fromiter(map(index.__getitem__, chain.from_iterable(keys)), dtype=np.int64)
            return cls(flat.reshape(len(keys), width), weights, len(labels), None)
        scores = np.array(keys, dtype=np.float64).reshape(len(keys), width)
        present = ~np.isnan(scores)
        distinct, inverse = np.unique(scores[present], return_inverse=True)
        codes = np.full(scores.shape, -1, dtype=np.int64)
        codes[present] = inverse
        return cls(codes, weights, len(distinct), scores)

    @property
    def width(self) -> int:
        return self.codes.shape[1]

    @cached_property
    def pairable(self) -> Table:
        """The patterns with at least two values: the only ones a coefficient can compare."""
        return self.rows((self.codes >= 0).sum(axis=1) >= 2)

    @cached_property
    def counts(self) -> _Counts:
        return _counts(self)

    def rows(self, keep: np.ndarray, columns: list[int] | None = None) -> Table:
        """The patterns `keep` marks, with these raters' columns (all when None)."""
        at = np.ix_(keep, columns if columns is not None else range(self.width))
        return Table(
            self.codes[at],
            self.weights[keep],
            self.distinct,
            None if self.scores is None else self.scores[at],
        )


def _jackknife(value: float | None, thetas: np.ndarray, weights: np.ndarray) -> Estimate:
    """`value` with the interval from `thetas`, each item's leave-one-out value (NaN: undefined), where
    `weights` items share each."""
    items = round(float(weights.sum()))
    if value is None or not math.isfinite(value):
        return Estimate(None, items)
    if items < 2 or not np.isfinite(thetas).all():
        return Estimate(value, items)
    mean = _dot(weights, thetas) / items
    variance = (items - 1) / items * _dot(weights, (thetas - mean) ** 2)
    half = Z_95 * math.sqrt(variance)
    return Estimate(value, items, max(-1.0, value - half), min(1.0, value + half))


def _dot(first: np.ndarray, second: np.ndarray) -> float:
    """Σ first·second, in this thread: BLAS's dot spreads long vectors over threads, which on a busy server
    costs more CPU than it saves (einsum without `optimize` is numpy's own loop)."""
    return float(np.einsum("i,i->", first, second))


def _ratio(numerator: np.ndarray | float, denominator: np.ndarray | float) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is zero."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator != 0, np.divide(numerator, denominator), np.nan)


def _first(values: np.ndarray) -> float | None:
    value = float(values.flat[0])
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class _Counts:
    """Of the pairable patterns: values per item (m), ordered pairs of raters who agree, and the terms
    that leaving an item out takes from the sum of squared category totals: the item's own squared
    category counts, and its values' category totals summed."""

    m: np.ndarray
    agreeing: np.ndarray
    squares: np.ndarray
    cross: np.ndarray
    category_squares: float


def _counts(table: Table) -> _Counts:
    codes, weights = table.codes, table.weights
    present = codes >= 0
    m = present.sum(axis=1).astype(np.float64)
    agreeing = np.zeros(len(codes))
    if 2 * table.distinct < table.width * (table.width - 1):
        # Fewer values than pairs of raters (labels): the items' count of each value, n · (n - 1) pairs.
        for code in range(table.distinct):
            same = (codes == code).sum(axis=1)
            agreeing += same * (same - 1)
    else:
        for first, second in combinations(range(table.width), 2):
            agreeing += 2 * ((codes[:, first] == codes[:, second]) & present[:, first])
    # Each value's items over the table (cell 0: no value, which counts for nothing).
    shifted = codes + 1
    every = np.broadcast_to(weights[:, None], codes.shape)
    totals = np.bincount(shifted.ravel(), weights=every.ravel(), minlength=table.distinct + 1)
    totals[0] = 0.0
    cross = totals[shifted].sum(axis=1)
    return _Counts(m, agreeing, m + agreeing, cross, _dot(totals, totals))


def percent_agreement(table: Table) -> Estimate:
    """The mean, over items with at least two values, of the share of their pairs of raters who agree."""
    table = table.pairable
    counts, weights = table.counts, table.weights
    share = counts.agreeing / (counts.m * (counts.m - 1))
    items, agreeing = weights.sum(), _dot(weights, share)
    return _jackknife(_first(_ratio(agreeing, items)), _ratio(agreeing - share, items - 1), weights)


def fleiss_kappa(table: Table) -> Estimate:
    """Fleiss' κ (1971) over items with at least two values.

    Where items have different numbers of raters, each item's agreement is its share of agreeing pairs and
    the chance agreement comes from the category shares of all values pooled: with the same number of raters
    on every item this is Fleiss' formula exactly.
    """
    table = table.pairable
    counts, weights = table.counts, table.weights
    share = counts.agreeing / (counts.m * (counts.m - 1))

    def kappa(items: np.ndarray, agreeing: np.ndarray, values: np.ndarray, squares: np.ndarray) -> np.ndarray:
        chance = _ratio(squares, values * values)
        kappa = _ratio(_ratio(agreeing, items) - chance, 1.0 - chance)
        return np.where(chance < 1.0, kappa, np.nan)

    items, agreeing, values = weights.sum(), _dot(weights, share), _dot(weights, counts.m)
    squares = counts.category_squares
    value = kappa(np.array([items]), np.array([agreeing]), np.array([values]), np.array([squares]))
    thetas = kappa(
        items - 1.0,
        agreeing - share,
        values - counts.m,
        squares - 2 * counts.cross + counts.squares,
    )
    return _jackknife(_first(value), thetas, weights)


def krippendorff_alpha(table: Table, level: Level) -> Estimate:
    """Krippendorff's alpha (Computing Krippendorff's Alpha-Reliability, 2011) over the pairable items: those
    with at least two values; missing values are simply absent from an item.

    alpha = 1 - (n - 1) · Σ_u D_u / E, where n is the number of pairable values, D_u the sum over ordered
    pairs of values in item u of their squared difference (1 for different labels, nominal) divided by
    m_u - 1, and E the same sum over all ordered pairs of the n values.
    """
    if level == Level.NOMINAL:
        return _alpha_nominal(table.pairable)
    return _alpha_interval(table.pairable)


def _alpha(n: np.ndarray, within: np.ndarray, expected: np.ndarray, defined: np.ndarray) -> np.ndarray:
    return np.where(defined, 1.0 - (n - 1) * _ratio(within, np.where(defined, expected, 1.0)), np.nan)


def _alpha_nominal(table: Table) -> Estimate:
    counts, weights = table.counts, table.weights
    within_item = (counts.m * counts.m - counts.squares) / (counts.m - 1)
    n, within = np.array([_dot(weights, counts.m)]), np.array([_dot(weights, within_item)])
    expected = n * n - counts.category_squares
    n_out = n - counts.m
    expected_out = n_out * n_out - (counts.category_squares - 2 * counts.cross + counts.squares)
    value = _alpha(n, within, expected, expected > 0)
    thetas = _alpha(n_out, within - within_item, expected_out, expected_out > 0)
    return _jackknife(_first(value), thetas, weights)


def _alpha_interval(table: Table) -> Estimate:
    weights, scores = table.weights, table.scores
    if scores is None:
        raise ValueError("Interval alpha compares numbers; these values are labels.")
    present = table.codes >= 0
    m = present.sum(axis=1).astype(np.float64)
    total = np.where(present, scores, 0.0).sum(axis=1)
    squares = np.where(present, scores * scores, 0.0).sum(axis=1)
    # The squared differences of every pair, m·Σv² - (Σv)², without listing the pairs; never below 0.
    within_item = np.maximum(0.0, m * squares - total * total) * 2 / (m - 1)

    def alpha(n: np.ndarray, within: np.ndarray, total: np.ndarray, squares: np.ndarray) -> np.ndarray:
        expected = 2 * n * squares - 2 * total * total
        # Below a rounding error of the sums, all values are equal: alpha is undefined, not huge.
        return _alpha(n, within, expected, expected > 1e-9 * np.maximum(1.0, np.abs(2 * n * squares)))

    sums = [np.array([_dot(weights, part)]) for part in (m, within_item, total, squares)]
    value = alpha(*sums)
    thetas = alpha(
        *(whole - part for whole, part in zip(sums, (m, within_item, total, squares), strict=True))
    )
    return _jackknife(_first(value), thetas, weights)


def cohen_kappa(table: Table) -> Estimate:
    """Cohen's κ (1960) of two raters (a table's two columns) over the items both rated."""
    if not len(table.codes):
        return Estimate(None, 0)
    return _cohen(table, 0, 1)


# Up to this many cells a pair's table of labels is counted densely; beyond, only its cells that hold items.
DENSE_CELLS = 1 << 16


def _cohen(table: Table, first: int, second: int) -> Estimate:
    """Cohen's κ of the raters at two positions of the table."""
    a, b = table.codes[:, first], table.codes[:, second]
    both = (a >= 0) & (b >= 0)
    size = table.distinct
    keys, weights = a[both] * size + b[both], table.weights[both]
    # The cells of the first's x the second's values that hold items, and how many.
    if size * size <= DENSE_CELLS:
        dense = np.bincount(keys, weights=weights, minlength=size * size)
        cells = np.flatnonzero(dense)
        counts = dense[cells]
    else:
        cells, inverse = np.unique(keys, return_inverse=True)
        counts = np.bincount(inverse.ravel(), weights=weights, minlength=len(cells))
    row, column = cells // size, cells % size
    rows = np.bincount(row, weights=counts, minlength=size)
    columns = np.bincount(column, weights=counts, minlength=size)
    diagonal = (row == column).astype(np.float64)

    def kappa(items: np.ndarray, observed: np.ndarray, products: np.ndarray) -> np.ndarray:
        chance = _ratio(products, items * items)
        return np.where(chance < 1.0, _ratio(_ratio(observed, items) - chance, 1.0 - chance), np.nan)

    items, observed, products = counts.sum(), _dot(counts, diagonal), _dot(rows, columns)
    value = kappa(np.array([items]), np.array([observed]), np.array([products]))
    # Leaving out an item of cell (i, j) takes one from row i and column j: Σ row·column loses column i and
    # row j, and gains back 1 when i = j (the cell counted in both).
    thetas = kappa(items - 1.0, observed - diagonal, products - columns[row] - rows[column] + diagonal)
    return _jackknife(_first(value), thetas, counts)


def pair_patterns(table: Table, first: int, second: int) -> Table:
    """The items two raters (by position) both rated, as a two-column table."""
    both = (table.codes[:, first] >= 0) & (table.codes[:, second] >= 0)
    return table.rows(both, [first, second])


def pairwise(table: Table, level: Level) -> dict[tuple[int, int], Estimate]:
    """Each pair of raters (by position, first < second): Cohen's κ for labels, Krippendorff's interval alpha
    of the two for scores (κ has no interval form that rests on the same assumptions)."""
    pairs = combinations(range(table.width), 2)
    if level == Level.NOMINAL:
        return {(first, second): _cohen(table, first, second) for first, second in pairs}
    return {(first, second): _alpha_interval(pair_patterns(table, first, second)) for first, second in pairs}
