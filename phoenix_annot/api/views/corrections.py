"""Corrected outputs over REST (issue 13): our own routes (Phoenix has none), in Phoenix's style (GlobalIDs,
`{"data": ...}` envelopes, cursor pages, text/plain errors, FastAPI-shaped 422s).

`POST /v1/corrections` writes the caller's own correction of each target it names (one per target and
reviewer, replaced when written again), synchronously: a target not stored yet is a 404 and nothing is
written. A correction is changed or deleted by its owner or an admin; only an admin marks one gold. Writing
needs a writer: without a user (auth off, no key) it is a 401, as reviewing a queue is.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from phoenix_annot.accounts.access import Role, with_access
from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import EventAction
from phoenix_annot.core.globalid import GlobalIDError, from_global_id, to_global_id
from phoenix_annot.corrections.models import (
    Correction,
    CorrectionEvent,
    CorrectionFormat,
    CorrectionTarget,
    CorrectionVia,
)
from phoenix_annot.corrections.services import (
    GOLD_DENIED,
    correction_delete,
    correction_save,
    correction_update,
)
from phoenix_annot.tracing.models import Session, Span, Trace

from ..auth import VIEWER_WRITE_DENIED
from ..errors import PlainError
from ..lookups import project_for, reached
from ..params import LimitField, LiteralField, QueryList, QueryParams, paginate_desc, query_error
from ..schema import PROJECT_PATH, cursor_field, data_envelope, errors, global_id_path, page_envelope
from ..wire import envelope, iso, page, validated
from .history import EventListParams

TYPE_NAME = "Correction"
EVENT_TYPE_NAME = "CorrectionEvent"
MAX_CORRECTIONS_PER_REQUEST = 1000
MAX_IDS_PER_QUERY = 1000
MAX_LIST_LIMIT = 1000
CORRECTION_ID = global_id_path("correction_id", TYPE_NAME)
NOT_FOUND = "`Correction with ID <id> not found`."
NOT_YOURS = "`This corrected output belongs to user '<name>'; ...` or `Only the project's adjudicators ...`."
# How a body names a target of each kind, and the model that holds it.
TARGET_KEYS: dict[str, tuple[str, type[Span | Trace | Session], str]] = {
    "span_id": (CorrectionTarget.SPAN, Span, "span_id"),
    "trace_id": (CorrectionTarget.TRACE, Trace, "trace_id"),
    "session_id": (CorrectionTarget.SESSION, Session, "session_id"),
}


class CorrectionInput(serializers.Serializer):
    span_id = serializers.CharField(required=False, help_text="The span's OpenTelemetry id.")
    trace_id = serializers.CharField(required=False, help_text="The trace's OpenTelemetry id.")
    session_id = serializers.CharField(required=False, help_text="The session.id.")
    output = serializers.JSONField(
        help_text="The corrected output: text for a target whose output is a chat answer or text, any JSON "
        "for one whose output.value is JSON."
    )
    gold = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="Adjudicators only; absent keeps it."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if len([key for key in TARGET_KEYS if key in attrs]) != 1:
            raise serializers.ValidationError("Give exactly one of span_id, trace_id or session_id.")
        return attrs


class CorrectionsInput(serializers.Serializer):
    data = CorrectionInput(many=True, max_length=MAX_CORRECTIONS_PER_REQUEST)


class CorrectionChangeInput(serializers.Serializer):
    output = serializers.JSONField(help_text="The corrected output, in the correction's format.")
    gold = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="Adjudicators only; absent keeps it."
    )


class CorrectionOut(serializers.Serializer):
    id = serializers.CharField(help_text=f"{TYPE_NAME} GlobalID")
    project_id = serializers.CharField(help_text="Project GlobalID")
    target_kind = serializers.ChoiceField(choices=CorrectionTarget.values)
    span_id = serializers.CharField(allow_null=True, help_text="Span corrections only.")
    trace_id = serializers.CharField(allow_null=True, help_text="Trace corrections only.")
    session_id = serializers.CharField(allow_null=True, help_text="Session corrections only.")
    format = serializers.ChoiceField(
        choices=CorrectionFormat.values,
        help_text="message: the assistant's answer (text); text: output.value; json: a JSON output.value.",
    )
    output = serializers.JSONField()
    gold = serializers.BooleanField(help_text="An adjudicator's: datasets take it over the others.")
    user_id = serializers.CharField(allow_null=True, help_text="User GlobalID of its owner")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class InsertedCorrection(serializers.Serializer):
    id = serializers.CharField(help_text=f"{TYPE_NAME} GlobalID")


class CorrectionListParams(QueryParams):
    span_ids = QueryList(max_items=MAX_IDS_PER_QUERY, help_text="Only corrections of these spans.")
    trace_ids = QueryList(max_items=MAX_IDS_PER_QUERY, help_text="Only corrections of these traces.")
    session_ids = QueryList(max_items=MAX_IDS_PER_QUERY, help_text="Only corrections of these sessions.")
    gold = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="Only gold ones."
    )
    cursor = cursor_field(TYPE_NAME)
    limit = LimitField(default=100, maximum=MAX_LIST_LIMIT)


def correction_data(correction: Correction) -> dict[str, Any]:
    """`CorrectionOut`; the correction comes with its target (select_related)."""
    keys = {f"{kind}_id": None for kind in CorrectionTarget.values}
    return {
        "id": to_global_id(TYPE_NAME, correction.pk),
        "project_id": to_global_id("Project", correction.project_id),
        "target_kind": correction.target_kind,
        **keys,
        f"{correction.target_kind}_id": correction.target_key,
        "format": correction.format,
        "output": correction.output,
        "gold": correction.gold,
        "user_id": to_global_id("User", correction.user_id) if correction.user_id else None,
        "created_at": iso(correction.created_at),
        "updated_at": iso(correction.updated_at),
    }


def with_targets(corrections: QuerySet[Correction]) -> QuerySet[Correction]:
    return corrections.select_related("span", "trace", "session")


def writer_of(request: Request) -> User:
    """A correction is somebody's: without a user (auth off, no key) there is nobody to own it."""
    if not request.user.is_authenticated:
        raise NotAuthenticated()
    return request.user


def correction_from_id(request: Request, correction_id: str) -> Correction:
    try:
        _type, pk = from_global_id(correction_id, TYPE_NAME)
    except GlobalIDError:
        pk = None
    correction = reached(request, with_targets(Correction.objects.all()), pk=pk) if pk is not None else None
    if correction is None:
        raise PlainError(404, f"Correction with ID {correction_id} not found")
    return correction


@contextmanager
def refused_at(loc: list[str | int]) -> Iterator[None]:
    """A service's refusal of a field as the 422 of request validation, at `loc` in the body."""
    try:
        yield
    except ValidationError as refused:
        errors: Any = refused.message_dict
        for key in reversed(loc):
            errors = {key: errors}
        raise serializers.ValidationError(errors) from None


def _targets(request: Request, items: list[dict[str, Any]]) -> list[tuple[str, Span | Trace | Session]]:
    """Each item's target kind and row, two queries a kind; a 404 naming those not stored (or in a project
    the caller may not see), a 403 when any is in a project they only view, before any write."""
    found: dict[str, dict[str, Span | Trace | Session]] = {}
    missing: list[str] = []
    for key, (kind, model, field) in TARGET_KEYS.items():
        wanted = {item[key] for item in items if key in item}
        rows = with_access(model.objects.filter(**{f"{field}__in": wanted}), request.user).exclude(
            access_role__isnull=True
        )
        if kind == CorrectionTarget.SPAN:
            rows = rows.select_related("trace")
        found[key] = {getattr(row, field): row for row in rows}
        missing += [f"{kind} {value}" for value in sorted(wanted - set(found[key]))]
    if missing:
        raise PlainError(404, f"Not found: {', '.join(missing)}; nothing was written.")
    if any(row.access_role == Role.VIEWER for rows in found.values() for row in rows.values()):
        raise PlainError(403, VIEWER_WRITE_DENIED)
    return [
        (TARGET_KEYS[key][0], found[key][item[key]]) for item in items for key in TARGET_KEYS if key in item
    ]


class CorrectionsView(APIView):
    @extend_schema(
        operation_id="writeCorrections",
        summary="Write your own corrected output of spans, traces or sessions (written again: replaced)",
        request=CorrectionsInput,
        responses={
            200: data_envelope("WriteCorrectionsResponseBody", InsertedCorrection(many=True)),
            **errors(
                {
                    401: "`Missing API key: ...`: a correction needs a writer.",
                    403: f"`{VIEWER_WRITE_DENIED}` or `{GOLD_DENIED}`",
                    404: "`Not found: span <id>, ...; nothing was written.`",
                }
            ),
        },
    )
    def post(self, request: Request) -> Response:
        user = writer_of(request)
        items = validated(CorrectionsInput, request.data)["data"]
        targets = _targets(request, items)
        with transaction.atomic(durable=True):
            saved = []
            for index, ((kind, target), item) in enumerate(zip(targets, items, strict=True)):
                with refused_at(["data", index]):
                    saved.append(
                        correction_save(
                            kind=kind,
                            target=target,
                            output=item["output"],
                            gold=item["gold"],
                            user=user,
                            via=CorrectionVia.API,
                        )
                    )
        return Response(envelope([{"id": to_global_id(TYPE_NAME, row.pk)} for row in saved]))


class ProjectCorrectionsView(APIView):
    @extend_schema(
        operation_id="listCorrections",
        summary="List a project's corrected outputs, newest first",
        parameters=[PROJECT_PATH, CorrectionListParams],
        responses={
            200: page_envelope("CorrectionsResponseBody", CorrectionOut(many=True)),
            **errors({404: "Unknown project.", 422: "`Invalid cursor format: <cursor>`."}),
        },
    )
    def get(self, request: Request, identifier: str) -> Response:
        project = project_for(request, identifier)
        params = CorrectionListParams.read(request)
        corrections = Correction.objects.filter(project=project)
        for key, (kind, _model, field) in TARGET_KEYS.items():
            if values := params[f"{key}s"]:
                corrections = corrections.filter(target_kind=kind, **{f"{kind}__{field}__in": values})
        if params["gold"] is not None:
            corrections = corrections.filter(gold=params["gold"])
        rows, next_cursor = paginate_desc(
            with_targets(corrections), request=request, type_name=TYPE_NAME, limit=params["limit"]
        )
        return Response(page([correction_data(row) for row in rows], next_cursor))


class CorrectionDetailView(APIView):
    @extend_schema(
        operation_id="getCorrection",
        summary="Read one corrected output",
        parameters=[CORRECTION_ID],
        responses={
            200: data_envelope("GetCorrectionResponseBody", CorrectionOut()),
            **errors({404: NOT_FOUND}, validation=False),
        },
    )
    def get(self, request: Request, correction_id: str) -> Response:
        return Response(envelope(correction_data(correction_from_id(request, correction_id))))

    @extend_schema(
        operation_id="updateCorrection",
        summary="Change a corrected output (its owner's, or any for an admin)",
        parameters=[CORRECTION_ID],
        request=CorrectionChangeInput,
        responses={
            200: data_envelope("UpdateCorrectionResponseBody", CorrectionOut()),
            **errors({403: f"`{VIEWER_WRITE_DENIED}` or {NOT_YOURS}", 404: NOT_FOUND}),
        },
    )
    def patch(self, request: Request, correction_id: str) -> Response:
        correction = correction_from_id(request, correction_id)
        body = validated(CorrectionChangeInput, request.data)
        user = request.user if request.user.is_authenticated else None
        with refused_at([]):
            changed = correction_update(
                correction=correction,
                output=body["output"],
                gold=body["gold"],
                user=user,
                via=CorrectionVia.API,
            )
        return Response(envelope(correction_data(changed)))

    @extend_schema(
        operation_id="deleteCorrection",
        summary="Delete a corrected output (its owner's, or any for an admin)",
        parameters=[CORRECTION_ID],
        responses={
            204: None,
            **errors({403: f"`{VIEWER_WRITE_DENIED}` or {NOT_YOURS}", 404: NOT_FOUND}, validation=False),
        },
    )
    def delete(self, request: Request, correction_id: str) -> Response:
        correction = correction_from_id(request, correction_id)
        user = request.user if request.user.is_authenticated else None
        correction_delete(correction=correction, user=user, via=CorrectionVia.API)
        return Response(status=204)


class CorrectionEventListParams(EventListParams):
    target_kind = LiteralField(CorrectionTarget.values, required=False, help_text="Only events of this kind.")
    name = None
    cursor = cursor_field(EVENT_TYPE_NAME)


class CorrectionValuesOut(serializers.Serializer):
    format = serializers.ChoiceField(choices=CorrectionFormat.values)
    output = serializers.JSONField()
    gold = serializers.BooleanField()


class CorrectionEventOut(serializers.Serializer):
    id = serializers.CharField(help_text=f"{EVENT_TYPE_NAME} GlobalID")
    action = serializers.ChoiceField(choices=EventAction.values)
    via = serializers.ChoiceField(choices=CorrectionVia.values, help_text="Through what the change came.")
    target_kind = serializers.ChoiceField(choices=CorrectionTarget.values)
    target_id = serializers.CharField(help_text="The span's or trace's OpenTelemetry id, or the session.id.")
    correction_id = serializers.CharField(help_text=f"{TYPE_NAME} GlobalID (gone after a delete).")
    owner_id = serializers.CharField(allow_null=True, help_text="User GlobalID of whose correction it is.")
    before = CorrectionValuesOut(allow_null=True, help_text="null for a create.")
    after = CorrectionValuesOut(allow_null=True, help_text="null for a delete.")
    user_id = serializers.CharField(allow_null=True, help_text="User GlobalID of who made the change.")
    created_at = serializers.DateTimeField(help_text="When the change was made.")


# Query parameters read as plain lookups on the events.
EVENT_FILTERS = {"target_kind": "target_kind", "since": "at__gte", "until": "at__lt"}


class ProjectCorrectionEventsView(APIView):
    @extend_schema(
        operation_id="listCorrectionEvents",
        summary="List the history of a project's corrected outputs (every create, update and delete), newest "
        "first",
        parameters=[PROJECT_PATH, CorrectionEventListParams],
        responses={
            200: page_envelope("CorrectionEventsResponseBody", CorrectionEventOut(many=True)),
            **errors({404: "Unknown project.", 422: "`Invalid cursor format: <cursor>`."}),
        },
    )
    def get(self, request: Request, identifier: str) -> Response:
        project = project_for(request, identifier)
        params = CorrectionEventListParams.read(request)
        events = CorrectionEvent.objects.filter(
            project_pk=project.pk,
            **{lookup: params[name] for name, lookup in EVENT_FILTERS.items() if params.get(name)},
        )
        if user := params.get("user"):
            try:
                events = events.filter(user_id=from_global_id(user, "User")[1])
            except GlobalIDError:
                raise query_error("user", "Input should be a User GlobalID", user) from None
        rows, next_cursor = paginate_desc(
            events, request=request, type_name=EVENT_TYPE_NAME, limit=params["limit"]
        )
        return Response(page([_event_data(event) for event in rows], next_cursor))


def _event_data(event: CorrectionEvent) -> dict[str, Any]:
    return {
        "id": to_global_id(EVENT_TYPE_NAME, event.pk),
        "action": event.action,
        "via": event.via,
        "target_kind": event.target_kind,
        "target_id": event.target_key,
        "correction_id": to_global_id(TYPE_NAME, event.correction_pk),
        "owner_id": to_global_id("User", event.owner_id) if event.owner_id else None,
        "before": event.before,
        "after": event.after,
        "user_id": to_global_id("User", event.user_id) if event.user_id else None,
        "created_at": iso(event.at),
    }
