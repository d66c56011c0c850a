"""Span and trace annotations over REST (PHOENIX_COMPAT.md §3.1 to §3.3). One class serves both targets."""

from abc import ABC, abstractmethod
from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import (
    NOTE_NAME,
    AnnotationBase,
    AnnotationSource,
    AnnotatorKind,
    SpanAnnotation,
    TraceAnnotation,
)
from phoenix_annot.annotations.services import (
    AnnotationWrite,
    MissingTargets,
    span_annotation_note_add,
    span_annotations_upsert,
    trace_annotations_upsert,
)
from phoenix_annot.core.globalid import to_global_id

from ..errors import PlainError, RequestValidationError
from ..lookups import project_from_identifier
from ..params import paginate_desc, query_bool, query_datetime, query_error, query_int, query_list
from ..wire import envelope, iso, page, validated

MAX_ANNOTATIONS_PER_REQUEST = 10_000
MAX_IDS_PER_QUERY = 1000


class ResultInput(serializers.Serializer):
    label = serializers.CharField(allow_null=True, allow_blank=True, required=False, trim_whitespace=False)
    score = serializers.FloatField(allow_null=True, required=False)
    explanation = serializers.CharField(
        allow_null=True, allow_blank=True, required=False, trim_whitespace=False
    )


class AnnotationInput(serializers.Serializer):
    name = serializers.CharField(max_length=255, trim_whitespace=False)
    annotator_kind = serializers.ChoiceField(choices=AnnotatorKind.values)
    result = ResultInput(allow_null=True, required=False)
    metadata = serializers.DictField(allow_null=True, required=False)
    identifier = serializers.CharField(
        allow_blank=True, max_length=255, required=False, default="", trim_whitespace=False
    )


class SpanAnnotationInput(AnnotationInput):
    span_id = serializers.CharField(max_length=16)


class TraceAnnotationInput(AnnotationInput):
    trace_id = serializers.CharField(max_length=32)


class AnnotationsBody(serializers.Serializer):
    data = serializers.ListField(child=serializers.DictField(), max_length=MAX_ANNOTATIONS_PER_REQUEST)


class SpanNoteInput(serializers.Serializer):
    span_id = serializers.CharField(min_length=1)
    note = serializers.CharField(min_length=1)
    identifier = serializers.CharField(allow_blank=True, required=False, default="")


class SpanNoteBody(serializers.Serializer):
    data = SpanNoteInput()


def acting_user(request: Request) -> User | None:
    return request.user if request.user.is_authenticated else None


class AnnotationTarget(ABC):
    """What differs between span and trace annotations on the wire."""

    model: type[AnnotationBase]
    input_class: type[AnnotationInput]
    target_field: str
    key: str
    type_name: str
    plural: str
    notes_route: str

    @abstractmethod
    def upsert(self, writes: list[AnnotationWrite], *, user: User | None, sync: bool) -> list[int | None]: ...


class SpanTarget(AnnotationTarget):
    model = SpanAnnotation
    input_class = SpanAnnotationInput
    target_field, key, type_name, plural, notes_route = (
        "span",
        "span_id",
        "SpanAnnotation",
        "Spans",
        "span_notes",
    )

    def upsert(self, writes: list[AnnotationWrite], *, user: User | None, sync: bool) -> list[int | None]:
        return span_annotations_upsert(
            writes=writes, source=AnnotationSource.API, user=user, keep_missing=not sync
        )


class TraceTarget(AnnotationTarget):
    model = TraceAnnotation
    input_class = TraceAnnotationInput
    target_field, key, type_name, plural, notes_route = (
        "trace",
        "trace_id",
        "TraceAnnotation",
        "Traces",
        "trace_notes",
    )

    def upsert(self, writes: list[AnnotationWrite], *, user: User | None, sync: bool) -> list[int | None]:
        return trace_annotations_upsert(writes=writes, source=AnnotationSource.API, user=user)


class AnnotationWriteView(APIView):
    """POST /v1/span_annotations and /v1/trace_annotations: `{"data": [...]}` or one bare object."""

    target: AnnotationTarget

    def post(self, request: Request) -> Response:
        items = self._items(request.data)
        if any(item["name"] == NOTE_NAME for item in items):
            raise PlainError(
                400,
                f"The name '{NOTE_NAME}' is reserved for trace and span notes. "
                f"Use POST /v1/{self.target.notes_route} instead.",
            )
        sync = query_bool(request, "sync", False)
        writes = [self._write(item) for item in items]
        try:
            ids = self.target.upsert(writes, user=acting_user(request), sync=sync) if writes else []
        except MissingTargets as missing:
            raise PlainError(
                404, f"{self.target.plural} with IDs {', '.join(missing.ids)} do not exist."
            ) from None
        if not sync:
            return Response(envelope([]))
        return Response(envelope([{"id": to_global_id(self.target.type_name, pk)} for pk in ids]))

    def _items(self, body: Any) -> list[dict[str, Any]]:
        if isinstance(body, dict) and "data" not in body and self.target.key in body:
            body = {"data": [body]}
        wrapper = validated(AnnotationsBody, body)
        items = serializers.ListSerializer(child=self.target.input_class(), data=wrapper["data"])
        if not items.is_valid():
            raise RequestValidationError({"data": items.errors}, data=body)
        return items.validated_data

    def _write(self, item: dict[str, Any]) -> AnnotationWrite:
        result = item.get("result") or {}
        return AnnotationWrite(
            target_id=item[self.target.key],
            name=item["name"],
            annotator_kind=item["annotator_kind"],
            label=result.get("label"),
            score=result.get("score"),
            explanation=result.get("explanation"),
            metadata=item.get("metadata") or {},
            identifier=item["identifier"],
        )


class SpanAnnotationWriteView(AnnotationWriteView):
    target = SpanTarget()


class TraceAnnotationWriteView(AnnotationWriteView):
    target = TraceTarget()


class SpanNoteView(APIView):
    def post(self, request: Request) -> Response:
        note = validated(SpanNoteBody, request.data)["data"]
        try:
            annotation = span_annotation_note_add(
                span_id=note["span_id"].strip(),
                text=note["note"].strip(),
                identifier=note["identifier"],
                user=acting_user(request),
            )
        except MissingTargets:
            raise PlainError(404, f"Span with ID {note['span_id']} not found") from None
        return Response(envelope({"id": to_global_id("SpanAnnotation", annotation.pk)}))


class ProjectAnnotationsView(APIView):
    """GET and DELETE /v1/projects/{id}/span_annotations (and trace_annotations)."""

    target: AnnotationTarget

    def get(self, request: Request, identifier: str) -> Response:
        project = project_from_identifier(identifier)
        key = self.target.key
        target_ids = query_list(request, f"{key}s", max_items=MAX_IDS_PER_QUERY)
        identifiers = query_list(request, "identifier", max_items=MAX_IDS_PER_QUERY)
        if not target_ids and not identifiers:
            raise PlainError(422, f"At least one of {key}s or identifier must be supplied")
        if any(not value for value in identifiers):
            raise query_error(
                "identifier", "String should have at least 1 character", "", kind="string_too_short"
            )
        limit = query_int(request, "limit", default=10, maximum=10_000)
        annotations = self._in_project(project.pk)
        if target_ids:
            annotations = annotations.filter(**{f"{self.target.target_field}__{key}__in": target_ids})
        if identifiers:
            annotations = annotations.filter(identifier__in=identifiers)
        if included := query_list(request, "include_annotation_names"):
            annotations = annotations.filter(name__in=included)
        if excluded := query_list(request, "exclude_annotation_names"):
            annotations = annotations.exclude(name__in=excluded)
        rows, next_cursor = paginate_desc(
            annotations.select_related(self.target.target_field),
            request=request,
            type_name=self.target.type_name,
            limit=limit,
        )
        if (
            not rows
            and target_ids
            and not identifiers
            and not self._any_target_in_project(project.pk, target_ids)
        ):
            raise PlainError(404, f"None of the supplied {key}s exist in this project")
        return Response(page([self._data(row) for row in rows], next_cursor))

    def delete(self, request: Request, identifier: str) -> Response:
        project = project_from_identifier(identifier)
        annotations = self._in_project(project.pk)
        start, end = query_datetime(request, "start_time"), query_datetime(request, "end_time")
        if not query_bool(request, "delete_all", False):
            if start is None or end is None:
                raise PlainError(
                    422,
                    "Delete is unbounded. Set delete_all=true to acknowledge, or supply both start_time and "
                    "end_time to bound the time range.",
                )
            if start >= end:
                raise PlainError(422, "start_time must be before end_time")
        if start is not None:
            annotations = annotations.filter(created_at__gte=start)
        if end is not None:
            annotations = annotations.filter(created_at__lt=end)
        for field in ("name", "identifier", "annotator_kind"):
            if value := request.query_params.get(field):
                annotations = annotations.filter(**{field: value})
        user = acting_user(request)
        if user is not None and user.role != User.Role.ADMIN and not user.is_superuser:
            annotations = annotations.filter(user=user)
        annotations.delete()
        return Response(status=204)

    def _in_project(self, project_pk: int) -> QuerySet[AnnotationBase]:
        return self.target.model.objects.filter(**{f"{self.target.target_field}__project_id": project_pk})

    def _any_target_in_project(self, project_pk: int, target_ids: list[str]) -> bool:
        target_model = self.target.model._meta.get_field(self.target.target_field).related_model
        return target_model.objects.filter(
            project_id=project_pk, **{f"{self.target.key}__in": target_ids}
        ).exists()

    def _data(self, annotation: AnnotationBase) -> dict[str, Any]:
        target = getattr(annotation, self.target.target_field)
        return {
            "id": to_global_id(self.target.type_name, annotation.pk),
            self.target.key: getattr(target, self.target.key),
            "name": annotation.name,
            "annotator_kind": annotation.annotator_kind,
            "result": {
                "label": annotation.label,
                "score": annotation.score,
                "explanation": annotation.explanation,
            },
            "metadata": annotation.metadata,
            "identifier": annotation.identifier,
            "source": annotation.source,
            "user_id": to_global_id("User", annotation.user_id) if annotation.user_id else None,
            "created_at": iso(annotation.created_at),
            "updated_at": iso(annotation.updated_at),
        }


class ProjectSpanAnnotationsView(ProjectAnnotationsView):
    target = SpanTarget()


class ProjectTraceAnnotationsView(ProjectAnnotationsView):
    target = TraceTarget()
