"""How far an LLM or CODE annotator agrees with the humans on one span label name (our own route)."""

from typing import Any

from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from phoenix_annot.agreement.alignment import AlignmentReport, Judge, JudgeQuery, Window
from phoenix_annot.agreement.coefficients import Level
from phoenix_annot.agreement.ratings import Target, rating_level
from phoenix_annot.filtering.spans import SpanFilter
from phoenix_annot.tracing.models import Span

from ..auth import V1Read
from ..errors import PlainError
from ..lookups import project_for
from ..params import PhoenixFilterBackend
from ..schema import PROJECT_NOT_FOUND, PROJECT_PATH, errors, query
from .agreement import (
    WITHIN_INVALID,
    WITHIN_NOT_FOUND,
    WITHIN_QUERY,
    EstimateOut,
    estimate_data,
    requested_within,
)
from .spans import time_limited_filter


class JudgeOut(serializers.Serializer):
    annotator_kind = serializers.CharField()
    identifier = serializers.CharField(allow_blank=True)
    rows = serializers.IntegerField(help_text="Spans it labelled under the filters and in the window.")


class LabelOut(serializers.Serializer):
    label = serializers.CharField()
    support = serializers.IntegerField(help_text="Spans whose human label is this one.")
    precision = serializers.FloatField(allow_null=True)
    recall = serializers.FloatField(allow_null=True)
    f1 = serializers.FloatField(allow_null=True)


class WeekOut(serializers.Serializer):
    week_start = serializers.DateField(help_text="Monday (UTC) of the week the judge wrote its labels.")
    items = serializers.IntegerField()
    accuracy = serializers.FloatField()
    cohen_kappa = serializers.FloatField(allow_null=True)


class HumanOut(serializers.Serializer):
    username = serializers.CharField()
    label = serializers.CharField()
    explanation = serializers.CharField(allow_null=True)
    gold = serializers.BooleanField()


class DisagreementOut(serializers.Serializer):
    span_id = serializers.CharField()
    judge_label = serializers.CharField()
    judge_explanation = serializers.CharField(allow_null=True)
    judged_at = serializers.DateTimeField()
    human_label = serializers.CharField()
    humans = HumanOut(many=True)


class AlignmentOut(serializers.Serializer):
    annotation_name = serializers.CharField()
    judge = JudgeOut(allow_null=True, help_text="Null when no LLM or CODE annotator labelled the name.")
    judges = JudgeOut(many=True, help_text="Every LLM or CODE annotator of the name, most rows first.")
    items = serializers.IntegerField(
        help_text="Spans compared: labelled by the judge and with a human label."
    )
    from_gold = serializers.IntegerField()
    from_majority = serializers.IntegerField()
    ties = serializers.IntegerField(help_text="Left out: the humans are tied.")
    unreviewed = serializers.IntegerField(help_text="Left out: no human label.")
    labels = serializers.ListField(child=serializers.CharField())
    confusion_matrix = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text="confusion_matrix[i][j]: spans whose human label is labels[i] and the judge's labels[j].",
    )
    per_label = LabelOut(many=True)
    accuracy = serializers.FloatField(allow_null=True)
    cohen_kappa = EstimateOut()
    weeks = WeekOut(many=True)
    disagreement_count = serializers.IntegerField()
    disagreements = DisagreementOut(many=True, help_text="The latest 100, newest first.")


class JudgeAlignmentView(GenericAPIView):
    queryset = Span.objects.none()  # the model, for the OpenAPI document
    permission_classes = [V1Read]
    filter_backends = [PhoenixFilterBackend]
    filterset_class = SpanFilter

    @extend_schema(
        operation_id="getJudgeAlignment",
        summary="How far an LLM or CODE annotator agrees with the humans on one span label name",
        description="The judge's labels against each span's human label: its gold annotation (identifier "
        "'gold') where it has one, else the label most HUMAN annotators gave (a tie is left out). Confusion "
        "matrix, precision, recall and F1 per label, accuracy, Cohen's kappa with its 95% jackknife "
        "interval, the same per week, and the spans where they differ with both explanations. The filters "
        "are GET /v1/projects/{identifier}/spans's.",
        parameters=[
            PROJECT_PATH,
            query("annotation", OpenApiTypes.STR, "The span label name to compare.", required=True),
            query(
                "judge",
                OpenApiTypes.STR,
                "<annotator_kind>:<identifier> of the judge, e.g. 'LLM:' (default: the one with most spans).",
            ),
            query("since", OpenApiTypes.DATE, "First day (UTC) of the judge's labels compared."),
            query("until", OpenApiTypes.DATE, "Last day (UTC) of the judge's labels compared."),
            *WITHIN_QUERY,
        ],
        responses={
            200: inline_serializer("JudgeAlignmentResponseBody", {"data": AlignmentOut()}),
            **errors(
                {
                    404: f"{PROJECT_NOT_FOUND} or {WITHIN_NOT_FOUND}",
                    422: "`annotation is required: ...`, a name that holds no labels, a bad since or until, "
                    f"a judge that labelled nothing here, {WITHIN_INVALID}, or a refused filter, as "
                    "GET .../spans answers it.",
                }
            ),
        },
    )
    def get(self, request: Request, identifier: str) -> Response:
        project = project_for(request, identifier)
        params = request.query_params
        name = (params.get("annotation") or "").strip()
        if not name:
            raise PlainError(422, "annotation is required: the span label name to compare")
        if rating_level(name=name, target=Target.SPAN) != Level.NOMINAL:
            raise PlainError(422, f"annotation '{name}' holds no labels: judge alignment compares labels")
        try:
            window = Window.parse(params.get("since"), params.get("until"))
        except ValidationError as exc:
            raise PlainError(422, " ".join(" ".join(texts) for texts in exc.message_dict.values())) from None
        within = requested_within(request, project)
        with time_limited_filter():
            rows = self.filter_queryset(Span.objects.for_project(project))
            if within:
                rows = within.narrowed(rows, Target.SPAN)
            judge_query = JudgeQuery(name=name, target=Target.SPAN, rows=rows, window=window)
            judges = judge_query.judges()
            asked = params.get("judge")
            judge = next((j for j in judges if asked in (None, f"{j.kind}:{j.identifier}")), None)
            if judge is None and asked is not None:
                raise PlainError(422, f"judge '{asked}' labelled no '{name}' on these spans")
            report = AlignmentReport.without_judge() if judge is None else judge_query.report(judge)
        return Response({"data": _data(name, judges, report)})


def _judge(judge: Judge | None) -> dict[str, Any] | None:
    if judge is None:
        return None
    return {"annotator_kind": judge.kind, "identifier": judge.identifier, "rows": judge.rows}


def _data(name: str, judges: list[Judge], report: AlignmentReport) -> dict[str, Any]:
    figures = report.figures
    span_ids = dict(
        Span.objects.filter(pk__in=[row.target_pk for row in report.disagreements]).values_list(
            "pk", "span_id"
        )
    )
    return {
        "annotation_name": name,
        "judge": _judge(report.judge),
        "judges": [_judge(judge) for judge in judges],
        "items": figures.items,
        "from_gold": report.from_gold,
        "from_majority": report.from_majority,
        "ties": report.ties,
        "unreviewed": report.unreviewed,
        "labels": figures.labels,
        "confusion_matrix": figures.matrix,
        "per_label": [vars(label) for label in figures.per_label],
        "accuracy": figures.accuracy,
        "cohen_kappa": estimate_data(figures.kappa),
        "weeks": [
            {"week_start": w.start, "items": w.items, "accuracy": w.accuracy, "cohen_kappa": w.kappa}
            for w in figures.weeks
        ],
        "disagreement_count": report.disagreement_count,
        "disagreements": [
            {
                "span_id": span_ids[row.target_pk],
                "judge_label": row.judge_label,
                "judge_explanation": row.judge_explanation,
                "judged_at": row.at,
                "human_label": row.reference,
                "humans": [
                    {"username": h.who, "label": h.label, "explanation": h.explanation, "gold": h.gold}
                    for h in row.humans
                ],
            }
            for row in report.disagreements
        ],
    }
