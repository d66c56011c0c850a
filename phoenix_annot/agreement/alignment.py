"""Judge alignment: how far an LLM or CODE annotator (the judge) agrees with the humans on one label name.

Each row the judge labelled is compared with its human reference: the row's gold label when it has one,
else the label most of its human raters gave (a tie leaves the row without a reference, and out of the
figures). The figures are those a team reads before letting the judge replace review: the confusion
matrix (rows: the humans' label, columns: the judge's), precision, recall and F1 per label, accuracy and
Cohen's κ, each week's accuracy and κ (by when the judge wrote its label, so a change of prompt or model
shows as drift), and the rows where they differ with both explanations.
"""

import datetime
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet

from phoenix_annot.annotations.models import GOLD_IDENTIFIER, AnnotatorKind

from .coefficients import Estimate, Table, cohen_kappa
from .ratings import Target

JUDGE_KINDS = (AnnotatorKind.LLM, AnnotatorKind.CODE)
# The disagreeing rows a report lists, newest first; the figures count them all.
LISTED_DISAGREEMENTS = 100


@dataclass(frozen=True)
class Judged:
    """One row both sides labelled: the humans' reference label and the judge's, and when the judge wrote."""

    reference: str
    judge: str
    at: datetime.datetime


@dataclass(frozen=True)
class LabelFigures:
    label: str
    # Rows whose reference is this label; precision and recall are None where nothing to divide by.
    support: int
    precision: float | None
    recall: float | None
    f1: float | None


@dataclass(frozen=True)
class Period:
    """A week (from Monday, UTC) of the judge's labels."""

    start: datetime.date
    items: int
    accuracy: float
    kappa: float | None


@dataclass(frozen=True)
class Figures:
    labels: list[str]
    # matrix[i][j]: rows whose reference is labels[i] and the judge's label labels[j].
    matrix: list[list[int]]
    per_label: list[LabelFigures]
    items: int
    accuracy: float | None
    kappa: Estimate
    weeks: list[Period]

    def rows(self) -> list[tuple[str, list[int]]]:
        """The matrix a row at a time, with the humans' label it is of."""
        return list(zip(self.labels, self.matrix, strict=True))


def alignment_figures(judged: Sequence[Judged]) -> Figures:
    """Every figure of the judge against the reference over these rows."""
    labels = sorted({row.reference for row in judged} | {row.judge for row in judged})
    pairs = Counter((row.reference, row.judge) for row in judged)
    matrix = [[pairs[(reference, judge)] for judge in labels] for reference in labels]
    per_label = [_label_figures(label, i, matrix) for i, label in enumerate(labels)]
    agreeing = sum(matrix[i][i] for i in range(len(labels)))
    return Figures(
        labels=labels,
        matrix=matrix,
        per_label=per_label,
        items=len(judged),
        accuracy=agreeing / len(judged) if judged else None,
        kappa=cohen_kappa(Table.of(pairs)),
        weeks=_weeks(judged),
    )


def _label_figures(label: str, i: int, matrix: list[list[int]]) -> LabelFigures:
    true_positive = matrix[i][i]
    support = sum(matrix[i])
    predicted = sum(row[i] for row in matrix)
    precision = true_positive / predicted if predicted else None
    recall = true_positive / support if support else None
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall
        else None
    )
    return LabelFigures(label, support, precision, recall, f1)


def _weeks(judged: Sequence[Judged]) -> list[Period]:
    by_week: dict[datetime.date, list[Judged]] = defaultdict(list)
    for row in judged:
        day = row.at.astimezone(datetime.UTC).date()
        by_week[day - datetime.timedelta(days=day.weekday())].append(row)
    return [
        Period(
            start=start,
            items=len(rows),
            accuracy=sum(row.reference == row.judge for row in rows) / len(rows),
            kappa=cohen_kappa(Table.of(Counter((row.reference, row.judge) for row in rows))).value,
        )
        for start, rows in sorted(by_week.items())
    ]


@dataclass(frozen=True)
class Judge:
    """An LLM or CODE annotator of the name: its kind, identifier and how many rows it labelled."""

    kind: str
    identifier: str
    rows: int

    @property
    def name(self) -> str:
        return f"{self.kind} {self.identifier}".strip()


@dataclass(frozen=True)
class HumanView:
    """A human's label of a disagreeing row, with who gave it and why."""

    who: str
    label: str
    explanation: str | None
    gold: bool


@dataclass(frozen=True)
class Disagreement:
    target_pk: int
    judge_label: str
    judge_explanation: str | None
    at: datetime.datetime
    reference: str
    humans: list[HumanView]


@dataclass(frozen=True)
class AlignmentReport:
    # None when no LLM or CODE annotator labelled the name on the rows: then every count is 0.
    judge: Judge | None
    figures: Figures
    # Rows the reference came from: gold, the human majority; rows left out: a tie among the humans, or
    # no human label at all.
    from_gold: int
    from_majority: int
    ties: int
    unreviewed: int
    disagreement_count: int
    disagreements: list[Disagreement]

    @classmethod
    def without_judge(cls) -> "AlignmentReport":
        return cls(None, alignment_figures([]), 0, 0, 0, 0, 0, [])


@dataclass(frozen=True)
class Window:
    """The days (inclusive, UTC) of the judge's labels compared; None is open-ended."""

    since: datetime.date | None = None
    until: datetime.date | None = None

    @classmethod
    def parse(cls, since: str | None, until: str | None) -> "Window":
        """From YYYY-MM-DD texts; a bad one is a ValidationError naming it."""
        days = {}
        for field, text in (("since", since), ("until", until)):
            if not text:
                continue
            try:
                days[field] = datetime.date.fromisoformat(text)
            except ValueError:
                raise ValidationError({field: f"{field} must be a date, YYYY-MM-DD: got '{text}'"}) from None
        window = cls(**days)
        if window.since and window.until and window.since > window.until:
            raise ValidationError({"until": "until is before since"})
        return window

    def filter(self, annotations: QuerySet) -> QuerySet:
        if self.since:
            annotations = annotations.filter(updated_at__date__gte=self.since)
        if self.until:
            annotations = annotations.filter(updated_at__date__lte=self.until)
        return annotations


@dataclass(frozen=True)
class JudgeQuery:
    """One label name of one kind of rows, on `rows`: the judge's labels in `window` against the humans'."""

    name: str
    target: Target
    rows: QuerySet
    window: Window = Window()

    def labelled(self) -> QuerySet:
        """The annotations of the name with a label on the rows."""
        annotations = self.target.model.objects.filter(name=self.name, label__isnull=False)
        return annotations.filter(
            **{f"{self.target.value}__in": self.rows.order_by().values("pk")}
        ).order_by()

    def judges(self) -> list[Judge]:
        """The LLM and CODE annotators of the name on the rows in the window, most rows first; one query."""
        found = (
            self.window.filter(self.labelled().filter(annotator_kind__in=JUDGE_KINDS))
            .values_list("annotator_kind", "identifier")
            .annotate(rows=Count("pk"))
        )
        return sorted((Judge(*row) for row in found), key=lambda j: (-j.rows, j.kind, j.identifier))

    def report(self, judge: Judge) -> AlignmentReport:
        """The judge against the humans: two queries (the judge's rows, the humans' on the same rows)."""
        key = self.target.value
        judge_rows = self.window.filter(
            self.labelled().filter(annotator_kind=judge.kind, identifier=judge.identifier)
        )
        judged = {row[key]: row for row in judge_rows.values(key, "label", "explanation", "updated_at")}
        humans: dict[int, list[HumanView]] = defaultdict(list)
        human_rows = self.labelled().filter(
            annotator_kind=AnnotatorKind.HUMAN, **{f"{key}__in": list(judged)}
        )
        for row in human_rows.values(key, "identifier", "user__username", "label", "explanation").order_by(
            "pk"
        ):
            gold = row["identifier"] == GOLD_IDENTIFIER
            who = row["user__username"] or "no user"
            humans[row[key]].append(HumanView(who, row["label"], row["explanation"], gold))
        compared: list[Judged] = []
        disagreements: list[Disagreement] = []
        counts: Counter[str] = Counter()
        for pk, row in judged.items():
            reference, source = _reference(humans.get(pk, []))
            counts[source] += 1
            if reference is None:
                continue
            compared.append(Judged(reference, row["label"], row["updated_at"]))
            if reference != row["label"]:
                disagreements.append(
                    Disagreement(
                        pk, row["label"], row["explanation"], row["updated_at"], reference, humans[pk]
                    )
                )
        disagreements.sort(key=lambda d: (d.at, d.target_pk), reverse=True)
        return AlignmentReport(
            judge=judge,
            figures=alignment_figures(compared),
            from_gold=counts["gold"],
            from_majority=counts["majority"],
            ties=counts["tie"],
            unreviewed=counts["none"],
            disagreement_count=len(disagreements),
            disagreements=disagreements[:LISTED_DISAGREEMENTS],
        )


def _reference(humans: list[HumanView]) -> tuple[str | None, str]:
    """The row's human label and where it came from: gold, the majority, a tie, or no human (none)."""
    gold = next((human.label for human in humans if human.gold), None)
    if gold is not None:
        return gold, "gold"
    tally = Counter(human.label for human in humans).most_common(2)
    if not tally:
        return None, "none"
    if len(tally) == 2 and tally[0][1] == tally[1][1]:
        return None, "tie"
    return tally[0][0], "majority"
