"""The agreement of the raters of one annotation name over a set of rows: every figure from one read."""

from dataclasses import dataclass

from .coefficients import (
    Estimate,
    Level,
    Pattern,
    Table,
    fleiss_kappa,
    krippendorff_alpha,
    pairwise,
    percent_agreement,
)
from .ratings import Rater, RatingQuery


@dataclass(frozen=True)
class AgreementReport:
    query: RatingQuery
    raters: list[Rater]
    # Items with at least one value; the figures rest on those with two or more (their `items`).
    rated_items: int
    percent: Estimate
    # Fleiss' kappa compares labels only: None for scores.
    fleiss: Estimate | None
    alpha: Estimate
    # Cohen's kappa (labels) or Krippendorff's interval alpha (scores) per pair of raters, by position.
    pairs: dict[tuple[int, int], Estimate]

    def matrix(self) -> list[tuple[Rater, list[Estimate | None]]]:
        """The rater x rater table, symmetric, None on the diagonal."""
        size = len(self.raters)
        cell = {**self.pairs, **{(b, a): value for (a, b), value in self.pairs.items()}}
        return [(rater, [cell.get((i, j)) for j in range(size)]) for i, rater in enumerate(self.raters)]


def agreement_report(query: RatingQuery) -> AgreementReport:
    """Three queries (`RatingQuery.read`); the rest is arithmetic on the patterns."""
    ratings = query.read()
    raters, patterns = ratings.raters, ratings.patterns
    nominal = query.level == Level.NOMINAL
    table = Table.of(patterns)
    return AgreementReport(
        query=query,
        raters=raters,
        rated_items=sum(patterns.values()),
        percent=percent_agreement(table),
        fleiss=fleiss_kappa(table) if nominal else None,
        alpha=krippendorff_alpha(table, query.level),
        pairs=pairwise(table, query.level),
    )


def disagreement(pattern: Pattern, level: Level) -> tuple[float, str]:
    """How far an item's raters are apart, smaller first when sorted, and in words: the share of the
    commonest label (labels), or minus the spread of the scores (scores)."""
    values = [value for value in pattern if value is not None]
    if level == Level.NOMINAL:
        label, count = max(
            ((v, values.count(v)) for v in set(values)), key=lambda pair: (pair[1], str(pair[0]))
        )
        return count / len(values), f"{count} of {len(values)} say {label}"
    spread = max(values) - min(values)
    return -spread, f"scores {min(values):g} to {max(values):g}"
