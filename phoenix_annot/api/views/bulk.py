"""Bulk labelling over REST (our own routes; Phoenix has none): one label of a config written to many
spans, traces or sessions of a project, named by id or by GET .../spans's filters, as one action; and its
undo. The rules are annotations/bulk.py's."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from phoenix_annot.annotations.bulk import (
    BULK_TARGETS,
    BulkLabel,
    BulkPlan,
    BulkUndoRefused,
    annotation_bulk_undo,
    annotations_bulk_label,
    bulk_label_plan,
)
from phoenix_annot.annotations.models import (
    AnnotationBulkAction,
    AnnotationSource,
    AnnotatorKind,
    BulkActionKind,
    PendingTarget,
)
from phoenix_annot.annotations.services import TARGETS
from phoenix_annot.core.globalid import GlobalIDError, from_global_id, to_global_id
from phoenix_annot.filtering.spans import SpanFilter
from phoenix_annot.tracing.models import Project, Span

from ..errors import PlainError, RequestValidationError
from ..lookups import project_for, reached
from ..params import LiteralField, PhoenixFilterBackend
from ..schema import PROJECT_PATH, data_envelope, errors, global_id_path
from ..wire import envelope, iso, validated
from .annotations import acting_user

TYPE_NAME = "AnnotationBulkAction"
MAX_IDS = 10_000


class BulkLabelInput(serializers.Serializer):
    target = LiteralField(BULK_TARGETS, default=PendingTarget.SPAN.value, help_text="What the rows are.")
    ids = serializers.ListField(
        child=serializers.CharField(),
        max_length=MAX_IDS,
        required=False,
        help_text="The rows: span or trace OpenTelemetry ids, or session.ids, of the project.",
    )
    all_matching = serializers.BooleanField(
        default=False,
        help_text="Instead of ids: the spans that GET /v1/projects/{identifier}/spans's filters, given in "
        "this request's query string, keep (with target trace or session: their traces or sessions).",
    )
    name = serializers.CharField(help_text="The name of an annotation config of the project.")
    label = serializers.CharField(required=False, allow_null=True, default=None)
    score = serializers.FloatField(required=False, allow_null=True, default=None)
    explanation = serializers.CharField(required=False, allow_null=True, default=None)
    annotator_kind = LiteralField(AnnotatorKind.values, default=AnnotatorKind.HUMAN.value)
    identifier = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="The rows' identifier; none by default."
    )
    dry_run = serializers.BooleanField(
        default=False, help_text="Count what the label would do (the confirmation), write nothing."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("ids")) == attrs["all_matching"]:
            raise serializers.ValidationError({"ids": "Give either ids or all_matching: true."})
        return attrs


class OwnerCount(serializers.Serializer):
    username = serializers.CharField(allow_null=True, help_text="null: the rows belong to no user.")
    rows = serializers.IntegerField()


class BulkActionOut(serializers.Serializer):
    id = serializers.CharField(allow_null=True, help_text=f"{TYPE_NAME} GlobalID; null in a dry run.")
    kind = serializers.ChoiceField(choices=BulkActionKind.values)
    undoes = serializers.CharField(allow_null=True, help_text="An undo: the GlobalID of the label it undid.")
    target = serializers.ChoiceField(choices=BULK_TARGETS)
    name = serializers.CharField()
    identifier = serializers.CharField(allow_blank=True)
    label = serializers.CharField(allow_null=True)
    score = serializers.FloatField(allow_null=True)
    explanation = serializers.CharField(allow_null=True)
    selected = serializers.IntegerField(help_text="Rows selected (an undo: rows it put back).")
    unchanged = serializers.IntegerField(help_text="Rows already holding these values, left alone.")
    created = serializers.IntegerField(help_text="Annotations created (an undo: deleted).")
    replaced = serializers.IntegerField(help_text="Annotations whose values were replaced (or restored).")
    skipped = serializers.IntegerField(
        help_text="Rows holding another user's value the caller may not replace."
    )
    replaced_owners = OwnerCount(many=True, allow_null=True, help_text="Dry run only: whose values.")
    skipped_owners = OwnerCount(many=True, allow_null=True, help_text="Dry run only: whose values.")
    user_id = serializers.CharField(allow_null=True, help_text="User GlobalID of who did it.")
    created_at = serializers.DateTimeField(allow_null=True)
    undone_at = serializers.DateTimeField(allow_null=True)


class ProjectBulkActionsView(GenericAPIView):
    queryset = Span.objects.none()  # the model, for the OpenAPI document
    serializer_class = BulkLabelInput  # what OPTIONS describes
    filter_backends = [PhoenixFilterBackend]
    filterset_class = SpanFilter

    @extend_schema(
        operation_id="createAnnotationBulkAction",
        summary="Write one label, score or explanation of a config to many spans, traces or sessions",
        description="In one transaction, recorded in the history as one action that POST "
        "/v1/annotation_bulk_actions/{id}/undo takes back. Rows already holding the values are left alone; "
        "rows holding another user's value are skipped unless the caller is an admin (LLM and CODE rows "
        "may replace each other, as for every write). At most PHOENIX_ANNOT_BULK_LABEL_MAX_ROWS rows.",
        parameters=[PROJECT_PATH],
        request=BulkLabelInput,
        responses={
            200: data_envelope("CreateAnnotationBulkActionResponseBody", BulkActionOut()),
            **errors(
                {
                    403: "Viewers; or an identifier that is another reviewer's px-app: one.",
                    404: "Unknown project, or `<Target>s with IDs <id>, <id> do not exist in project "
                    "<name>.`: nothing was written.",
                    422: "A field the label refuses, named (`name`, `label`, `score`, `explanation`, "
                    "`rows` past the limit), or a refused filter.",
                }
            ),
        },
    )
    def post(self, request: Request, identifier: str) -> Response:
        project = project_for(request, identifier)
        body = validated(BulkLabelInput, request.data)
        target = PendingTarget(body["target"])
        label = BulkLabel(
            name=body["name"],
            label=body["label"],
            score=body["score"],
            explanation=body["explanation"],
            annotator_kind=body["annotator_kind"],
            identifier=body["identifier"],
            source=AnnotationSource.API,
        )
        user = acting_user(request)
        targets = self._targets(request, project, target, body)
        # No filter time limit: it would bound the write's statements too, and the row limit bounds those.
        try:
            if body["dry_run"]:
                plan = bulk_label_plan(
                    project=project, target_kind=target, targets=targets, label=label, user=user
                )
                return Response(envelope(_plan_data(plan, target)))
            action = annotations_bulk_label(
                project=project, target_kind=target, targets=targets, label=label, user=user
            )
        except ValidationError as refused:
            problems = {name: " ".join(messages) for name, messages in refused.message_dict.items()}
            raise RequestValidationError(problems, data=request.data) from None
        return Response(envelope(action_data(action)))

    def _targets(self, request: Request, project: Project, target: PendingTarget, body: dict) -> QuerySet:
        spec = TARGETS[target]
        if body["all_matching"]:
            spans = self.filter_queryset(Span.objects.filter(project=project))
            if target == PendingTarget.SPAN:
                return spans
            if target == PendingTarget.TRACE:
                return spec.target_model.objects.filter(pk__in=spans.values("trace_id"))
            return spec.target_model.objects.filter(pk__in=spans.values("trace__session_id"))
        ids = sorted(set(body["ids"]))
        targets = spec.target_model.objects.filter(project=project, **{f"{spec.key_field}__in": ids})
        found = set(targets.values_list(spec.key_field, flat=True))
        missing = [key for key in ids if key not in found]
        if missing:
            listed = ", ".join(missing)
            raise PlainError(
                404, f"{target.capitalize()}s with IDs {listed} do not exist in project {project.name}."
            )
        return targets


class BulkActionUndoView(APIView):
    @extend_schema(
        operation_id="undoAnnotationBulkAction",
        summary="Undo a bulk label: every row it changed back as it was, as one more action",
        description="Deletes the annotations it created and gives those it replaced back their values, owner "
        "and source. Refused (409, nothing changed) for an undo, a label undone already, or when any row it "
        "wrote was changed or deleted since. Its author or an admin may undo it.",
        parameters=[global_id_path("action_id", TYPE_NAME)],
        request=None,
        responses={
            200: data_envelope("UndoAnnotationBulkActionResponseBody", BulkActionOut()),
            **errors(
                {
                    403: "Viewers, or an annotator undoing somebody else's bulk label.",
                    404: f"`{TYPE_NAME} with ID <id> not found`.",
                    409: "Undone already, an undo itself, or `<n> of the <m> annotations this bulk label "
                    "wrote were changed or deleted since; nothing was undone.`",
                },
                validation=False,
            ),
        },
    )
    def post(self, request: Request, action_id: str) -> Response:
        try:
            pk = from_global_id(action_id, TYPE_NAME)[1]
        except GlobalIDError:
            pk = None
        action = reached(request, AnnotationBulkAction.objects.all(), pk=pk) if pk is not None else None
        if action is None:
            raise PlainError(404, f"{TYPE_NAME} with ID {action_id} not found")
        try:
            undo = annotation_bulk_undo(action=action, user=acting_user(request))
        except BulkUndoRefused as refused:
            raise PlainError(409, str(refused)) from None
        return Response(envelope(action_data(undo)))


def action_data(action: AnnotationBulkAction) -> dict[str, Any]:
    return {
        "id": to_global_id(TYPE_NAME, action.pk),
        "kind": action.kind,
        "undoes": to_global_id(TYPE_NAME, action.undoes_id) if action.undoes_id else None,
        "target": action.target_kind,
        "name": action.name,
        "identifier": action.identifier,
        "label": action.label,
        "score": action.score,
        "explanation": action.explanation,
        "selected": action.selected_count,
        "unchanged": action.selected_count
        - action.created_count
        - action.replaced_count
        - action.skipped_count,
        "created": action.created_count,
        "replaced": action.replaced_count,
        "skipped": action.skipped_count,
        "replaced_owners": None,
        "skipped_owners": None,
        "user_id": to_global_id("User", action.user_id) if action.user_id else None,
        "created_at": iso(action.at),
        "undone_at": iso(action.undone_at) if action.undone_at else None,
    }


def _plan_data(plan: BulkPlan, target: str) -> dict[str, Any]:
    label = plan.label
    return {
        "id": None,
        "kind": BulkActionKind.LABEL,
        "undoes": None,
        "target": target,
        "name": label.name,
        "identifier": label.identifier,
        "label": label.label,
        "score": label.score,
        "explanation": label.explanation,
        "selected": plan.selected,
        "unchanged": plan.unchanged,
        "created": len(plan.created),
        "replaced": len(plan.replaced_rows),
        "skipped": plan.skipped_count,
        "replaced_owners": _owners(plan.replaced_owners),
        "skipped_owners": _owners(plan.skipped_owners),
        "user_id": None,
        "created_at": None,
        "undone_at": None,
    }


def _owners(owners: list[tuple[str | None, int]]) -> list[dict[str, Any]]:
    return [{"username": username, "rows": rows} for username, rows in owners]
