"""Adjudication: the gold value of an annotation name on a row, and the agreeing rows promoted to it.

Gold is a HUMAN annotation under the identifier `gold`, written by an adjudicator with a reason (its
explanation), through the annotation services: the ownership rule refuses it to anyone who may not
adjudicate the row's project, and the history records it as any other write. Raters never include it
(`ratings.RatingQuery.annotations`).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, F, Max, Min, QuerySet

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.configs import config_for_project
from phoenix_annot.annotations.models import (
    GOLD_IDENTIFIER,
    AnnotationBase,
    AnnotationSource,
    AnnotationType,
    AnnotatorKind,
    EventVia,
)
from phoenix_annot.annotations.services import (
    AnnotationWrite,
    session_annotation_upsert,
    session_annotations_upsert,
    span_annotation_upsert,
    span_annotations_upsert,
    trace_annotation_upsert,
    trace_annotations_upsert,
)
from phoenix_annot.tracing.models import Project, Session, Span, Trace

from .coefficients import Level
from .ratings import RatingQuery, Target

REASON_MISSING = "Say why this is the gold value: the reason is kept as its explanation."
# The OpenTelemetry id (or session.id) the bulk writers address each kind of row by.
TARGET_KEYS = {Target.SPAN: "span_id", Target.TRACE: "trace_id", Target.SESSION: "session_id"}
_ONE: dict[Target, Callable[..., AnnotationBase]] = {
    Target.SPAN: span_annotation_upsert,
    Target.TRACE: trace_annotation_upsert,
    Target.SESSION: session_annotation_upsert,
}
_MANY: dict[Target, Callable[..., list[int | None]]] = {
    Target.SPAN: span_annotations_upsert,
    Target.TRACE: trace_annotations_upsert,
    Target.SESSION: session_annotations_upsert,
}


def gold_set(
    *,
    target: Target,
    row: Span | Trace | Session,
    name: str,
    label: str | None,
    score: float | None,
    reason: str,
    user: User,
) -> AnnotationBase:
    """Set the gold value of `name` on `row`, replacing any; a label of a categorical config brings the
    config's score for it. A missing reason or value is a ValidationError naming the field; a user who may
    not adjudicate the row's project gets the ownership rule's refusal (nothing written)."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": REASON_MISSING})
    if label is None and score is None:
        raise ValidationError({"label": "Choose the gold label (or score)."})
    config = config_for_project(name=name, project_id=row.project_id)
    if config is not None:
        score = config.score_for(label, score)
    return _ONE[target](
        **{target.value: row},
        name=name,
        identifier=GOLD_IDENTIFIER,
        label=label,
        score=score,
        explanation=reason,
        annotator_kind=AnnotatorKind.HUMAN,
        source=AnnotationSource.APP,
        user=user,
        via=EventVia.PAGE,
    )


@dataclass(frozen=True)
class Promotion:
    """The rows of `query` without gold whose raters all agree, `threshold` of them at least."""

    project: Project
    query: RatingQuery
    threshold: int

    def agreeing(self) -> QuerySet[Any]:
        """(row key, agreed value, raters) of each such row, as one grouped query."""
        value = self.query.value_field
        gold = self.query.target.model.objects.filter(
            name=self.query.name, identifier=GOLD_IDENTIFIER
        ).values(self.query.target.value)
        return (
            self.query.annotations()
            .exclude(**{f"{self.query.target.value}__in": gold})
            .values(self.query.target.value)
            .annotate(raters=Count("pk"), lowest=Min(value), highest=Max(value))
            .filter(raters__gte=self.threshold, lowest=F("highest"))
            .values_list(f"{self.query.target.value}__{TARGET_KEYS[self.query.target]}", "lowest", "raters")
        )

    def count(self) -> int:
        return self.agreeing().count()


def gold_promote_agreeing(*, promotion: Promotion, user: User) -> int:
    """Write the agreed value of every row of `promotion` as its gold, all in one transaction (the bulk
    writer's), or none when the ownership rule refuses one; how many rows. A label of a categorical config
    brings the config's score for it. A threshold below 2 is a ValidationError (one rater agrees with
    nobody)."""
    if promotion.threshold < 2:
        raise ValidationError({"threshold": "At least 2 raters must agree to promote a row to gold."})
    query = promotion.query
    scores = _label_scores(name=query.name, project_id=promotion.project.pk)
    writes = [
        AnnotationWrite(
            target_id=key,
            name=query.name,
            annotator_kind=AnnotatorKind.HUMAN,
            identifier=GOLD_IDENTIFIER,
            explanation=f"All {raters} raters agree.",
            **(
                {"label": value, "score": scores.get(value)}
                if query.level == Level.NOMINAL
                else {"score": value}
            ),
        )
        for key, value, raters in promotion.agreeing()
    ]
    if writes:
        _MANY[query.target](writes=writes, source=AnnotationSource.APP, user=user, via=EventVia.PAGE)
    return len(writes)


def _label_scores(*, name: str, project_id: int) -> dict[str, float | None]:
    """The score of each label of the name's categorical config where the row is: what a label is worth,
    as the Annotate panel stores it."""
    config = config_for_project(name=name, project_id=project_id)
    if config is None or config.type != AnnotationType.CATEGORICAL:
        return {}
    return config.label_scores()
