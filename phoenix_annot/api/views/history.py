"""The annotation history of a project over REST: our own route (Phoenix has none), in Phoenix's style,
`{"data": [...], "next_cursor": ...}`, newest first. Anybody who may read the project may read it."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from phoenix_annot.annotations.models import AnnotationEvent, EventAction, EventVia, PendingTarget
from phoenix_annot.core.globalid import GlobalIDError, from_global_id, to_global_id

from ..lookups import project_for
from ..params import LimitField, LiteralField, QueryDateTime, QueryParams, paginate_desc, query_error
from ..schema import PROJECT_PATH, cursor_field, errors, page_envelope
from ..wire import iso, page
from .bulk import TYPE_NAME as BULK_TYPE_NAME

TYPE_NAME = "AnnotationEvent"
MAX_LIST_LIMIT = 1000
# The GlobalID type of the annotation an event is about, by target kind, as the annotation routes name it.
ANNOTATION_TYPES = {
    PendingTarget.SPAN: "SpanAnnotation",
    PendingTarget.TRACE: "TraceAnnotation",
    PendingTarget.SESSION: "ProjectSessionAnnotation",
    PendingTarget.DOCUMENT: "DocumentAnnotation",
}


class EventListParams(QueryParams):
    target_kind = LiteralField(PendingTarget.values, required=False, help_text="Only events of this kind.")
    name = serializers.CharField(required=False, help_text="Only events of annotations of this name.")
    user = serializers.CharField(required=False, help_text="Only changes made by this User GlobalID.")
    since = QueryDateTime(required=False, help_text="Made at or after (naive = UTC).")
    until = QueryDateTime(required=False, help_text="Made before (naive = UTC).")
    cursor = cursor_field(TYPE_NAME)
    limit = LimitField(default=100, maximum=MAX_LIST_LIMIT)


class ValuesOut(serializers.Serializer):
    annotator_kind = serializers.CharField()
    result = serializers.DictField(help_text="label, score and explanation.")
    metadata = serializers.DictField()


class EventOut(serializers.Serializer):
    id = serializers.CharField(help_text="AnnotationEvent GlobalID")
    action = serializers.ChoiceField(choices=EventAction.values)
    via = serializers.ChoiceField(choices=EventVia.values, help_text="Through what the change came.")
    target_kind = serializers.ChoiceField(choices=PendingTarget.values)
    target_id = serializers.CharField(help_text="The span's or trace's OpenTelemetry id, or the session.id.")
    document_position = serializers.IntegerField(allow_null=True, help_text="Document events only.")
    annotation_id = serializers.CharField(help_text="GlobalID of the annotation (gone after a delete).")
    name = serializers.CharField()
    identifier = serializers.CharField(allow_blank=True)
    before = ValuesOut(allow_null=True, help_text="null for a create.")
    after = ValuesOut(allow_null=True, help_text="null for a delete.")
    user_id = serializers.CharField(allow_null=True, help_text="User GlobalID of who made the change.")
    bulk_action_id = serializers.CharField(
        allow_null=True,
        help_text="AnnotationBulkAction GlobalID when the change was a bulk label or its undo, else null.",
    )
    created_at = serializers.DateTimeField(help_text="When the change was made.")


class ProjectAnnotationEventsView(APIView):
    @extend_schema(
        operation_id="listAnnotationEvents",
        summary="List the history of a project's annotations (every create, update and delete), newest first",
        parameters=[PROJECT_PATH, EventListParams],
        responses={
            200: page_envelope("AnnotationEventsResponseBody", EventOut(many=True)),
            **errors({404: "Unknown project.", 422: "`Invalid cursor format: <cursor>`."}),
        },
    )
    def get(self, request: Request, identifier: str) -> Response:
        project = project_for(request, identifier)
        params = EventListParams.read(request)
        events = AnnotationEvent.objects.filter(project_pk=project.pk)
        if kind := params.get("target_kind"):
            events = events.filter(target_kind=kind)
        if name := params.get("name"):
            events = events.filter(name=name)
        if user := params.get("user"):
            events = events.filter(user_id=_user_pk(user))
        if since := params.get("since"):
            events = events.filter(at__gte=since)
        if until := params.get("until"):
            events = events.filter(at__lt=until)
        rows, next_cursor = paginate_desc(events, request=request, type_name=TYPE_NAME, limit=params["limit"])
        return Response(page([_data(event) for event in rows], next_cursor))


def _user_pk(user: str) -> int:
    try:
        return from_global_id(user, "User")[1]
    except GlobalIDError:
        raise query_error("user", "Input should be a User GlobalID", user) from None


def _data(event: AnnotationEvent) -> dict[str, Any]:
    return {
        "id": to_global_id(TYPE_NAME, event.pk),
        "action": event.action,
        "via": event.via,
        "target_kind": event.target_kind,
        "target_id": event.target_key,
        "document_position": event.document_position,
        "annotation_id": to_global_id(ANNOTATION_TYPES[event.target_kind], event.annotation_pk),
        "name": event.name,
        "identifier": event.identifier,
        "before": _values(event.before),
        "after": _values(event.after),
        "user_id": to_global_id("User", event.user_id) if event.user_id else None,
        "bulk_action_id": to_global_id(BULK_TYPE_NAME, event.bulk_action_id)
        if event.bulk_action_id
        else None,
        "created_at": iso(event.at),
    }


def _values(values: dict[str, Any] | None) -> dict[str, Any] | None:
    """An annotation's values in the shape the annotation routes give them."""
    if values is None:
        return None
    return {
        "annotator_kind": values["annotator_kind"],
        "result": {"label": values["label"], "score": values["score"], "explanation": values["explanation"]},
        "metadata": values["metadata"],
    }
