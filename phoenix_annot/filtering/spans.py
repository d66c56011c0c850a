"""SpanFilter: the one FilterSet over spans, the review page's filter bar and the REST API's filterset_class.

Every parameter means the same on the page and on `GET /v1/projects/{id}/spans`, and the OpenAPI document
is generated from these declarations. Phoenix's parameters keep Phoenix's names and rules: lists are
repeated keys (`?name=a&name=b`, commas are not separators), `span_kind` and `status_code` take any case,
`name` is exact; the page's name box is `name_contains`. A refusal Phoenix answers as a text/plain 422
carries the code PHOENIX_TEXT and Phoenix's exact words; others name their pydantic error type as code.

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

import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from hashlib import sha1
from typing import Any

import django_filters
from django import forms
from django.db import models
from django.db.models import Exists, Q, QuerySet
from django.db.models.fields.json import KeyTransform
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field

from phoenix_annot.accounts.models import User
from phoenix_annot.agreement.ratings import RatingQuery, Target, rating_level
from phoenix_annot.annotations.models import AnnotatorKind, reviewer_identifier
from phoenix_annot.core.jsonsafe import finite_or_text
from phoenix_annot.tracing.models import Span, SpanKind, StatusCode

from .expression import FilterExpressionError, condition_names, span_condition_q, unknown_column_message
from .predicates import AnnotationScope, Predicate, combine

# The error code of a refusal that Phoenix answers as a text/plain 422 with exactly its message.
PHOENIX_TEXT = "phoenix_text"
# What an `attribute` value looks like: a key with a non-blank part before the first colon, then a value
# that is not null, a list or an object (documented as the parameter's pattern).
ATTRIBUTE_PATTERN = r"^[^:]*[^:\s][^:]*:\s*(?!null\s*$)[^\s\[{]"
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
NEEDS_ANNOTATION_NAME = ("label", "label_not", "score_min", "score_max")
# The review page's filter bar: one line of common filters, the others behind "More filters".
COMMON_FILTERS = ("condition", "span_kind", "status_code", "missing_annotation")
MORE_FILTERS = (
    "name_contains",
    "q",
    "start_time_after",
    "start_time_before",
    "latency_min",
    "latency_max",
    *FEEDBACK_FILTERS,
    "retrieval_hit",
    "ndcg_below",
    "disagreement",
)
# The id of the page's list of annotation names the name boxes suggest.
ANNOTATION_NAMES_LIST = "annotation-names"


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
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A filter's help text documents the API parameter; the page speaks through its label.
        for field in self.fields.values():
            field.help_text = ""

    def common_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in COMMON_FILTERS]

    def more_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in MORE_FILTERS]

    def more_is_set(self) -> bool:
        """Whether one of the filters behind "More filters" has a value, so the bar opens them."""
        return any(self[name].value() not in (None, "", []) for name in MORE_FILTERS)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("annotation_name"):
            for name in NEEDS_ANNOTATION_NAME:
                if cleaned.get(name) not in (None, ""):
                    self.add_error(name, "Choose an annotation name to filter on.")
        return cleaned


def utc_datetime(raw: str) -> datetime | None:
    """An ISO 8601 time in UTC, a naive one taken as UTC (as Phoenix does); None when it is not one.

    Converted here, where a time near year 1 or 9999 that UTC cannot hold is refused, not in the database
    driver, where the same overflow is a 500.
    """
    try:
        value = parse_datetime(raw.replace("Z", "+00:00"))
        value = value.astimezone(UTC) if value and value.tzinfo else value
    except (ValueError, OverflowError):
        return None
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _array(description: str, **items: Any) -> dict[str, Any]:
    """The OpenAPI schema of a repeated query parameter."""
    return {"type": "array", "items": {"type": "string", **items}, "description": description}


def _datetime(description: str) -> dict[str, Any]:
    return {"type": "string", "format": "date-time", "description": description}


class ValuesField(forms.Field):
    """Every value of a repeated query key, deduplicated in order; a comma is not a separator."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[str]:
        values = [value] if isinstance(value, str) else list(value or [])
        return list(dict.fromkeys(values))


class ValuesFilter(django_filters.Filter):
    """Spans whose field is any of the values given."""

    field_class = ValuesField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("lookup_expr", "in")
        super().__init__(*args, **kwargs)


class OneOfSelect(forms.Select):
    """The page's select of one value; it reads every repeated value, which the API takes."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        return data.getlist(name) if hasattr(data, "getlist") else data.get(name)


class ChoicesInAnyCaseField(ValuesField):
    """Choices in any case, cleaned upper-cased. A select's "any" option (an empty value) is no filter."""

    def __init__(self, *, choices: Any, parameter: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices, self.parameter = list(choices), parameter

    def to_python(self, value: Any) -> list[str]:
        return [choice for choice in super().to_python(value) if choice != ""]

    def clean(self, value: Any) -> list[str]:
        given = self.to_python(value)
        known = {choice for choice, _label in self.choices}
        invalid = [choice for choice in given if choice.upper() not in known]
        if invalid:
            raise forms.ValidationError(f"Invalid {self.parameter} values: {invalid}", code=PHOENIX_TEXT)
        return [choice.upper() for choice in given]


class ChoicesInAnyCaseFilter(ValuesFilter):
    """On the page a select of one choice or "any"; refusals name the parameter."""

    field_class = ChoicesInAnyCaseField

    def __init__(self, *args: Any, field_name: str, choices: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", OneOfSelect(choices=[("", "any"), *choices]))
        super().__init__(*args, field_name=field_name, choices=choices, parameter=field_name, **kwargs)


class UtcDateTimeField(forms.Field):
    def to_python(self, value: Any) -> datetime | None:
        if value in (None, ""):
            return None
        parsed = utc_datetime(value)
        if parsed is None:
            raise forms.ValidationError("Input should be a valid datetime", code="datetime_parsing")
        return parsed


class UtcDateTimeFilter(django_filters.Filter):
    """Phoenix's time bound: ISO 8601, a naive time is UTC; refused in pydantic's words."""

    field_class = UtcDateTimeField


@dataclass(frozen=True)
class AttributeCondition:
    """`key:value` of Phoenix's `attribute` parameter, as a JSON path to alias and a condition on it."""

    alias: str
    path: KeyTransform
    condition: Q


def attribute_condition(raw: str) -> AttributeCondition:
    """A dotted key into the nested attributes and a JSON value; ValidationError in Phoenix's words."""
    key, sep, text = raw.partition(":")
    if not sep or not key.strip() or not text:
        raise forms.ValidationError(
            f"Invalid attribute '{raw}': expected format 'key:value'", code=PHOENIX_TEXT
        )
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    if value is None or isinstance(value, list | dict):
        raise forms.ValidationError(
            f"Invalid attribute '{raw}': the value must be a string, number or boolean", code=PHOENIX_TEXT
        )
    if isinstance(value, float):
        # JSON has no NaN or Infinity: ingestion stores them as text ("nan", "inf"), so match that text.
        value = finite_or_text(value)
    path: Any = "attributes"
    for part in key.strip().split("."):
        path = KeyTransform(part, path)
    alias = f"attribute_{sha1(raw.encode()).hexdigest()[:12]}"
    condition = Q(**{alias: value})
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) <= sys.float_info.max:
        # Stored JSON may hold 3 or 3.0 for the same number (an integer past a float's range has no twin).
        condition |= Q(**{alias: float(value)})
    return AttributeCondition(alias, path, condition)


class AttributesField(ValuesField):
    def clean(self, value: Any) -> list[AttributeCondition]:
        return [attribute_condition(raw) for raw in self.to_python(value)]


class AttributesFilter(ValuesFilter):
    field_class = AttributesField


def as_written(choices: type[models.TextChoices]) -> list[tuple[str, str]]:
    """Each value as its own label: the tables show kinds and statuses as stored (LLM, OK), not as Django
    names them from the member (Llm, Ok)."""
    return [(value, value) for value in choices.values]


class YesNoSelect(forms.NullBooleanSelect):
    """The page's "any / yes / no"; the API's `true` / `false`. Any other value reaches the field, which
    refuses it, instead of meaning "any"."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.choices = [("unknown", "any"), ("true", "yes"), ("false", "no")]

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        return data.get(name)


class YesNoField(forms.NullBooleanField):
    widget = YesNoSelect

    def to_python(self, value: Any) -> bool | None:
        if value in (None, "", "unknown"):
            return None
        if value in (True, "true", "True"):
            return True
        if value in (False, "false", "False"):
            return False
        raise forms.ValidationError("Input should be true or false", code="bool_parsing")


class YesNoFilter(django_filters.BooleanFilter):
    field_class = YesNoField


class SpanFilter(django_filters.FilterSet):
    # Phoenix's parameters (PHOENIX_COMPAT.md §3.4).
    start_time = extend_schema_field(_datetime("Starting at or after this time (naive = UTC)."))(
        UtcDateTimeFilter(field_name="start_time", lookup_expr="gte")
    )
    end_time = extend_schema_field(_datetime("Starting before this time (naive = UTC)."))(
        UtcDateTimeFilter(field_name="start_time", lookup_expr="lt")
    )
    trace_id = extend_schema_field(_array("OpenTelemetry trace ids."))(
        ValuesFilter(field_name="trace__trace_id")
    )
    span_id = extend_schema_field(_array("OpenTelemetry span ids."))(ValuesFilter(field_name="span_id"))
    parent_id = django_filters.CharFilter(
        method="filter_parent_id", label="Children of this span id; `null` for root spans."
    )
    name = extend_schema_field(_array("Exact span names."))(ValuesFilter(field_name="name"))
    span_kind = extend_schema_field(_array("Span kinds, any case.", enum=SpanKind.values))(
        ChoicesInAnyCaseFilter(field_name="span_kind", choices=as_written(SpanKind), label="Kind")
    )
    status_code = extend_schema_field(_array("Status codes, any case.", enum=StatusCode.values))(
        ChoicesInAnyCaseFilter(field_name="status_code", choices=as_written(StatusCode), label="Status")
    )
    attribute = extend_schema_field(
        _array(
            "`key:value`: a dotted key into the attributes and a JSON value (string, number or boolean); "
            "repeated conditions must all hold.",
            pattern=ATTRIBUTE_PATTERN,
        )
    )(AttributesFilter(method="filter_attribute"))
    # The review page's. `label` is the filter bar's word for it; `help_text` documents the API parameter.
    name_contains = django_filters.CharFilter(
        field_name="name", lookup_expr="icontains", label="Name contains"
    )
    q = django_filters.CharFilter(method="filter_text", label="Input or output contains")
    start_time_after = django_filters.IsoDateTimeFilter(
        field_name="start_time",
        lookup_expr="gte",
        label="From",
        help_text="Starting at or after this time.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    start_time_before = django_filters.IsoDateTimeFilter(
        field_name="start_time",
        lookup_expr="lte",
        label="To",
        help_text="Starting at or before this time.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    latency_min = django_filters.NumberFilter(
        field_name="latency_ms",
        lookup_expr="gte",
        label="Latency at least (ms)",
        help_text="Latency at least this, in ms.",
    )
    latency_max = django_filters.NumberFilter(
        field_name="latency_ms",
        lookup_expr="lte",
        label="Latency at most (ms)",
        help_text="Latency at most this, in ms.",
    )
    root = django_filters.BooleanFilter(
        field_name="parent_id",
        lookup_expr="isnull",
        widget=django_filters.widgets.BooleanWidget,
        label="true: root spans only; false: child spans only.",
    )
    annotation_name = django_filters.CharFilter(
        label="Annotation",
        help_text="Spans with an annotation of this name.",
        widget=forms.TextInput(attrs={"list": ANNOTATION_NAMES_LIST}),
    )
    label = django_filters.CharFilter(
        label="Label is", help_text="...whose label is this (needs annotation_name)."
    )
    label_not = django_filters.CharFilter(
        label="Label is not", help_text="...whose label is not this, or none (needs annotation_name)."
    )
    score_min = django_filters.NumberFilter(
        label="Score at least", help_text="...whose score is at least this (needs annotation_name)."
    )
    score_max = django_filters.NumberFilter(
        label="Score at most", help_text="...whose score is at most this (needs annotation_name)."
    )
    annotator_kind = django_filters.ChoiceFilter(
        choices=as_written(AnnotatorKind),
        empty_label="any",
        label="Annotator",
        help_text="...written by this kind.",
    )
    labelled_by = django_filters.ChoiceFilter(
        choices=[("me", "Me"), ("not_me", "Not me")],
        empty_label="anyone",
        label="Labelled by",
        help_text="...written by the requester, or not.",
    )
    missing_annotation = django_filters.CharFilter(
        method="filter_missing_annotation",
        label="Not yet annotated with",
        help_text="Spans nobody has annotated with this name.",
        widget=forms.TextInput(attrs={"list": ANNOTATION_NAMES_LIST, "placeholder": "annotation name"}),
    )
    # Retrieval metrics (annotations/retrieval.py): only retriever spans with a judged document have them.
    retrieval_hit = extend_schema_field(
        {
            "type": "boolean",
            "description": "Retriever spans with a judged document: true when one is relevant "
            "(relevance score above 0), false when none is.",
        }
    )(YesNoFilter(method="filter_retrieval_hit", label="Retrieval hit"))
    ndcg_below = django_filters.NumberFilter(
        method="filter_ndcg_below",
        label="NDCG below",
        help_text="Retriever spans with a judged document whose NDCG@k is below this.",
    )
    disagreement = django_filters.CharFilter(
        method="filter_disagreement",
        label="Reviewers disagree on",
        help_text="Spans whose HUMAN annotations of this name differ: labels, or scores for a continuous "
        "config (or a name without config whose annotations have no label).",
        widget=forms.TextInput(attrs={"list": ANNOTATION_NAMES_LIST, "placeholder": "annotation name"}),
    )
    condition = ConditionFilter(
        method="filter_condition",
        label="Filter expression",
        help_text="A Phoenix filter expression.",
        widget=forms.TextInput(
            attrs={"placeholder": "span_kind == 'LLM' and latency_ms > 1000", "autocomplete": "off"}
        ),
    )

    class Meta:
        model = Span
        fields: list[str] = []
        form = SpanFilterForm

    def refuse_unknown_columns(self) -> None:
        """The review page's stricter reading of the expression: a bare name that is no column is an error.

        Phoenix, and so the API, reads such a name as an attribute that matches nothing.
        """
        if self.is_valid() and self.form.cleaned_data.get("condition") is not None:
            for name in condition_names(self.form["condition"].value()).unknown_columns:
                self.form.add_error("condition", unknown_column_message(name))

    def narrows(self) -> bool:
        """Whether a valid filter is set, so that `qs` may hold fewer spans than `queryset`."""
        return self.is_valid() and any(
            value not in (None, "", []) for value in self.form.cleaned_data.values()
        )

    def annotation_names_asked(self) -> set[str]:
        """The span annotation names the valid filters ask about, in the name boxes or the expression."""
        cleaned = self.form.cleaned_data if self.is_valid() else {}
        names = {cleaned.get("annotation_name"), cleaned.get("missing_annotation")} - {None, ""}
        if cleaned.get("condition") is not None:
            names |= set(condition_names(self.form["condition"].value()).annotation_names)
        return names

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

    def filter_parent_id(self, queryset: QuerySet[Span], name: str, value: str) -> QuerySet[Span]:
        """Children of the span id; `null` means root spans (Phoenix's spelling)."""
        return (
            queryset.filter(parent_id__isnull=True) if value == "null" else queryset.filter(parent_id=value)
        )

    def filter_attribute(
        self, queryset: QuerySet[Span], name: str, value: list[AttributeCondition]
    ) -> QuerySet[Span]:
        """Spans whose attributes hold every `key:value` given."""
        for attribute in value:
            queryset = queryset.alias(**{attribute.alias: attribute.path}).filter(attribute.condition)
        return queryset

    def filter_missing_annotation(self, queryset: QuerySet[Span], name: str, value: str) -> QuerySet[Span]:
        """Spans that nobody has annotated with this name yet."""
        return queryset.filter(~Q(Exists(AnnotationScope("span", value).rows())))

    def filter_retrieval_hit(self, queryset: QuerySet[Span], name: str, value: bool) -> QuerySet[Span]:
        """Retriever spans with a judged document, one of them relevant (true) or none (false)."""
        return queryset.filter(retrieval_metrics__hit=value)

    def filter_ndcg_below(self, queryset: QuerySet[Span], name: str, value: Decimal) -> QuerySet[Span]:
        """Retriever spans with a judged document whose NDCG@k is below the value."""
        return queryset.filter(retrieval_metrics__ndcg__lt=value)

    def filter_disagreement(self, queryset: QuerySet[Span], name: str, value: str) -> QuerySet[Span]:
        """Spans whose reviewers differ on the name, as the Agreement page's disagreements count them."""
        level = rating_level(name=value, target=Target.SPAN)
        if level is None:
            return queryset.none()
        return queryset.filter(
            pk__in=RatingQuery(name=value, target=Target.SPAN, level=level).disagreeing_pks()
        )

    def filter_condition(self, queryset: QuerySet[Span], name: str, value: Q) -> QuerySet[Span]:
        """Spans matching the Phoenix filter expression, which ConditionField has translated already."""
        return queryset.filter(value)

    def _filter_feedback(self, queryset: QuerySet[Span], values: dict[str, Any]) -> QuerySet[Span]:
        labelled_by = values["labelled_by"]
        user = getattr(self.request, "user", None)
        if labelled_by and not (user and user.is_authenticated):
            # An anonymous requester has written no annotation: none is theirs, every one is not.
            return queryset.none() if labelled_by == "me" else queryset
        scope = AnnotationScope("span", values["annotation_name"] or None)
        predicate = feedback_predicate(values, user if labelled_by else None, scope)
        if predicate is None:
            return queryset
        found = predicate.span_q()
        return queryset.filter(~found if labelled_by == "not_me" else found)


def feedback_predicate(
    values: dict[str, Any], author: User | None, scope: AnnotationScope
) -> Predicate | None:
    """One annotation in scope meeting every feedback filter given (None when none is); see the module
    docstring. The Sessions tab asks it of session annotations, without `labelled_by`."""
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
        parts.append(Predicate(Q(user=author) | Q(identifier=reviewer_identifier(author.pk)), scope))
    if not parts and scope.name is not None:
        parts.append(Predicate(Q(), scope, when_missing=False))
    return combine(parts, "and") if parts else None
