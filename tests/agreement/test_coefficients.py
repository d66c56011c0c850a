"""The coefficients against published worked examples, and the jackknife against its definition."""

import math
import random
from collections import Counter
from itertools import combinations

import pytest

from phoenix_annot.agreement.coefficients import (
    Estimate,
    Level,
    Patterns,
    Table,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    pair_patterns,
    pairwise,
    percent_agreement,
)

# Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011), example C: four observers, twelve units,
# some values missing (None). Published: nominal alpha = 0.743, interval alpha = 0.849.
KRIPPENDORFF_C = [
    (1, 1, None, 1),
    (2, 2, 3, 2),
    (3, 3, 3, 3),
    (3, 3, 3, 3),
    (2, 2, 2, 2),
    (1, 2, 3, 4),
    (4, 4, 4, 4),
    (1, 1, 2, 1),
    (2, 2, 2, 2),
    (None, 5, 5, 5),
    (None, None, 1, 1),
    (None, 3, None, None),
]
# The same paper, example A: two observers, binary data, ten units. Published: alpha = 0.095.
KRIPPENDORFF_A = list(zip([0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0], strict=True))
# Fleiss' κ worked example (Wikipedia, "Fleiss' kappa"): 14 raters put 10 subjects in 5 categories; each row
# counts the raters per category. Published: P̄ = 0.378, P̄e = 0.213, κ = 0.210.
FLEISS_TABLE = [
    (0, 0, 0, 0, 14),
    (0, 2, 6, 4, 2),
    (0, 0, 3, 5, 6),
    (0, 3, 9, 2, 0),
    (2, 2, 8, 1, 1),
    (7, 7, 0, 0, 0),
    (3, 2, 6, 3, 0),
    (2, 5, 3, 2, 2),
    (6, 5, 2, 1, 0),
    (0, 2, 2, 3, 7),
]


def patterns_of(rows: list[tuple]) -> Patterns:
    return Counter(tuple(None if v is None else str(v) for v in row) for row in rows)


def table_of(rows: list[tuple]) -> Table:
    return Table.of(patterns_of(rows))


def numeric_table_of(rows: list[tuple]) -> Table:
    return Table.of(Counter(tuple(None if v is None else float(v) for v in row) for row in rows))


def fleiss_table() -> Table:
    return Table.of(
        Counter(
            tuple(str(category) for category, n in enumerate(counts) for _ in range(n))
            for counts in FLEISS_TABLE
        )
    )


def test_krippendorffs_alpha_is_0_743_on_his_nominal_example_with_missing_values() -> None:
    alpha = krippendorff_alpha(table_of(KRIPPENDORFF_C), Level.NOMINAL)
    assert round(alpha.value, 3) == 0.743
    # Unit 12 has one value only: it is not pairable.
    assert alpha.items == 11


def test_krippendorffs_alpha_is_0_849_on_his_interval_example_with_missing_values() -> None:
    alpha = krippendorff_alpha(numeric_table_of(KRIPPENDORFF_C), Level.INTERVAL)
    assert round(alpha.value, 3) == 0.849
    assert alpha.items == 11


def test_krippendorffs_alpha_is_0_095_on_his_binary_two_observer_example() -> None:
    assert round(krippendorff_alpha(table_of(KRIPPENDORFF_A), Level.NOMINAL).value, 3) == 0.095


def test_fleiss_kappa_is_0_210_on_the_fourteen_rater_worked_example() -> None:
    kappa = fleiss_kappa(fleiss_table())
    assert round(kappa.value, 3) == 0.210
    assert kappa.items == 10


def test_percent_agreement_is_the_mean_share_of_agreeing_pairs_0_378_in_fleiss_example() -> None:
    # Fleiss' P̄ is exactly this mean.
    assert round(percent_agreement(fleiss_table()).value, 3) == 0.378


def test_cohens_kappa_is_0_4_on_the_fifty_proposals_example() -> None:
    # Wikipedia, "Cohen's kappa": A and B read 50 grant proposals; yes/yes 20, yes/no 5, no/yes 10, no/no 15.
    # p_o = 0.7, p_e = 0.5, κ = 0.4.
    pairs = Counter({("yes", "yes"): 20, ("yes", "no"): 5, ("no", "yes"): 10, ("no", "no"): 15})
    kappa = cohen_kappa(Table.of(pairs))
    assert kappa.value == pytest.approx(0.4)
    assert kappa.items == 50


def test_cohens_kappa_of_two_raters_equals_fleiss_textbook_identity_on_krippendorffs_binary_data() -> None:
    # A: 2 ones, B: 4 ones in 10 units, 1 joint one: p_o = 0.6, p_e = (2*4 + 8*6) / 100 = 0.56.
    kappa = cohen_kappa(pair_patterns(table_of(KRIPPENDORFF_A), 0, 1))
    assert kappa.value == pytest.approx((0.6 - 0.56) / (1 - 0.56))


def test_the_pairwise_matrix_counts_only_the_items_both_raters_labelled() -> None:
    matrix = pairwise(table_of(KRIPPENDORFF_C), Level.NOMINAL)
    assert set(matrix) == {(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)}
    # Observers A and C both labelled units 2-9.
    assert matrix[(0, 2)].items == 8
    assert matrix[(1, 3)].items == 10


def brute_cohen(pairs: list[tuple[str, str]]) -> float:
    """Cohen's κ by its definition, item by item."""
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    firsts, seconds = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    chance = sum(firsts[label] * seconds[label] for label in firsts) / (n * n)
    return (observed - chance) / (1 - chance)


def test_every_pairs_kappa_is_its_definition_over_the_items_both_labelled_whatever_the_weights() -> None:
    rng = random.Random(7)
    patterns = Counter(
        {
            tuple(rng.choice(["yes", "no", "maybe", None]) for _ in range(6)): rng.choice([1, 2, 5, 13])
            for _ in range(300)
        }
    )
    items = [pattern for pattern, weight in patterns.items() for _ in range(weight)]

    matrix = pairwise(Table.of(patterns), Level.NOMINAL)

    assert set(matrix) == set(combinations(range(6), 2))
    for (first, second), kappa in matrix.items():
        both = [(item[first], item[second]) for item in items if None not in (item[first], item[second])]
        assert kappa.items == len(both)
        assert kappa.value == pytest.approx(brute_cohen(both))


def test_pairwise_scores_are_compared_with_krippendorffs_interval_alpha_of_the_two() -> None:
    matrix = pairwise(numeric_table_of(KRIPPENDORFF_C), Level.INTERVAL)
    both = pair_patterns(numeric_table_of(KRIPPENDORFF_C), 1, 3)
    assert matrix[(1, 3)] == krippendorff_alpha(both, Level.INTERVAL)


def brute_jackknife(rows: list[tuple], compute, make=table_of) -> tuple[float, float]:
    """The jackknife interval by its definition: leave each item out in turn."""
    full = compute(make(rows))
    used = [i for i, row in enumerate(rows) if compute(make([row, row])).items]
    thetas = [compute(make([r for j, r in enumerate(rows) if j != i])).value for i in used]
    n = len(thetas)
    mean = sum(thetas) / n
    half = 1.959963984540054 * math.sqrt((n - 1) / n * sum((t - mean) ** 2 for t in thetas))
    return max(-1.0, full.value - half), min(1.0, full.value + half)


@pytest.mark.parametrize(
    ("compute", "make"),
    [
        (percent_agreement, table_of),
        (fleiss_kappa, table_of),
        (lambda table: krippendorff_alpha(table, Level.NOMINAL), table_of),
        (lambda table: krippendorff_alpha(table, Level.INTERVAL), numeric_table_of),
        (percent_agreement, numeric_table_of),
        (lambda table: cohen_kappa(pair_patterns(table, 1, 3)), table_of),
    ],
    ids=["percent", "fleiss", "alpha", "interval-alpha", "percent-of-scores", "cohen"],
)
def test_the_grouped_jackknife_interval_equals_leaving_out_each_item_in_turn(compute, make) -> None:
    low, high = brute_jackknife(KRIPPENDORFF_C, compute, make)
    found = compute(make(KRIPPENDORFF_C))
    assert (found.low, found.high) == (pytest.approx(low), pytest.approx(high))
    assert found.low < found.value < found.high


def test_the_interval_narrows_as_the_same_agreement_rests_on_more_items() -> None:
    few = krippendorff_alpha(table_of(KRIPPENDORFF_C), Level.NOMINAL)
    many = krippendorff_alpha(
        Table.of(Counter({p: 10 * w for p, w in patterns_of(KRIPPENDORFF_C).items()})), Level.NOMINAL
    )
    # alpha's small-sample correction (n - 1) moves it a little; the agreement is the same.
    assert many.value == pytest.approx(few.value, abs=0.01)
    assert many.high - many.low < few.high - few.low


def test_coefficients_without_variation_or_items_are_undefined_not_zero() -> None:
    unanimous = table_of([("a", "a"), ("a", "a"), ("a", "a")])
    assert fleiss_kappa(unanimous) == Estimate(None, 3)
    assert krippendorff_alpha(unanimous, Level.NOMINAL) == Estimate(None, 3)
    assert percent_agreement(unanimous).value == 1.0
    assert krippendorff_alpha(table_of([("a", None)]), Level.NOMINAL) == Estimate(None, 0)
    same_scores = numeric_table_of([(0.5, 0.5), (0.5, 0.5)])
    assert krippendorff_alpha(same_scores, Level.INTERVAL).value is None


def by_definition(items: list[tuple], level: Level) -> dict[str, float | None]:
    """Every coefficient of these items (one pattern each), from the textbook definitions, item by item:
    Krippendorff's coincidence matrix for alpha, the category shares for Fleiss, pair counts for percent."""
    pairable = [[v for v in item if v is not None] for item in items]
    pairable = [values for values in pairable if len(values) >= 2]
    if not pairable:
        return {"percent": None, "fleiss": None, "alpha": None}
    shares = [
        sum(a == b for i, a in enumerate(vs) for j, b in enumerate(vs) if i != j) / (len(vs) * (len(vs) - 1))
        for vs in pairable
    ]
    coincidences: Counter = Counter()
    for vs in pairable:
        for i, a in enumerate(vs):
            for j, b in enumerate(vs):
                if i != j:
                    coincidences[(a, b)] += 1 / (len(vs) - 1)
    totals: Counter = Counter()
    for (a, _), o in coincidences.items():
        totals[a] += o
    n = sum(totals.values())

    def distance(a, b) -> float:
        return (a - b) ** 2 if level == Level.INTERVAL else float(a != b)

    observed = sum(o * distance(a, b) for (a, b), o in coincidences.items())
    expected = sum(totals[a] * totals[b] * distance(a, b) for a in totals for b in totals) / (n - 1)
    chance = sum((count / n) ** 2 for count in totals.values())
    mean_share = sum(shares) / len(shares)
    return {
        "percent": mean_share,
        "fleiss": (mean_share - chance) / (1 - chance) if chance < 1 else None,
        "alpha": 1 - observed / expected if expected > 1e-12 else None,
    }


def jackknife_by_definition(items: list[tuple], compute) -> tuple[float, float] | None:
    used = [i for i, item in enumerate(items) if sum(v is not None for v in item) >= 2]
    thetas = [compute([item for j, item in enumerate(items) if j != i]) for i in used]
    if any(theta is None for theta in thetas):
        return None
    n = len(thetas)
    mean = sum(thetas) / n
    return n, 1.959963984540054 * math.sqrt((n - 1) / n * sum((t - mean) ** 2 for t in thetas))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(
    ("raters", "values"),
    [(6, ["yes", "no", "maybe"]), (2, ["yes", "no", "maybe"]), (4, [0.0, 0.25, 0.5, 0.75, 1.0, 0.3, 0.9])],
    ids=["six-raters-labels", "two-raters-labels", "four-raters-scores"],
)
def test_every_coefficient_and_interval_is_its_definition_on_random_weighted_patterns_with_gaps(
    seed, raters, values
) -> None:
    rng = random.Random(seed)
    patterns: Patterns = Counter()
    for _ in range(25):
        patterns[tuple(rng.choice([*values, None]) for _ in range(raters))] += rng.choice([1, 1, 2, 3])
    items = [pattern for pattern, weight in patterns.items() for _ in range(weight)]
    level = Level.INTERVAL if isinstance(values[0], float) else Level.NOMINAL
    table = Table.of(patterns)
    found = {"percent": percent_agreement(table), "alpha": krippendorff_alpha(table, level)}
    if level == Level.NOMINAL:
        found["fleiss"] = fleiss_kappa(table)

    for name, estimate in found.items():
        expected = by_definition(items, level)[name]
        assert estimate.value == (pytest.approx(expected) if expected is not None else None), name
        spread = jackknife_by_definition(items, lambda rest, name=name: by_definition(rest, level)[name])
        if expected is None or spread is None or spread[0] < 2:
            assert estimate.low is None, name
            continue
        assert estimate.items == spread[0], name
        assert estimate.low == pytest.approx(max(-1.0, expected - spread[1])), name
        assert estimate.high == pytest.approx(min(1.0, expected + spread[1])), name
