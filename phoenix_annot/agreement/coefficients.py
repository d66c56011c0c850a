"""Agreement coefficients over rated items: percent agreement, Cohen's κ, Fleiss' κ, Krippendorff's alpha.

Items come grouped: a `Patterns` counter maps each distinct row of values (one value, or None, per rater)
to how many items have it, so the database sends one row per pattern however many items there are, and
every sum here is weighted by it.

Each coefficient is a function of sums of per-item contributions. That makes the confidence interval
cheap: a jackknife over items (leave one item out, recompute; Efron & Tibshirani ch. 11, as Fleiss & Davies
1982 did for κ). Leaving out either of two items with the same contribution gives the same value, so the
jackknife costs one evaluation per distinct contribution, not per item. The interval is the estimate
± 1.96 jackknife standard errors, held within [-1, 1]: deterministic, no seed, and exact for the
coefficients it rests on. It needs at least two items; a coefficient that is undefined without one of them
(no variation left) has no interval.
"""

import enum
import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import combinations

Value = str | float
Pattern = tuple[Value | None, ...]
Patterns = Counter[Pattern]
Contribution = tuple[float, ...]
Finish = Callable[[Sequence[float]], float | None]

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


def estimate(contributions: Counter[Contribution], finish: Finish) -> Estimate:
    """`finish` of the summed contributions, with the jackknife interval over the items behind them."""
    items = sum(contributions.values())
    if not contributions:
        return Estimate(None, 0)
    width = len(next(iter(contributions)))
    totals = [sum(weight * part[i] for part, weight in contributions.items()) for i in range(width)]
    value = finish(totals)
    if value is None or items < 2:
        return Estimate(value, items)
    left_out: list[tuple[float, int]] = []
    for part, weight in contributions.items():
        theta = finish([total - part[i] for i, total in enumerate(totals)])
        if theta is None:
            return Estimate(value, items)
        left_out.append((theta, weight))
    mean = sum(theta * weight for theta, weight in left_out) / items
    variance = (items - 1) / items * sum(weight * (theta - mean) ** 2 for theta, weight in left_out)
    half = Z_95 * math.sqrt(variance)
    return Estimate(value, items, max(-1.0, value - half), min(1.0, value + half))


def _present(pattern: Pattern) -> list[Value]:
    return [value for value in pattern if value is not None]


def _categories(patterns: Patterns) -> list[Value]:
    return sorted({value for pattern in patterns for value in _present(pattern)}, key=str)


def _pairable_tallies(patterns: Patterns) -> Iterator[tuple[int, Counter[Value], int]]:
    """Each pattern with at least two values: how many, how many of each value, how many items."""
    for pattern, weight in patterns.items():
        tally = Counter(_present(pattern))
        m = tally.total()
        if m >= 2:
            yield m, tally, weight


def _pairable_counts(patterns: Patterns) -> Iterator[tuple[int, list[int], int]]:
    """Each pattern with at least two values: how many, how many of each category, how many items."""
    categories = _categories(patterns)
    for m, tally, weight in _pairable_tallies(patterns):
        yield m, [tally[category] for category in categories], weight


def percent_agreement(patterns: Patterns) -> Estimate:
    """The mean, over items with at least two values, of the share of their pairs of raters who agree."""
    contributions: Counter[Contribution] = Counter()
    # From each item's own values: scores may take as many values as there are items.
    for m, tally, weight in _pairable_tallies(patterns):
        agreeing = sum(n * (n - 1) for n in tally.values())
        contributions[(1.0, agreeing / (m * (m - 1)))] += weight

    def finish(totals: Sequence[float]) -> float | None:
        return totals[1] / totals[0] if totals[0] else None

    return estimate(contributions, finish)


def fleiss_kappa(patterns: Patterns) -> Estimate:
    """Fleiss' κ (1971) over items with at least two values.

    Where items have different numbers of raters, each item's agreement is its share of agreeing pairs and
    the chance agreement comes from the category shares of all values pooled: with the same number of raters
    on every item this is Fleiss' formula exactly.
    """
    contributions: Counter[Contribution] = Counter()
    for m, counts, weight in _pairable_counts(patterns):
        agreeing = sum(n * (n - 1) for n in counts) / (m * (m - 1))
        contributions[(1.0, agreeing, float(m), *map(float, counts))] += weight

    def finish(totals: Sequence[float]) -> float | None:
        items, agreeing, values = totals[0], totals[1], totals[2]
        if not items or not values:
            return None
        chance = sum((count / values) ** 2 for count in totals[3:])
        if chance >= 1.0:
            return None
        return (agreeing / items - chance) / (1.0 - chance)

    return estimate(contributions, finish)


def krippendorff_alpha(patterns: Patterns, level: Level) -> Estimate:
    """Krippendorff's alpha (Computing Krippendorff's Alpha-Reliability, 2011) over the pairable items: those
    with at least two values; missing values are simply absent from an item.

    alpha = 1 - (n - 1) · Σ_u D_u / E, where n is the number of pairable values, D_u the sum over ordered
    pairs of values in item u of their squared difference (1 for different labels, nominal) divided by
    m_u - 1, and E the same sum over all ordered pairs of the n values.
    """
    if level == Level.NOMINAL:
        return _alpha_nominal(patterns)
    return _alpha_interval(patterns)


def _alpha_nominal(patterns: Patterns) -> Estimate:
    contributions: Counter[Contribution] = Counter()
    for m, counts, weight in _pairable_counts(patterns):
        within = (m * m - sum(n * n for n in counts)) / (m - 1)
        contributions[(float(m), within, *map(float, counts))] += weight

    def finish(totals: Sequence[float]) -> float | None:
        n, within = totals[0], totals[1]
        expected = n * n - sum(count * count for count in totals[2:])
        return 1.0 - (n - 1) * within / expected if expected > 0 else None

    return estimate(contributions, finish)


def _alpha_interval(patterns: Patterns) -> Estimate:
    contributions: Counter[Contribution] = Counter()
    for pattern, weight in patterns.items():
        values = [float(value) for value in _present(pattern)]
        m = len(values)
        if m >= 2:
            total, squares = math.fsum(values), math.fsum(v * v for v in values)
            # The squared differences of every pair, m·Σv² - (Σv)², without listing the pairs; never below 0.
            within = max(0.0, m * squares - total * total) * 2 / (m - 1)
            contributions[(float(m), within, total, squares)] += weight

    def finish(totals: Sequence[float]) -> float | None:
        n, within, total, squares = totals
        expected = 2 * n * squares - 2 * total * total
        # Below a rounding error of the sums, all values are equal: alpha is undefined, not huge.
        if expected <= 1e-9 * max(1.0, abs(2 * n * squares)):
            return None
        return 1.0 - (n - 1) * within / expected

    return estimate(contributions, finish)


def cohen_kappa(pairs: Counter[tuple[Value, Value]]) -> Estimate:
    """Cohen's κ (1960) of two raters over the items both rated: pairs (first's value, second's) counted."""
    categories = sorted({value for pair in pairs for value in pair}, key=str)
    index = {category: i for i, category in enumerate(categories)}
    size = len(categories)
    contributions: Counter[Contribution] = Counter()
    for (first, second), weight in pairs.items():
        cell = [0.0] * (size * size)
        cell[index[first] * size + index[second]] = 1.0
        contributions[tuple(cell)] += weight

    def finish(cells: Sequence[float]) -> float | None:
        items = sum(cells)
        if not items:
            return None
        observed = sum(cells[i * size + i] for i in range(size)) / items
        rows = [sum(cells[i * size : (i + 1) * size]) for i in range(size)]
        columns = [sum(cells[j * size + i] for j in range(size)) for i in range(size)]
        chance = sum(row * column for row, column in zip(rows, columns, strict=True)) / (items * items)
        return (observed - chance) / (1.0 - chance) if chance < 1.0 else None

    return estimate(contributions, finish)


def pair_patterns(patterns: Patterns, first: int, second: int) -> Patterns:
    """The items two raters (by position) both rated, as two-value patterns."""
    pairs: Patterns = Counter()
    for pattern, weight in patterns.items():
        if pattern[first] is not None and pattern[second] is not None:
            pairs[(pattern[first], pattern[second])] += weight
    return pairs


def pairwise(patterns: Patterns, level: Level) -> dict[tuple[int, int], Estimate]:
    """Each pair of raters (by position, first < second): Cohen's κ for labels, Krippendorff's interval alpha
    of the two for scores (κ has no interval form that rests on the same assumptions)."""
    width = len(next(iter(patterns), ()))
    if level == Level.NOMINAL:
        tables = label_pair_tables(patterns, width)
        return {pair: cohen_kappa(table) for pair, table in tables.items()}
    return {
        (first, second): krippendorff_alpha(pair_patterns(patterns, first, second), Level.INTERVAL)
        for first, second in combinations(range(width), 2)
    }


def label_pair_tables(patterns: Patterns, width: int) -> dict[tuple[int, int], Patterns]:
    """`pair_patterns` of every pair of raters at once, for labels.

    Counting each pair over the patterns grows with raters² x patterns in Python (100 raters over 1,000
    patterns: 4 s). Instead each rater's patterns of each label are a bit set (bit p: the p-th pattern) and
    the weights are bit sets too, one per binary digit; the weight of the patterns where two raters gave
    two labels is then a few ANDs and bit counts, which Python does in C over whole integers.
    """
    count = len(patterns)
    marks: list[dict[Value, bytearray]] = [{} for _ in range(width)]
    digits: list[bytearray] = []
    for position, (pattern, weight) in enumerate(patterns.items()):
        at, bit = position >> 3, 1 << (position & 7)
        for rater, value in enumerate(pattern):
            if value is not None:
                marks[rater].setdefault(value, bytearray(count // 8 + 1))[at] |= bit
        for digit in range(weight.bit_length()):
            if digit == len(digits):
                digits.append(bytearray(count // 8 + 1))
            if weight >> digit & 1:
                digits[digit][at] |= bit
    labels = [{value: int.from_bytes(mark, "little") for value, mark in rater.items()} for rater in marks]
    weights = [int.from_bytes(digit, "little") for digit in digits]

    def weight_of(both: int) -> int:
        return sum((both & ones).bit_count() << digit for digit, ones in enumerate(weights))

    tables: dict[tuple[int, int], Patterns] = {}
    for first, second in combinations(range(width), 2):
        tables[(first, second)] = Counter(
            {
                (a, b): weight_of(both)
                for a, given_a in labels[first].items()
                for b, given_b in labels[second].items()
                if (both := given_a & given_b)
            }
        )
    return tables
