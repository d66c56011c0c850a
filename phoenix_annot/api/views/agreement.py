"""Agreement between the raters of one annotation name over a project's spans (our own route)."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from phoenix_annot.agreement.coefficients import Estimate, Level
from phoenix_annot.agreement.ratings import (
    EVERYONE,
    HUMANS,
    RatingQuery,
    Target,
    TooManyRaters,
    rating_level,
)
from phoenix_annot.agreement.report import agreement_report
from phoenix_annot.agreement.within import Within, WithinError, within_queue, within_version
from phoenix_annot.core.globalid import GlobalIDError, from_global_id
from phoenix_annot.filtering.spans import SpanFilter
from phoenix_annot.tracing.models import Project, Span

from ..auth import V1Read
from ..errors import PlainError
from ..lookups import project_for
from ..params import PhoenixFilterBackend
from ..schema import PROJECT_NOT_FOUND, PROJECT_PATH, errors, query
from .queues import QUEUE_TYPE
from .spans import time_limited_filter

# The row sets that narrow the spans rated, by parameter, with the GlobalID type each takes.
WITHIN_PARAMS = {"queue_id": QUEUE_TYPE, "dataset_version_id": "DatasetVersion"}
WITHIN_QUERY = [
    query("queue_id", OpenApiTypes.STR, "Only the spans that are items of this AnnotationQueue."),
    query(
        "dataset_version_id",
        OpenApiTypes.STR,
        "Only the spans that are examples of this DatasetVersion (of the dataset it belongs to).",
    ),
]
WITHIN_NOT_FOUND = (
    "`queue_id: No queue <id> in this project.`, `dataset_version_id: No dataset version <id>.`"
)
WITHIN_INVALID = (
    "`<param>: Input should be a GlobalID (<type>)`, "
    "`queue_id, dataset_version_id: give one of them, not both`"
)


class EstimateOut(serializers.Serializer):
    value = serializers.FloatField(allow_null=True, help_text="Null when undefined (no variation).")
    items = serializers.IntegerField(help_text="Items with at least two values the figure rests on.")
    ci_low = serializers.FloatField(allow_null=True, help_text="95% jackknife interval over items.")
    ci_high = serializers.FloatField(allow_null=True)


class RaterOut(serializers.Serializer):
    name = serializers.CharField()
    annotator_kind = serializers.CharField()
    identifier = serializers.CharField(allow_blank=True)


class PairOut(EstimateOut):
    first = serializers.IntegerField(help_text="Index into raters.")
    second = serializers.IntegerField()


class AgreementOut(serializers.Serializer):
    annotation_name = serializers.CharField()
    level = serializers.ChoiceField(choices=[level.value for level in Level])
    rated_items = serializers.IntegerField()
    raters = RaterOut(many=True)
    percent_agreement = EstimateOut()
    fleiss_kappa = EstimateOut(allow_null=True, help_text="Labels only; null for scores.")
    krippendorff_alpha = EstimateOut()
    pairs = PairOut(
        many=True, help_text="Cohen's kappa per pair of raters (labels), or their interval alpha (scores)."
    )


def estimate_data(estimate: Estimate) -> dict[str, Any]:
    return {
        "value": estimate.value,
        "items": estimate.items,
        "ci_low": estimate.low,
        "ci_high": estimate.high,
    }


class AnnotationAgreementView(GenericAPIView):
    queryset = Span.objects.none()  # the model, for the OpenAPI document
    permission_classes = [V1Read]
    filter_backends = [PhoenixFilterBackend]
    filterset_class = SpanFilter

    @extend_schema(
        operation_id="getAnnotationAgreement",
        summary="Agreement between the raters of one span annotation name, over the spans the filters keep",
        description="Percent agreement, Fleiss' kappa and Krippendorff's alpha (nominal for labels, "
        "interval for scores) with their item counts and 95% jackknife intervals, and each pair of raters. "
        "A rater is a reviewer's Annotate panel, a HUMAN writer's identifier, or (raters=everyone) an LLM or "
        "CODE annotator's identifier. The filters are GET /v1/projects/{identifier}/spans's.",
        parameters=[
            PROJECT_PATH,
            query("annotation", OpenApiTypes.STR, "The span annotation name to rate.", required=True),
            query(
                "raters",
                {"type": "string", "enum": ["humans", "everyone"]},
                "humans (default): HUMAN annotations; everyone: LLM and CODE annotators too.",
            ),
            *WITHIN_QUERY,
        ],
        responses={
            200: inline_serializer("AnnotationAgreementResponseBody", {"data": AgreementOut()}),
            **errors(
                {
                    404: f"{PROJECT_NOT_FOUND} or {WITHIN_NOT_FOUND}",
                    422: "`annotation is required: ...`, `annotation '<name>' is freeform: free text is "
                    f"not rated`, {WITHIN_INVALID}, `raters: <n> raters gave this name on these rows; ...` "
                    "(more than 50), or a refused filter, as GET .../spans answers it.",
                }
            ),
        },
    )
    def get(self, request: Request, identifier: str) -> Response:
        project = project_for(request, identifier)
        name = (request.query_params.get("annotation") or "").strip()
        if not name:
            raise PlainError(422, "annotation is required: the span annotation name to rate")
        level = rating_level(name=name, target=Target.SPAN)
        if level is None:
            raise PlainError(422, f"annotation '{name}' is freeform: free text is not rated")
        within = requested_within(request, project)
        with time_limited_filter():
            rows = self.filter_queryset(Span.objects.for_project(project))
            if within:
                rows = within.narrowed(rows, Target.SPAN)
            kinds = EVERYONE if request.query_params.get("raters") == "everyone" else HUMANS
            try:
                report = agreement_report(
                    RatingQuery(name=name, target=Target.SPAN, level=level, rows=rows, kinds=kinds)
                )
            except TooManyRaters as exc:
                raise PlainError(422, f"raters: {exc}") from None
        data = {
            "annotation_name": name,
            "level": level.value,
            "rated_items": report.rated_items,
            "raters": [
                {"name": r.name, "annotator_kind": r.kind, "identifier": r.identifier} for r in report.raters
            ],
            "percent_agreement": estimate_data(report.percent),
            "fleiss_kappa": estimate_data(report.fleiss) if report.fleiss else None,
            "krippendorff_alpha": estimate_data(report.alpha),
            "pairs": [
                {"first": first, "second": second, **estimate_data(estimate)}
                for (first, second), estimate in sorted(report.pairs.items())
            ],
        }
        return Response({"data": data})


def requested_within(request: Request, project: Project) -> Within | None:
    """`queue_id` or `dataset_version_id`: the spans rated narrowed to a queue's items or a version's
    examples."""
    given = [(param, value) for param in WITHIN_PARAMS if (value := request.query_params.get(param))]
    if not given:
        return None
    if len(given) > 1:
        raise PlainError(422, "queue_id, dataset_version_id: give one of them, not both")
    ((param, value),) = given
    type_name = WITHIN_PARAMS[param]
    try:
        pk = from_global_id(value, type_name)[1]
    except GlobalIDError:
        raise PlainError(422, f"{param}: Input should be a GlobalID ({type_name})") from None
    try:
        return within_queue(project=project, pk=pk) if param == "queue_id" else within_version(pk=pk)
    except WithinError as exc:
        raise PlainError(404, f"{param}: {exc}") from None
