"""Span, trace and session annotations over REST (PHOENIX_COMPAT.md §3.1 to §3.3). One class serves every
target (documents too, in documents.py)."""

import math
from abc import ABC, abstractmethod
from functools import cache
from typing import Any

from django.db.models import F, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
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
    SessionAnnotation,
    SpanAnnotation,
    TraceAnnotation,
)
from phoenix_annot.annotations.services import (
    EMPTY_RESULT_MESSAGE,
    AnnotationWrite,
    MissingTargets,
    WaitingRoomFull,
    annotations_delete,
    result_is_empty,
    session_annotation_note_add,
    session_annotations_upsert,
    span_annotation_note_add,
    span_annotations_upsert,
    trace_annotation_note_add,
    trace_annotations_upsert,
)
from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.core.jsonsafe import is_storable_json
from phoenix_annot.tracing.models import SESSION_ID_MAX_LENGTH

from ..errors import PlainError, RequestValidationError
from ..lookups import project_for, writes_reachable
from ..params import (
    LimitField,
    LiteralField,
    NonEmptyText,
    QueryList,
    QueryParams,
    paginate_desc,
    query_bool,
    query_datetime,
)
from ..schema import (
    PROJECT_PATH,
    cursor_field,
    data_envelope,
    errors,
    page_envelope,
    query,
    sync_param,
)
from ..throttled import throttled
from ..wire import envelope, iso, page, validated

MAX_ANNOTATIONS_PER_REQUEST = 10_000
# A writer whose waiting room is full tries again after this; the room frees as spans arrive.
PENDING_RETRY_AFTER_SECONDS = 60
NAME_LENGTH = 255
MAX_IDS_PER_QUERY = 1000
MAX_LIST_LIMIT = 10_000
# What a listed annotation needs, read as plain values: building models (and with select_related, their
# span or trace with all its attributes) cost more than the query itself for 1,000 annotations.
LISTED_FIELDS = (
    "pk",
    "name",
    "label",
    "score",
    "explanation",
    "metadata",
    "annotator_kind",
    "identifier",
    "source",
    "user_id",
    "created_at",
    "updated_at",
)
UNBOUNDED_DELETE = (
    "Delete is unbounded. Set delete_all=true to acknowledge, or supply both start_time and end_time "
    "to bound the time range."
)


def _plain_text(value: Any, max_length: int | None = None) -> bool:
    """A non-empty str that DRF's CharField keeps as it is: no NUL, no lone surrogate, not too long."""
    if not isinstance(value, str) or not value or (max_length is not None and len(value) > max_length):
        return False
    return is_storable_json(value)


def _plain_number(value: Any) -> bool:
    """An int or float (not a bool) that is a finite float, as DRF's FloatField keeps it."""
    if type(value) not in (int, float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


class ResultInput(serializers.Serializer):
    label = serializers.CharField(allow_null=True, allow_blank=True, required=False, trim_whitespace=False)
    score = serializers.FloatField(allow_null=True, required=False)
    explanation = serializers.CharField(
        allow_null=True, allow_blank=True, required=False, trim_whitespace=False
    )


class AnnotationInput(serializers.Serializer):
    name = serializers.CharField(max_length=NAME_LENGTH, trim_whitespace=False)
    annotator_kind = LiteralField(AnnotatorKind.values)
    result = ResultInput(allow_null=True, required=False)
    metadata = serializers.DictField(allow_null=True, required=False)
    identifier = serializers.CharField(
        allow_blank=True, max_length=NAME_LENGTH, required=False, default="", trim_whitespace=False
    )

    def validate_metadata(self, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if not is_storable_json(value):
            raise serializers.ValidationError(
                "metadata contains a NUL character, an unpaired surrogate or a non-finite number, "
                "which cannot be stored."
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        result = attrs.get("result") or {}
        if result_is_empty(
            label=result.get("label"), score=result.get("score"), explanation=result.get("explanation")
        ):
            raise serializers.ValidationError({"result": EMPTY_RESULT_MESSAGE}, code="value_error")
        return attrs


class SpanAnnotationInput(AnnotationInput):
    span_id = serializers.CharField(max_length=16)


class TraceAnnotationInput(AnnotationInput):
    trace_id = serializers.CharField(max_length=32)


class SessionAnnotationInput(AnnotationInput):
    session_id = serializers.CharField(
        max_length=SESSION_ID_MAX_LENGTH, help_text="The session's session.id."
    )


class AnnotationsBody(serializers.Serializer):
    data = serializers.ListField(child=serializers.DictField(), max_length=MAX_ANNOTATIONS_PER_REQUEST)


class NoteInput(serializers.Serializer):
    note = serializers.CharField(min_length=1)
    identifier = serializers.CharField(allow_blank=True, required=False, default="")


class SpanNoteInput(NoteInput):
    span_id = serializers.CharField(min_length=1)


class TraceNoteInput(NoteInput):
    trace_id = serializers.CharField(min_length=1)


class SessionNoteInput(NoteInput):
    session_id = serializers.CharField(min_length=1)


class SpanNoteBody(serializers.Serializer):
    data = SpanNoteInput()


class TraceNoteBody(serializers.Serializer):
    data = TraceNoteInput()


class SessionNoteBody(serializers.Serializer):
    data = SessionNoteInput()


class ResultOut(serializers.Serializer):
    label = serializers.CharField(allow_null=True)
    score = serializers.FloatField(allow_null=True)
    explanation = serializers.CharField(allow_null=True)


class CreatedId(serializers.Serializer):
    id = serializers.CharField(help_text="GlobalID of the stored annotation")


def acting_user(request: Request) -> User | None:
    return request.user if request.user.is_authenticated else None


class AnnotationTarget(ABC):
    """What differs between the targets of annotations (span, trace, session, document) on the wire."""

    model: type[AnnotationBase]
    input_class: type[AnnotationInput]
    note_body: type[serializers.Serializer]
    target_field: str
    key: str
    type_name: str
    singular: str
    plural: str
    notes_route: str
    # Whose notes `note` is reserved for, in the 400 that points at notes_route.
    notes_of = "trace and span notes"
    # Fields of the annotation model listed beside the shared ones (a document's position).
    extra_fields: tuple[str, ...] = ()

    @property
    def body_name(self) -> str:
        """What the write's bodies are named after in the OpenAPI document (`Annotate<name>RequestBody`)."""
        return self.plural

    @abstractmethod
    def upsert(self, writes: list[AnnotationWrite], *, user: User | None, sync: bool) -> list[int | None]: ...

    @abstractmethod
    def note_add(
        self, target_id: str, *, text: str, identifier: str, user: User | None
    ) -> AnnotationBase: ...

    def note_target_missing(self, target_id: str) -> str:
        return f"{self.singular} with ID {target_id} not found"

    def targets(self, target_ids: list[str]) -> QuerySet[Any]:
        """The stored spans, traces or sessions these ids name."""
        target_model = self.model._meta.get_field(self.target_field).related_model
        return target_model.objects.filter(**{f"{self.key}__in": target_ids})

    def missing(self, target_ids: str) -> str:
        return f"{self.plural} with IDs {target_ids} do not exist."


def annotation_out(target: AnnotationTarget) -> serializers.Serializer:
    """The wire shape of `ProjectAnnotationsView._data` for this target."""
    return inline_serializer(
        target.type_name,
        {
            "id": serializers.CharField(help_text=f"{target.type_name} GlobalID"),
            target.key: serializers.CharField(),
            "name": serializers.CharField(),
            "annotator_kind": serializers.ChoiceField(choices=AnnotatorKind.values),
            "result": ResultOut(),
            "metadata": serializers.DictField(),
            "identifier": serializers.CharField(allow_blank=True),
            "source": serializers.ChoiceField(choices=AnnotationSource.values),
            "user_id": serializers.CharField(allow_null=True, help_text="User GlobalID of the writer"),
            "created_at": serializers.DateTimeField(),
            "updated_at": serializers.DateTimeField(),
            **{name: serializers.IntegerField() for name in target.extra_fields},
        },
        many=True,
    )


class SpanTarget(AnnotationTarget):
    model = SpanAnnotation
    input_class = SpanAnnotationInput
    note_body = SpanNoteBody
    singular = "Span"
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

    def note_add(self, target_id: str, *, text: str, identifier: str, user: User | None) -> AnnotationBase:
        return span_annotation_note_add(span_id=target_id, text=text, identifier=identifier, user=user)


class TraceTarget(AnnotationTarget):
    model = TraceAnnotation
    input_class = TraceAnnotationInput
    note_body = TraceNoteBody
    singular = "Trace"
    target_field, key, type_name, plural, notes_route = (
        "trace",
        "trace_id",
        "TraceAnnotation",
        "Traces",
        "trace_notes",
    )

    def upsert(self, writes: list[AnnotationWrite], *, user: User | None, sync: bool) -> list[int | None]:
        return trace_annotations_upsert(
            writes=writes, source=AnnotationSource.API, user=user, keep_missing=not sync
        )

    def note_add(self, target_id: str, *, text: str, identifier: str, user: User | None) -> AnnotationBase:
        return trace_annotation_note_add(trace_id=target_id, text=text, identifier=identifier, user=user)


def list_body(body: Any, *, key: str) -> Any:
    """The body as `{"data": [...]}`: one annotation object, bare or as `data`, is a list of one.

    A leniency: Phoenix's blog shows `{"data": {...}}`, which Phoenix itself answers with a 422. `key` is
    the target's id field (`span_id`), which tells a bare annotation from another object.
    """
    if isinstance(body, dict):
        if isinstance(body.get("data"), dict):
            return {**body, "data": [body["data"]]}
        if "data" not in body and key in body:
            return {"data": [body]}
    return body


class AnnotationWriteView(APIView):
    """POST /v1/{span,trace,session,document}_annotations: `{"data": [...]}`, or one object (`list_body`).

    Every target (a session one too) inherits the same reading of the body; nothing of a refused request
    is stored.
    """

    target: AnnotationTarget

    def post(self, request: Request) -> Response:
        body = list_body(request.data, key=self.target.key)
        writes = self.plain_writes(body)
        if writes is None:
            writes = [self._write(item) for item in self._items(body)]
        if any(write.name == NOTE_NAME for write in writes):
            raise PlainError(
                400,
                f"The name '{NOTE_NAME}' is reserved for {self.target.notes_of}. "
                f"Use POST /v1/{self.target.notes_route} instead.",
            )
        sync = query_bool(request, "sync", False)
        if writes:
            writes_reachable(
                request,
                self.target.targets([write.target_id for write in writes]),
                key=self.target.key,
                missing=self.target.missing,
            )
        try:
            ids = self.target.upsert(writes, user=acting_user(request), sync=sync) if writes else []
        except MissingTargets as missing:
            raise PlainError(404, self.target.missing(", ".join(missing.ids))) from None
        except WaitingRoomFull as full:
            # The room frees as the targets arrive or the waiting rows expire.
            raise throttled(str(full), wait=PENDING_RETRY_AFTER_SECONDS) from None
        if not sync:
            return Response(envelope([]))
        return Response(envelope([{"id": to_global_id(self.target.type_name, pk)} for pk in ids]))

    def plain_writes(self, body: Any) -> list[AnnotationWrite] | None:
        """The writes of a `{"data": [...]}` whose every item is plainly well-formed, checked by hand.

        DRF's serializers take ~0.15 ms an item, most of the time of a 100-annotation request. Anything
        unusual (a type DRF would coerce, a value it would refuse, the bare-object form) answers None, and
        the serializers then validate the body and name what is wrong: both paths accept the same bodies.
        """
        items = body.get("data") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items or len(items) > MAX_ANNOTATIONS_PER_REQUEST:
            return None
        key, key_length = self.target.key, self.target.input_class().fields[self.target.key].max_length
        writes = []
        for item in items:
            if not isinstance(item, dict):
                return None
            target_id, name, identifier = item.get(key), item.get("name"), item.get("identifier", "")
            result, metadata = item.get("result"), item.get("metadata")
            result = {} if result is None else result
            if not (
                _plain_text(target_id, key_length)
                and target_id == target_id.strip()
                and _plain_text(name, NAME_LENGTH)
                and item.get("annotator_kind") in AnnotatorKind.values
                and (identifier == "" or _plain_text(identifier, NAME_LENGTH))
                and (metadata is None or (isinstance(metadata, dict) and is_storable_json(metadata)))
                and isinstance(result, dict)
            ):
                return None
            label, score, explanation = result.get("label"), result.get("score"), result.get("explanation")
            if not (
                (label is None or label == "" or _plain_text(label))
                and (explanation is None or explanation == "" or _plain_text(explanation))
                and (score is None or _plain_number(score))
                and not result_is_empty(label=label, score=score, explanation=explanation)
            ):
                return None
            writes.append(
                AnnotationWrite(
                    target_id=target_id,
                    name=name,
                    annotator_kind=item["annotator_kind"],
                    label=label,
                    score=None if score is None else float(score),
                    explanation=explanation,
                    metadata=metadata or {},
                    identifier=identifier,
                )
            )
        return writes

    def _items(self, body: Any) -> list[dict[str, Any]]:
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


class SessionTarget(AnnotationTarget):
    model = SessionAnnotation
    input_class = SessionAnnotationInput
    note_body = SessionNoteBody
    singular = "Session"
    notes_of = "session notes"
    target_field, key, type_name, plural, notes_route = (
        "session",
        "session_id",
        "ProjectSessionAnnotation",
        "Sessions",
        "session_notes",
    )

    def upsert(self, writes: list[AnnotationWrite], *, user: User | None, sync: bool) -> list[int | None]:
        return session_annotations_upsert(
            writes=writes, source=AnnotationSource.API, user=user, keep_missing=not sync
        )

    def note_add(self, target_id: str, *, text: str, identifier: str, user: User | None) -> AnnotationBase:
        return session_annotation_note_add(session_id=target_id, text=text, identifier=identifier, user=user)

    def note_target_missing(self, target_id: str) -> str:
        return f"Session with session_id {target_id} not found"


SPANS, TRACES, SESSIONS = SpanTarget(), TraceTarget(), SessionTarget()


def write_schema(target: AnnotationTarget, operation_id: str, *, missing: str) -> Any:
    return extend_schema_view(
        post=extend_schema(
            operation_id=operation_id,
            summary=f"Upsert {target.target_field} annotations on (target, name, identifier)",
            description="`data` may also be one annotation object rather than a list (Phoenix answers 422), "
            "and the body may be one bare annotation object. An annotation needs a label, a score or an "
            "explanation. Names of configs assigned to the target's project are checked against them. "
            f"{missing}",
            parameters=[sync_param("the annotations are")],
            request=inline_serializer(
                f"Annotate{target.body_name}RequestBody", {"data": target.input_class(many=True)}
            ),
            responses={
                200: data_envelope(f"Annotate{target.body_name}ResponseBody", CreatedId(many=True)),
                **errors(
                    {
                        400: f"The name '{NOTE_NAME}' is reserved (use POST /v1/{target.notes_route}), or "
                        "a value does not fit the annotation's config.",
                        403: "Viewers cannot perform this action; or an annotation of the request is "
                        "another user's (or its px-app: identifier is), and only an LLM or CODE one may "
                        "replace another user's LLM or CODE one: the text names each owner. Nothing was "
                        "written.",
                        404: f"`{target.plural} with IDs <id>, <id> do not exist.`",
                    }
                ),
            },
        )
    )


@write_schema(
    SPANS,
    "annotateSpans",
    missing="With sync, a missing span fails the whole request; without sync, annotations of spans not "
    "ingested yet wait for them.",
)
class SpanAnnotationWriteView(AnnotationWriteView):
    target = SPANS


@write_schema(
    TRACES, "annotateTraces", missing="A missing trace fails the whole request, with or without sync."
)
class TraceAnnotationWriteView(AnnotationWriteView):
    target = TRACES


@write_schema(
    SESSIONS,
    "annotateSessions",
    missing="With sync, a missing session fails the whole request; without sync, annotations of sessions "
    "not ingested yet wait for a span naming them.",
)
class SessionAnnotationWriteView(AnnotationWriteView):
    target = SESSIONS


class NoteView(APIView):
    """POST /v1/{span,trace,session}_notes: `{"data": {"<target>_id", "note", "identifier"}}`."""

    target: AnnotationTarget

    def post(self, request: Request) -> Response:
        note = validated(self.target.note_body, request.data)["data"]
        target_id = note[self.target.key].strip()
        writes_reachable(
            request,
            self.target.targets([target_id]),
            key=self.target.key,
            missing=self.target.note_target_missing,
        )
        try:
            annotation = self.target.note_add(
                target_id,
                text=note["note"].strip(),
                identifier=note["identifier"],
                user=acting_user(request),
            )
        except MissingTargets:
            raise PlainError(404, self.target.note_target_missing(target_id)) from None
        return Response(envelope({"id": to_global_id(self.target.type_name, annotation.pk)}))


def note_schema(target: AnnotationTarget, operation_id: str) -> Any:
    return extend_schema_view(
        post=extend_schema(
            operation_id=operation_id,
            summary=f"Add a note to a {target.singular.lower()}",
            description="An empty identifier appends a new note; a given one replaces that note.",
            request=target.note_body,
            responses={
                200: data_envelope(f"{operation_id[0].upper()}{operation_id[1:]}ResponseBody", CreatedId()),
                **errors({404: f"`{target.singular} with ID <{target.key}> not found`"}),
            },
        )
    )


@note_schema(SpanTarget(), "createSpanNote")
class SpanNoteView(NoteView):
    target = SpanTarget()


@note_schema(TraceTarget(), "createTraceNote")
class TraceNoteView(NoteView):
    target = TraceTarget()


@note_schema(SESSIONS, "createSessionNote")
class SessionNoteView(NoteView):
    target = SESSIONS


class ProjectAnnotationsView(APIView):
    """GET and DELETE /v1/projects/{id}/span_annotations (and trace, session and document ones)."""

    target: AnnotationTarget

    def get(self, request: Request, identifier: str) -> Response:
        project = project_for(request, identifier)
        key = self.target.key
        params = list_params(self.target).read(request)
        target_ids, identifiers = params[f"{key}s"], params["identifier"]
        if not target_ids and not identifiers:
            raise PlainError(422, f"At least one of {key}s or identifier must be supplied")
        annotations = self._in_project(project.pk)
        if target_ids:
            # The targets by their unique ids, in a subquery: as one join also filtered on the project, SQLite
            # without statistics walks every span of the project (100 of 6,000 spans: 16 -> 0.9 ms).
            targets = self.target.targets(target_ids).values("pk")
            annotations = annotations.filter(**{f"{self.target.target_field}__in": targets})
        if identifiers:
            annotations = annotations.filter(identifier__in=identifiers)
        if included := params["include_annotation_names"]:
            annotations = annotations.filter(name__in=included)
        if excluded := params["exclude_annotation_names"]:
            annotations = annotations.exclude(name__in=excluded)
        rows, next_cursor = paginate_desc(
            annotations.values(
                *LISTED_FIELDS, *self.target.extra_fields, target_key=F(f"{self.target.target_field}__{key}")
            ),
            request=request,
            type_name=self.target.type_name,
            limit=params["limit"],
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
        project = project_for(request, identifier)
        annotations = self._in_project(project.pk)
        start, end = query_datetime(request, "start_time"), query_datetime(request, "end_time")
        if not query_bool(request, "delete_all", False):
            if start is None or end is None:
                raise PlainError(422, UNBOUNDED_DELETE)
            if start >= end:
                raise PlainError(422, "start_time must be before end_time")
        if start is not None:
            annotations = annotations.filter(created_at__gte=start)
        if end is not None:
            annotations = annotations.filter(created_at__lt=end)
        for field in ("name", "identifier", "annotator_kind"):
            if value := request.query_params.get(field):
                annotations = annotations.filter(**{field: value})
        annotations_delete(annotations=annotations, user=acting_user(request))
        return Response(status=204)

    def _in_project(self, project_pk: int) -> QuerySet[AnnotationBase]:
        return self.target.model.objects.filter(**{f"{self.target.target_field}__project_id": project_pk})

    def _any_target_in_project(self, project_pk: int, target_ids: list[str]) -> bool:
        return self.target.targets(target_ids).filter(project_id=project_pk).exists()

    def _data(self, row: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": to_global_id(self.target.type_name, row["pk"]),
            self.target.key: row["target_key"],
            "name": row["name"],
            "annotator_kind": row["annotator_kind"],
            "result": {"label": row["label"], "score": row["score"], "explanation": row["explanation"]},
            "metadata": row["metadata"],
            "identifier": row["identifier"],
            "source": row["source"],
            "user_id": to_global_id("User", row["user_id"]) if row["user_id"] else None,
            "created_at": iso(row["created_at"]),
            "updated_at": iso(row["updated_at"]),
            **{name: row[name] for name in self.target.extra_fields},
        }


@cache
def list_params(target: AnnotationTarget) -> type[QueryParams]:
    """The query parameters of the target's annotation list: one declaration read by the view and shown
    in the OpenAPI document."""
    key = target.key
    fields = {
        f"{key}s": QueryList(
            max_items=MAX_IDS_PER_QUERY,
            help_text=f"OpenTelemetry {key}s. At least one of {key}s and identifier is required.",
        ),
        "identifier": QueryList(
            child=NonEmptyText(), max_items=MAX_IDS_PER_QUERY, help_text="Annotation identifiers."
        ),
        "include_annotation_names": QueryList(help_text="Only these names."),
        "exclude_annotation_names": QueryList(help_text="Not these names (the client sends `note`)."),
        "cursor": cursor_field(target.type_name),
        "limit": LimitField(default=10, maximum=MAX_LIST_LIMIT),
    }
    return type(f"{target.type_name}ListParams", (QueryParams,), fields)


def read_schema(target: AnnotationTarget, list_id: str, delete_id: str) -> Any:
    key = target.key
    return extend_schema_view(
        get=extend_schema(
            operation_id=list_id,
            summary=f"List annotations of given {target.target_field}s or identifiers, newest first",
            parameters=[PROJECT_PATH, list_params(target)],
            responses={
                200: page_envelope(f"{target.type_name}sResponseBody", annotation_out(target)),
                **errors(
                    {
                        404: f"Unknown project, or `None of the supplied {key}s exist in this project`.",
                        422: f"`At least one of {key}s or identifier must be supplied`, `Too many {key}s "
                        f"supplied: <n> (max {MAX_IDS_PER_QUERY})` or `Invalid cursor format: <cursor>`.",
                    }
                ),
            },
        ),
        delete=extend_schema(
            operation_id=delete_id,
            summary=f"Delete a project's {target.target_field} annotations in a time range, or all",
            description="Created in [start_time, end_time). Non-admins delete only their own annotations "
            "(written with their key or the Annotate panel, or carrying their px-app: identifier).",
            parameters=[
                PROJECT_PATH,
                query("name", str, "Only annotations of this name."),
                query("identifier", str, "Only annotations of this identifier."),
                query("annotator_kind", OpenApiTypes.STR, "Only this kind.", enum=AnnotatorKind.values),
                query("start_time", OpenApiTypes.DATETIME, "Created at or after (naive = UTC)."),
                query("end_time", OpenApiTypes.DATETIME, "Created before (naive = UTC)."),
                query("delete_all", {"type": "boolean", "default": False}, "Delete without a time range."),
            ],
            responses={
                204: None,
                **errors(
                    {
                        404: "Unknown project.",
                        422: f"`{UNBOUNDED_DELETE}` or `start_time must be before end_time`.",
                    }
                ),
            },
        ),
    )


@read_schema(SPANS, "listSpanAnnotationsBySpanIds", "deleteSpanAnnotations")
class ProjectSpanAnnotationsView(ProjectAnnotationsView):
    target = SPANS


@read_schema(TRACES, "listTraceAnnotationsByTraceIds", "deleteTraceAnnotations")
class ProjectTraceAnnotationsView(ProjectAnnotationsView):
    target = TRACES


@read_schema(SESSIONS, "listSessionAnnotationsBySessionIds", "deleteSessionAnnotations")
class ProjectSessionAnnotationsView(ProjectAnnotationsView):
    target = SESSIONS
