"""The Sessions tab's filter bar: a time range and the session annotations a session has or lacks."""

from typing import Any

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet

from phoenix_annot.annotations.models import NOTE_NAME, SessionAnnotation
from phoenix_annot.tracing.models import Session

from .spans import ANNOTATION_NAMES_LIST, SpanFilter


class SessionFilterForm(forms.Form):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("label") and not cleaned.get("annotation_name"):
            self.add_error("label", "Choose an annotation name to filter on.")
        return cleaned


def _annotations(name: str) -> QuerySet[SessionAnnotation]:
    """The session's own annotations of this name (never notes, which are not feedback)."""
    return SessionAnnotation.objects.filter(session=OuterRef("pk"), name=name).exclude(name=NOTE_NAME)


class SessionFilter(django_filters.FilterSet):
    # The Spans tab's time range, on the session's start (FilterSets copy their filters per instance).
    start_time_after = SpanFilter.declared_filters["start_time_after"]
    start_time_before = SpanFilter.declared_filters["start_time_before"]
    missing_annotation = django_filters.CharFilter(
        method="filter_missing_annotation",
        label="Not yet annotated with",
        widget=forms.TextInput(attrs={"list": ANNOTATION_NAMES_LIST, "placeholder": "annotation name"}),
    )
    annotation_name = django_filters.CharFilter(
        method="filter_annotation",
        label="Annotation",
        widget=forms.TextInput(attrs={"list": ANNOTATION_NAMES_LIST}),
    )
    label = django_filters.CharFilter(method="filter_label", label="Label is")

    class Meta:
        model = Session
        fields: list[str] = []
        form = SessionFilterForm

    def filter_missing_annotation(
        self, queryset: QuerySet[Session], name: str, value: str
    ) -> QuerySet[Session]:
        """Sessions that nobody has annotated with this name yet."""
        return queryset.filter(~Q(Exists(_annotations(value))))

    def filter_annotation(self, queryset: QuerySet[Session], name: str, value: str) -> QuerySet[Session]:
        """Sessions with an annotation of this name (of this label, when `label` is given too)."""
        label = self.form.cleaned_data.get("label")
        rows = _annotations(value).filter(label=label) if label else _annotations(value)
        return queryset.filter(Exists(rows))

    def filter_label(self, queryset: QuerySet[Session], name: str, value: str) -> QuerySet[Session]:
        """Read with `annotation_name` (filter_annotation), which a label alone cannot go without."""
        return queryset
