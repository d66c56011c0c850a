"""Sessions over REST (PHOENIX_COMPAT_SESSIONS.md): list a project's, read, delete one or many.

A session is addressed by its `session.id` or its ProjectSession GlobalID, as in Phoenix; ingestion makes
sessions, so there is no write beyond deletion (annotations are in `annotations.py`).
"""

from typing import Any

from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from phoenix_annot.accounts.access import visible
from phoenix_annot.core.globalid import GlobalIDError, from_global_id, to_global_id
from phoenix_annot.tracing.models import Session
from phoenix_annot.tracing.selectors import sessions_with_turns
from phoenix_annot.tracing.services import sessions_delete

from ..errors import PlainError
from ..lookups import forbid_viewed_only, project_for, reached
from ..params import LimitField, LiteralField, QueryParams, paginate_by_pk
from ..schema import PROJECT_PATH, cursor_field, data_envelope, errors, page_envelope, path_param
from ..wire import envelope, iso, page, validated

TYPE_NAME = "ProjectSession"
MAX_LIST_LIMIT = 1000
SESSION_PATH = path_param(
    "identifier", "The session's `session.id`, or its ProjectSession GlobalID (as in Phoenix)."
)
MIXED_IDENTIFIERS = "All identifiers must be the same type: either all GlobalIDs or all session_id strings."


def _session_pk(identifier: str) -> int | None:
    """The row a ProjectSession GlobalID names; None when the identifier is a session.id instead."""
    try:
        return from_global_id(identifier, TYPE_NAME)[1]
    except GlobalIDError:
        return None


def sessions_named(identifiers: list[str]) -> QuerySet[Session]:
    """The sessions these identifiers name, each a session.id or a ProjectSession GlobalID."""
    pks = [_session_pk(identifier) for identifier in identifiers]
    return Session.objects.filter(
        Q(pk__in=[pk for pk in pks if pk is not None])
        | Q(
            session_id__in=[identifier for identifier, pk in zip(identifiers, pks, strict=True) if pk is None]
        )
    )


def session_from_identifier(request: Request, identifier: str, *, quoted: bool = False) -> Session:
    """The session, or Phoenix's 404 (its delete quotes the identifier, its read does not), also for one of
    a project the caller may not see; a 403 for a write to one they only view."""
    pk = _session_pk(identifier)
    shown = f"'{identifier}'" if quoted else identifier
    if pk is not None:
        session = reached(request, Session.objects.all(), pk=pk)
        what = f"ID {shown}"
    else:
        session = reached(request, Session.objects.all(), session_id=identifier)
        what = f"session_id {shown}"
    if session is None:
        raise PlainError(404, f"Session with {what} not found")
    return session


class SessionTraceOut(serializers.Serializer):
    id = serializers.CharField(help_text="Trace GlobalID")
    trace_id = serializers.CharField()
    start_time = serializers.DateTimeField()
    end_time = serializers.DateTimeField()


class SessionOut(serializers.Serializer):
    """`SessionData`; token counts add up LLM spans only, total = prompt + completion, as in Phoenix."""

    id = serializers.CharField(help_text="ProjectSession GlobalID")
    session_id = serializers.CharField()
    project_id = serializers.CharField(help_text="Project GlobalID")
    start_time = serializers.DateTimeField()
    end_time = serializers.DateTimeField()
    traces = SessionTraceOut(many=True, help_text="Its turns, in start order.")
    token_count_prompt = serializers.IntegerField()
    token_count_completion = serializers.IntegerField()
    token_count_total = serializers.IntegerField()


def session_data(session: Session, turns: list[dict[str, Any]]) -> dict[str, Any]:
    prompt, completion = session.llm_token_count_prompt, session.llm_token_count_completion
    return {
        "id": to_global_id(TYPE_NAME, session.pk),
        "session_id": session.session_id,
        "project_id": to_global_id("Project", session.project_id),
        "start_time": iso(session.start_time),
        "end_time": iso(session.end_time),
        "traces": [
            {
                "id": to_global_id("Trace", turn["pk"]),
                "trace_id": turn["trace_id"],
                "start_time": iso(turn["start_time"]),
                "end_time": iso(turn["end_time"]),
            }
            for turn in turns
        ],
        "token_count_prompt": prompt,
        "token_count_completion": completion,
        "token_count_total": prompt + completion,
    }


class SessionListParams(QueryParams):
    cursor = cursor_field(TYPE_NAME)
    limit = LimitField(default=100, maximum=MAX_LIST_LIMIT)
    order = LiteralField(["asc", "desc"], default="asc", required=False, help_text="Order by session row id.")
    filter = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Phoenix's session filter expression. Not supported here: an empty one is ignored, "
        "any other answers 400.",
    )


class ProjectSessionsView(APIView):
    @extend_schema(
        operation_id="listProjectSessions",
        summary="List a project's sessions with their turns, oldest first (order=desc: newest first)",
        parameters=[PROJECT_PATH, SessionListParams],
        responses={
            200: page_envelope("GetSessionsResponseBody", SessionOut(many=True)),
            **errors(
                {
                    400: "A non-empty `filter`: session filter expressions are not supported.",
                    404: "Unknown project.",
                    422: "`Invalid cursor format: <cursor>`.",
                }
            ),
        },
    )
    def get(self, request: Request, identifier: str) -> Response:
        project = project_for(request, identifier)
        params = SessionListParams.read(request)
        if params.get("filter", "").strip():
            raise PlainError(400, "Session filter expressions are not supported by phoenix-annot")
        sessions, next_cursor = paginate_by_pk(
            Session.objects.for_project(project),
            request=request,
            type_name=TYPE_NAME,
            limit=params["limit"],
            descending=params["order"] == "desc",
        )
        turns = sessions_with_turns(sessions)
        return Response(page([session_data(session, turns[session.pk]) for session in sessions], next_cursor))


class SessionDetailView(APIView):
    @extend_schema(
        operation_id="getSession",
        summary="Get a session with its turns, by session.id or GlobalID",
        parameters=[SESSION_PATH],
        responses={
            200: data_envelope("GetSessionResponseBody", SessionOut()),
            **errors(
                {404: "`Session with session_id <id> not found` (or `with ID <gid>`)."}, validation=False
            ),
        },
    )
    def get(self, request: Request, identifier: str) -> Response:
        session = session_from_identifier(request, identifier)
        return Response(envelope(session_data(session, sessions_with_turns([session])[session.pk])))

    @extend_schema(
        operation_id="deleteSession",
        summary="Delete a session with its traces, spans and annotations",
        parameters=[SESSION_PATH],
        responses={
            204: None,
            **errors(
                {404: "`Session with session_id '<id>' not found` (or `with ID '<gid>'`)."}, validation=False
            ),
        },
    )
    def delete(self, request: Request, identifier: str) -> Response:
        session = session_from_identifier(request, identifier, quoted=True)
        sessions_delete(sessions=Session.objects.filter(pk=session.pk))
        return Response(status=204)


class DeleteSessionsBody(serializers.Serializer):
    session_identifiers = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        help_text="All session.id strings or all ProjectSession GlobalIDs; unknown ones are skipped.",
    )


class SessionsDeleteView(APIView):
    @extend_schema(
        operation_id="deleteSessions",
        summary="Delete sessions with their traces, spans and annotations; unknown ones are skipped",
        request=DeleteSessionsBody,
        responses={
            204: None,
            **errors({422: f"`Session identifier list must not be empty.` or `{MIXED_IDENTIFIERS}`"}),
        },
    )
    def post(self, request: Request) -> Response:
        identifiers = validated(DeleteSessionsBody, request.data)["session_identifiers"]
        if not identifiers:
            raise PlainError(422, "Session identifier list must not be empty.")
        pks = [_session_pk(identifier) for identifier in identifiers]
        if any(pk is None for pk in pks) and any(pk is not None for pk in pks):
            raise PlainError(422, MIXED_IDENTIFIERS)
        by_pk = pks[0] is not None
        lookup = {"pk__in": pks} if by_pk else {"session_id__in": identifiers}
        # Those of projects the caller may not see are skipped as unknown ones are.
        sessions = visible(Session.objects.filter(**lookup), request.user)
        forbid_viewed_only(request, sessions)
        sessions_delete(sessions=sessions)
        return Response(status=204)
