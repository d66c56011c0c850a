"""SpanFilter: the one FilterSet over spans, the review page's filter bar and the REST API's filterset_class.

Feedback filters describe ONE annotation of the span: `annotation_name=correctness&label=incorrect&
annotator_kind=HUMAN` keeps spans having a HUMAN correctness annotation labelled incorrect, as a single
EXISTS subquery, so several annotators never repeat a span. In detail:

- `label_not=L` is Phoenix's "exclude" action, `(label != L or label is None)`: a span is kept when one of
  its annotations of the name has another label or none, and also when it has no annotation of the name
  (unless another feedback filter, such as `annotator_kind`, asks for one).
- `labelled_by=me` asks for that annotation to be the requesting user's; `labelled_by=not_me` keeps the
  spans where the user wrote NO such annotation (with `annotation_name` alone: "not yet labelled by me").
  An annotation is the user's when its `user` is them or its identifier is their reviewer identifier
  `px-app:<User GlobalID>`, what the Annotate panel writes; so API writes with the user's key count too.
- `missing_annotation=X` stands alone: spans with no annotation named X by anybody.
"""

from typing import Any

import django_filters
from django import forms
from django.db.models import Exists, Q, QuerySet

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import AnnotatorKind
from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.tracing.models import Span, SpanKind, StatusCode

from .expression import FilterExpressionError, span_condition_q
from .predicates import AnnotationScope, Predicate, combine

REVIEWER_IDENTIFIER_PREFIX = "px-app:"
# Applied together by SpanFilter.filter_queryset, never one by one.
FEEDBACK_FILTERS = (
    "annotation_name",
    "label",
    "label_not",
    "score_min",
    "score_max",
    "annotator_kind",
    "labelled_by",
)
_NEEDS_ANNOTATION_NAME = ("label", "label_not", "score_min", "score_max")


def reviewer_identifier(user: User) -> str:
    """The identifier a reviewer's annotations from the Annotate panel carry (PHOENIX_COMPAT.md §2.2)."""
    return f"{REVIEWER_IDENTIFIER_PREFIX}{to_global_id('User', user.pk)}"


def chip_filter_params(name: str, *, label: str | None = None, score: float | None = None) -> dict[str, str]:
    """Query parameters that show the spans a feedback chip stands for: its name and label, or score."""
    params = {"annotation_name": name}
    if label is not None:
        params["label"] = label
    if score is not None:
        params["score_min"] = params["score_max"] = repr(score)
    return params


class ConditionField(forms.CharField):
    """A Phoenix filter expression; cleans to the Q it stands for, or to a form error explaining why not."""

    def clean(self, value: Any) -> Q | None:
        text = super().clean(value)
        if not text:
            return None
        try:
            return span_condition_q(text)
        except FilterExpressionError as exc:
            raise forms.ValidationError(str(exc), code="invalid_expression") from exc


class ConditionFilter(django_filters.Filter):
    field_class = ConditionField


class SpanFilterForm(forms.Form):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("annotation_name"):
            for name in _NEEDS_ANNOTATION_NAME:
                if cleaned.get(name) not in (None, ""):
                    self.add_error(name, "Choose an annotation name to filter on.")
        return cleaned


class AnyOrChoicesField(django_filters.fields.MultipleChoiceField):
    """A select's "any" option sends an empty value: that means no filter, not an invalid choice."""

    def to_python(self, value: Any) -> list[str]:
        return [choice for choice in super().to_python(value) if choice != ""]


class AnyOrChoicesFilter(django_filters.MultipleChoiceFilter):
    field_class = AnyOrChoicesField


class SpanFilter(django_filters.FilterSet):
    span_kind = AnyOrChoicesFilter(choices=SpanKind.choices, distinct=False)
    status_code = AnyOrChoicesFilter(choices=StatusCode.choices, distinct=False)
    name = django_filters.CharFilter(lookup_expr="icontains")
    q = django_filters.CharFilter(method="filter_text", label="Input or output contains")
    start_time_after = django_filters.IsoDateTimeFilter(field_name="start_time", lookup_expr="gte")
    start_time_before = django_filters.IsoDateTimeFilter(field_name="start_time", lookup_expr="lte")
    latency_min = django_filters.NumberFilter(field_name="latency_ms", lookup_expr="gte")
    latency_max = django_filters.NumberFilter(field_name="latency_ms", lookup_expr="lte")
    root = django_filters.BooleanFilter(
        field_name="parent_id", lookup_expr="isnull", widget=django_filters.widgets.BooleanWidget
    )
    trace_id = django_filters.CharFilter(field_name="trace__trace_id")
    annotation_name = django_filters.CharFilter()
    label = django_filters.CharFilter()
    label_not = django_filters.CharFilter()
    score_min = django_filters.NumberFilter()
    score_max = django_filters.NumberFilter()
    annotator_kind = django_filters.ChoiceFilter(choices=AnnotatorKind.choices)
    labelled_by = django_filters.ChoiceFilter(choices=[("me", "Me"), ("not_me", "Not me")])
    missing_annotation = django_filters.CharFilter(method="filter_missing_annotation")
    condition = ConditionFilter(method="filter_condition")

    class Meta:
        model = Span
        fields: list[str] = []
        form = SpanFilterForm

    def filter_queryset(self, queryset: QuerySet[Span]) -> QuerySet[Span]:
        """Apply the filters one by one, except the feedback filters: together they make one predicate."""
        cleaned = self.form.cleaned_data
        for name, value in cleaned.items():
            if name not in FEEDBACK_FILTERS:
                queryset = self.filters[name].filter(queryset, value)
        return self._filter_feedback(queryset, {name: cleaned.get(name) for name in FEEDBACK_FILTERS})

    def filter_text(self, queryset: QuerySet[Span], name: str, value: str) -> QuerySet[Span]:
        """Spans whose input or output contains the text, ignoring case."""
        return queryset.filter(Q(input_value__icontains=value) | Q(output_value__icontains=value))

    def filter_missing_annotation(self, queryset: QuerySet[Span], name: str, value: str) -> QuerySet[Span]:
        """Spans that nobody has annotated with this name yet."""
        return queryset.filter(~Q(Exists(AnnotationScope("span", value).rows())))

    def filter_condition(self, queryset: QuerySet[Span], name: str, value: Q) -> QuerySet[Span]:
        """Spans matching the Phoenix filter expression, which ConditionField has translated already."""
        return queryset.filter(value)

    def _filter_feedback(self, queryset: QuerySet[Span], values: dict[str, Any]) -> QuerySet[Span]:
        labelled_by = values["labelled_by"]
        user = getattr(self.request, "user", None)
        if labelled_by and not (user and user.is_authenticated):
            # An anonymous requester has written no annotation: none is theirs, every one is not.
            return queryset.none() if labelled_by == "me" else queryset
        predicate = _feedback_predicate(values, user if labelled_by else None)
        if predicate is None:
            return queryset
        found = predicate.span_q()
        return queryset.filter(~found if labelled_by == "not_me" else found)


def _feedback_predicate(values: dict[str, Any], author: User | None) -> Predicate | None:
    """One annotation meeting every feedback filter given (None when none is); see the module docstring."""
    scope = AnnotationScope("span", values["annotation_name"] or None)
    parts = []
    if values["label"]:
        parts.append(Predicate(Q(label=values["label"]), scope))
    if values["label_not"]:
        # On the NULL row of a span without the annotation, `label is None` holds: such spans stay.
        parts.append(Predicate(~Q(label=values["label_not"]) | Q(label__isnull=True), scope, True))
    if values["score_min"] is not None:
        parts.append(Predicate(Q(score__gte=values["score_min"]), scope))
    if values["score_max"] is not None:
        parts.append(Predicate(Q(score__lte=values["score_max"]), scope))
    if values["annotator_kind"]:
        parts.append(Predicate(Q(annotator_kind=values["annotator_kind"]), scope))
    if author is not None:
        parts.append(Predicate(Q(user=author) | Q(identifier=reviewer_identifier(author)), scope))
    if not parts and scope.name is not None:
        parts.append(Predicate(Q(), scope, when_missing=False))
    return combine(parts, "and") if parts else None
