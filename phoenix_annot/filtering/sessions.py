"""The Sessions tab's filter bar: a time range, ongoing or ended, and the session annotations a session has
or lacks, read as the Spans tab reads span annotations (SpanFilter's feedback filters, without "labelled
by"): `annotation_name=outcome&score_max=0.5&annotator_kind=HUMAN` keeps sessions having ONE human outcome
annotation scored at most 0.5."""

from typing import Any

import django_filters
from django import forms
from django.db.models import Exists, Q, QuerySet

from phoenix_annot.tracing.models import Session

from .predicates import AnnotationScope
from .spans import ANNOTATION_NAMES_LIST, NEEDS_ANNOTATION_NAME, SpanFilter, feedback_predicate

# Applied together by SessionFilter.filter_queryset, as one predicate over one annotation.
FEEDBACK_FILTERS = ("annotation_name", "label", "label_not", "score_min", "score_max", "annotator_kind")


class SessionFilterForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Filters borrowed from SpanFilter document API parameters in their help text; the page has labels.
        for field in self.fields.values():
            field.help_text = ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("annotation_name"):
            for name in NEEDS_ANNOTATION_NAME:
                if cleaned.get(name) not in (None, ""):
                    self.add_error(name, "Choose an annotation name to filter on.")
        return cleaned


def _scope(name: str | None) -> AnnotationScope:
    """The session's own annotations (of this name, or any but notes), for a query over sessions."""
    return AnnotationScope("session", name, outer="pk")


class SessionFilter(django_filters.FilterSet):
    # The Spans tab's filters (FilterSets copy their filters per instance): the time range, on the session's
    # start, and the feedback filters, on the session's annotations.
    start_time_after = SpanFilter.declared_filters["start_time_after"]
    start_time_before = SpanFilter.declared_filters["start_time_before"]
    activity = django_filters.ChoiceFilter(
        choices=[("ongoing", "Ongoing"), ("ended", "Ended")],
        empty_label="any",
        method="filter_activity",
        label="Activity",
    )
    missing_annotation = django_filters.CharFilter(
        method="filter_missing_annotation",
        label="Not yet annotated with",
        widget=forms.TextInput(attrs={"list": ANNOTATION_NAMES_LIST, "placeholder": "annotation name"}),
    )
    annotation_name = SpanFilter.declared_filters["annotation_name"]
    label = SpanFilter.declared_filters["label"]
    label_not = SpanFilter.declared_filters["label_not"]
    score_min = SpanFilter.declared_filters["score_min"]
    score_max = SpanFilter.declared_filters["score_max"]
    annotator_kind = SpanFilter.declared_filters["annotator_kind"]

    class Meta:
        model = Session
        fields: list[str] = []
        form = SessionFilterForm

    def filter_queryset(self, queryset: QuerySet[Session]) -> QuerySet[Session]:
        """Apply the filters one by one, except the feedback filters: together they make one predicate."""
        cleaned = self.form.cleaned_data
        for name, value in cleaned.items():
            if name not in FEEDBACK_FILTERS:
                queryset = self.filters[name].filter(queryset, value)
        values = {name: cleaned.get(name) for name in FEEDBACK_FILTERS}
        predicate = feedback_predicate(values, None, _scope(values["annotation_name"] or None))
        return queryset if predicate is None else queryset.filter(predicate.span_q())

    def filter_activity(self, queryset: QuerySet[Session], name: str, value: str) -> QuerySet[Session]:
        """Sessions whose last span ended within the idle window (ongoing), or before it (ended)."""
        return queryset.ongoing() if value == "ongoing" else queryset.ended()

    def filter_missing_annotation(
        self, queryset: QuerySet[Session], name: str, value: str
    ) -> QuerySet[Session]:
        """Sessions that nobody has annotated with this name yet."""
        return queryset.filter(~Q(Exists(_scope(value).rows())))
