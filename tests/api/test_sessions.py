"""/v1 sessions and session annotations: Phoenix 20.26.1's shapes, statuses and texts
(PHOENIX_COMPAT_SESSIONS.md; each text below was read from a real Phoenix 20.26.1)."""

from urllib.parse import quote

import pytest

from phoenix_annot.annotations.models import PendingAnnotation, SessionAnnotation
from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.ingest.otlp import decode_request
from phoenix_annot.ingest.services import spans_ingest
from phoenix_annot.tracing.models import Session, Span, Trace
from tests.factories import (
    AnnotationConfigFactory,
    SessionAnnotationFactory,
    SessionFactory,
    TraceFactory,
)
from tests.ingest.builders import chat_turn, export_request

pytestmark = pytest.mark.django_db


def conversation(session_id: str, turns: int, *, project: str = "chat", first: int = 1) -> None:
    """Ingest a conversation: one trace a turn, a CHAIN root naming the session and an LLM child."""
    spans = [
        span
        for number in range(first, first + turns)
        for span in chat_turn(
            number,
            root={"session.id": session_id, "input.value": f"q{number}"},
            llm={"llm.token_count.prompt": 7, "llm.token_count.completion": 3},
        )
    ]
    spans_ingest(
        records=decode_request(export_request(*spans, resource={"openinference.project.name": project}))
    )


def annotation(session_id: str, **overrides) -> dict:
    return {
        "session_id": session_id,
        "name": "resolved",
        "annotator_kind": "HUMAN",
        "result": {"label": "yes", "score": 1.0},
        **overrides,
    }


# --- reads ------------------------------------------------------------------------------------------------


def test_a_session_reads_as_phoenix_shapes_it_with_its_turns_in_start_order(api):
    conversation("conv-a", 2)
    session = Session.objects.get()
    traces = list(Trace.objects.order_by("start_time"))

    response = api.get("/v1/sessions/conv-a")

    assert response.status_code == 200
    assert response.json() == {
        "data": {
            "id": to_global_id("ProjectSession", session.pk),
            "session_id": "conv-a",
            "project_id": to_global_id("Project", session.project_id),
            "start_time": "2026-01-01T12:01:00+00:00",
            "end_time": "2026-01-01T12:02:00.250000+00:00",
            "traces": [
                {
                    "id": to_global_id("Trace", trace.pk),
                    "trace_id": trace.trace_id,
                    "start_time": trace.start_time.isoformat(),
                    "end_time": trace.end_time.isoformat(),
                }
                for trace in traces
            ],
            "token_count_prompt": 14,
            "token_count_completion": 6,
            "token_count_total": 20,
        }
    }


def test_a_session_is_found_by_its_global_id_too(api):
    conversation("conv-a", 1)
    gid = to_global_id("ProjectSession", Session.objects.get().pk)

    assert api.get(f"/v1/sessions/{gid}").json()["data"]["session_id"] == "conv-a"


def test_a_session_id_holding_a_slash_is_found_as_the_client_sends_it(api):
    conversation("team/conv 1", 1)

    assert api.get("/v1/sessions/team%2Fconv%201").json()["data"]["session_id"] == "team/conv 1"


@pytest.mark.parametrize(
    ("identifier", "text"),
    [
        ("nope", "Session with session_id nope not found"),
        (
            to_global_id("ProjectSession", 999),
            f"Session with ID {to_global_id('ProjectSession', 999)} not found",
        ),
    ],
)
def test_an_unknown_session_is_phoenixs_plain_404(api, identifier, text):
    response = api.get(f"/v1/sessions/{identifier}")

    assert (response.status_code, response["Content-Type"], response.content.decode()) == (
        404,
        "text/plain; charset=utf-8",
        text,
    )


def test_a_projects_sessions_are_paged_by_id_oldest_first_with_the_cursor_the_first_row_not_returned(api):
    for number in range(3):
        conversation(f"conv-{number}", 1, first=number + 1)
    pks = list(Session.objects.order_by("pk").values_list("pk", flat=True))

    first = api.get("/v1/projects/chat/sessions?limit=2").json()
    second = api.get(f"/v1/projects/chat/sessions?limit=2&cursor={first['next_cursor']}").json()
    newest = api.get("/v1/projects/chat/sessions?limit=1&order=desc").json()

    assert [s["session_id"] for s in first["data"]] == ["conv-0", "conv-1"]
    assert first["next_cursor"] == to_global_id("ProjectSession", pks[2])
    assert ([s["session_id"] for s in second["data"]], second["next_cursor"]) == (["conv-2"], None)
    assert [s["session_id"] for s in newest["data"]] == ["conv-2"]
    assert newest["next_cursor"] == to_global_id("ProjectSession", pks[1])


def test_the_session_list_shows_only_the_projects_sessions(api):
    conversation("conv-a", 1, project="chat")
    conversation("conv-b", 1, project="other", first=2)

    assert [s["session_id"] for s in api.get("/v1/projects/chat/sessions").json()["data"]] == ["conv-a"]


@pytest.mark.parametrize(
    ("url", "status", "text"),
    [
        ("sessions?cursor=zzz", 422, "Invalid cursor format: zzz"),
        ("sessions?filter=x%20%3D%3D", 400, "Session filter expressions are not supported by phoenix-annot"),
        (
            "session_annotations?session_ids=nope",
            404,
            "None of the supplied session_ids exist in this project",
        ),
        ("session_annotations", 422, "At least one of session_ids or identifier must be supplied"),
    ],
)
def test_the_project_lists_refuse_as_phoenix_does_in_plain_text(api, url, status, text):
    conversation("conv-a", 1)

    response = api.get(f"/v1/projects/chat/{url}")

    assert (response.status_code, response.content.decode()) == (status, text)


@pytest.mark.parametrize(("query", "field"), [("limit=0", "limit"), ("order=up", "order")])
def test_a_bad_limit_or_order_is_a_422_naming_it(api, query, field):
    conversation("conv-a", 1)

    response = api.get(f"/v1/projects/chat/sessions?{query}")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", field]


def test_the_session_list_of_an_unknown_project_is_a_404(api):
    response = api.get("/v1/projects/nowhere/sessions")

    assert (response.status_code, response.content.decode()) == (404, "Project with name nowhere not found")


def test_a_page_of_sessions_takes_a_fixed_number_of_queries(api, django_assert_max_num_queries):
    project = SessionFactory().project
    for _ in range(30):
        session = SessionFactory(project=project)
        TraceFactory.create_batch(3, project=project, session=session)

    with django_assert_max_num_queries(3):
        response = api.get(f"/v1/projects/{project.name}/sessions?limit=100")

    assert len(response.json()["data"]) == 31
    assert sum(len(s["traces"]) for s in response.json()["data"]) == 90


# --- deletes ------------------------------------------------------------------------------------------------


def test_deleting_a_session_deletes_its_traces_spans_and_annotations(api):
    conversation("conv-a", 2)
    conversation("conv-b", 1, first=3)
    SessionAnnotationFactory(session=Session.objects.get(session_id="conv-a"))

    response = api.delete("/v1/sessions/conv-a")

    assert response.status_code == 204
    assert list(Session.objects.values_list("session_id", flat=True)) == ["conv-b"]
    assert Trace.objects.count() == 1
    assert Span.objects.count() == 2
    assert not SessionAnnotation.objects.exists()


def test_deleting_an_unknown_session_is_a_404_quoting_it(api):
    response = api.delete("/v1/sessions/nope")

    assert (response.status_code, response.content.decode()) == (
        404,
        "Session with session_id 'nope' not found",
    )


def test_bulk_delete_skips_unknown_ids_and_takes_global_ids_too(api):
    for number in range(3):
        conversation(f"conv-{number}", 1, first=number + 1)
    gid = to_global_id("ProjectSession", Session.objects.get(session_id="conv-2").pk)

    by_name = api.post("/v1/sessions/delete", {"session_identifiers": ["conv-0", "unknown"]})
    by_gid = api.post("/v1/sessions/delete", {"session_identifiers": [gid]})

    assert (by_name.status_code, by_gid.status_code) == (204, 204)
    assert list(Session.objects.values_list("session_id", flat=True)) == ["conv-1"]


@pytest.mark.parametrize(
    ("identifiers", "text"),
    [
        ([], "Session identifier list must not be empty."),
        (
            ["conv-a", to_global_id("ProjectSession", 1)],
            "All identifiers must be the same type: either all GlobalIDs or all session_id strings.",
        ),
    ],
)
def test_bulk_delete_refuses_an_empty_or_mixed_list_and_deletes_nothing(api, identifiers, text):
    conversation("conv-a", 1)

    response = api.post("/v1/sessions/delete", {"session_identifiers": identifiers})

    assert (response.status_code, response.content.decode()) == (422, text)
    assert Session.objects.exists()


def test_viewers_may_read_sessions_but_not_delete_them(keyed_client):
    conversation("conv-a", 1)
    viewer = keyed_client("VIEWER")

    assert viewer.get("/v1/sessions/conv-a").status_code == 200
    assert viewer.delete("/v1/sessions/conv-a").status_code == 403
    assert viewer.post("/v1/sessions/delete", {"session_identifiers": ["conv-a"]}).status_code == 403
    assert Session.objects.exists()


# --- session annotations ------------------------------------------------------------------------------------


def test_a_sync_session_annotation_is_stored_and_upserted_on_name_and_identifier(api):
    conversation("conv-a", 1)

    first = api.post("/v1/session_annotations?sync=true", {"data": [annotation("conv-a")]})
    again = api.post(
        "/v1/session_annotations?sync=true", {"data": [annotation("conv-a", result={"label": "no"})]}
    )

    stored = SessionAnnotation.objects.get()
    assert (
        first.json()
        == again.json()
        == {"data": [{"id": to_global_id("ProjectSessionAnnotation", stored.pk)}]}
    )
    assert (stored.label, stored.score, stored.source) == ("no", None, "API")


def test_a_sync_annotation_of_an_unknown_session_is_a_404_and_nothing_of_the_batch_is_stored(api):
    conversation("conv-a", 1)

    response = api.post(
        "/v1/session_annotations?sync=true", {"data": [annotation("conv-a"), annotation("nope")]}
    )

    assert (response.status_code, response.content.decode()) == (404, "Sessions with IDs nope do not exist.")
    assert not SessionAnnotation.objects.exists()


def test_an_annotation_of_a_session_not_ingested_yet_waits_and_lands_when_a_span_names_it(api):
    response = api.post("/v1/session_annotations", {"data": [annotation("later")]})

    assert response.json() == {"data": []}
    assert PendingAnnotation.objects.get().target == "session"

    conversation("later", 1)

    assert SessionAnnotation.objects.get().session.session_id == "later"
    assert not PendingAnnotation.objects.exists()


def test_the_name_note_is_refused_and_pointed_at_session_notes(api):
    conversation("conv-a", 1)

    response = api.post("/v1/session_annotations?sync=true", {"data": [annotation("conv-a", name="note")]})

    assert (response.status_code, response.content.decode()) == (
        400,
        "The name 'note' is reserved for session notes. Use POST /v1/session_notes instead.",
    )


def test_a_bad_row_in_a_batch_stores_nothing(api):
    conversation("conv-a", 1)
    config = AnnotationConfigFactory(name="resolved", values=[{"label": "yes", "score": 1.0}])
    config.projects.add(Session.objects.get().project)

    response = api.post(
        "/v1/session_annotations?sync=true",
        {
            "data": [
                annotation("conv-a"),
                annotation("conv-a", name="resolved", identifier="b", result={"label": "x"}),
            ]
        },
    )

    assert response.status_code == 400
    assert "data[1].label" in response.content.decode()
    assert not SessionAnnotation.objects.exists()


@pytest.mark.parametrize(
    ("item", "loc"),
    [
        (
            {"name": "resolved", "annotator_kind": "HUMAN", "result": {"label": "yes"}},
            ["body", "data", 0, "session_id"],
        ),
        (annotation("conv-a", annotator_kind="ROBOT"), ["body", "data", 0, "annotator_kind"]),
        (annotation("conv-a", result={}), ["body", "data", 0, "result"]),
        (annotation("x" * 513), ["body", "data", 0, "session_id"]),
    ],
)
def test_a_malformed_session_annotation_is_a_422_pointing_at_the_field(api, item, loc):
    conversation("conv-a", 1)

    response = api.post("/v1/session_annotations?sync=true", {"data": [item]})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc
    assert not SessionAnnotation.objects.exists()


def test_a_second_user_cannot_overwrite_the_first_users_session_annotation(keyed_client):
    conversation("conv-a", 1)
    first, second = keyed_client("ANNOTATOR"), keyed_client("ANNOTATOR")
    first.post("/v1/session_annotations?sync=true", {"data": [annotation("conv-a")]})

    response = second.post(
        "/v1/session_annotations?sync=true", {"data": [annotation("conv-a", result={"label": "no"})]}
    )

    assert response.status_code == 403
    assert "session conv-a" in response.content.decode()
    assert SessionAnnotation.objects.get().label == "yes"


def test_viewers_cannot_annotate_sessions(keyed_client):
    conversation("conv-a", 1)

    response = keyed_client("VIEWER").post(
        "/v1/session_annotations?sync=true", {"data": [annotation("conv-a")]}
    )

    assert (response.status_code, response.content.decode()) == (403, "Viewers cannot perform this action.")


def test_a_session_note_is_appended_under_a_fresh_identifier_or_upserted_on_a_given_one(api):
    conversation("conv-a", 1)

    first = api.post("/v1/session_notes", {"data": {"session_id": "conv-a", "note": "one"}})
    api.post("/v1/session_notes", {"data": {"session_id": "conv-a", "note": "two"}})
    api.post("/v1/session_notes", {"data": {"session_id": "conv-a", "note": "three", "identifier": "mine"}})
    api.post("/v1/session_notes", {"data": {"session_id": "conv-a", "note": "four", "identifier": "mine"}})

    notes = SessionAnnotation.objects.filter(name="note")
    assert first.status_code == 200
    assert notes.count() == 3
    assert sorted(notes.values_list("explanation", flat=True)) == ["four", "one", "two"]
    assert notes.filter(identifier__startswith="px-session-note:").count() == 2


def test_a_note_on_an_unknown_session_is_phoenixs_404(api):
    response = api.post("/v1/session_notes", {"data": {"session_id": "nope", "note": "hi"}})

    assert (response.status_code, response.content.decode()) == (
        404,
        "Session with session_id nope not found",
    )


def test_session_annotations_list_like_span_annotations(api):
    conversation("conv-a", 1)
    stored = SessionAnnotationFactory(session=Session.objects.get(), label="yes")

    response = api.get("/v1/projects/chat/session_annotations?session_ids=conv-a")

    assert response.json() == {
        "data": [
            {
                "id": to_global_id("ProjectSessionAnnotation", stored.pk),
                "session_id": "conv-a",
                "name": "resolved",
                "annotator_kind": "HUMAN",
                "result": {"label": "yes", "score": 1.0, "explanation": None},
                "metadata": {},
                "identifier": "",
                "source": "API",
                "user_id": None,
                "created_at": stored.created_at.isoformat(),
                "updated_at": stored.updated_at.isoformat(),
            }
        ],
        "next_cursor": None,
    }


def test_the_session_annotation_list_takes_a_fixed_number_of_queries(api, django_assert_max_num_queries):
    conversation("conv-a", 1)
    session = Session.objects.get()
    for number in range(50):
        SessionAnnotationFactory(session=session, identifier=f"run-{number}")

    with django_assert_max_num_queries(2):
        response = api.get("/v1/projects/chat/session_annotations?session_ids=conv-a&limit=100")

    assert len(response.json()["data"]) == 50


def test_a_non_admin_bulk_delete_of_session_annotations_deletes_only_their_own(keyed_client):
    conversation("conv-a", 1)
    mine, theirs = keyed_client("ANNOTATOR"), keyed_client("ANNOTATOR")
    mine.post("/v1/session_annotations?sync=true", {"data": [annotation("conv-a", identifier="mine")]})
    theirs.post("/v1/session_annotations?sync=true", {"data": [annotation("conv-a", identifier="theirs")]})

    response = mine.delete("/v1/projects/chat/session_annotations?delete_all=true")

    assert response.status_code == 204
    assert list(SessionAnnotation.objects.values_list("identifier", flat=True)) == ["theirs"]
    assert (
        keyed_client("ADMIN").delete("/v1/projects/chat/session_annotations?delete_all=true").status_code
        == 204
    )
    assert not SessionAnnotation.objects.exists()


def test_an_unbounded_delete_of_session_annotations_is_refused(api):
    conversation("conv-a", 1)

    response = api.delete("/v1/projects/chat/session_annotations")

    assert response.status_code == 422
    assert response.content.decode().startswith("Delete is unbounded.")


def test_a_projects_traces_can_be_narrowed_to_sessions_by_session_id_or_global_id(api):
    conversation("conv-a", 2)
    conversation("conv-b", 1, first=3)
    conversation("conv-c", 1, first=4)
    gid = to_global_id("ProjectSession", Session.objects.get(session_id="conv-c").pk)

    response = api.get(f"/v1/projects/chat/traces?session_identifier=conv-a&session_identifier={gid}")

    named = Trace.objects.filter(session__session_id__in=["conv-a", "conv-c"])
    assert {t["trace_id"] for t in response.json()["data"]} == set(named.values_list("trace_id", flat=True))


@pytest.mark.parametrize("session_id", ["line\nbreak", "nul\x00inside"])
def test_a_session_id_with_a_line_break_or_a_nul_is_looked_up_and_answered_in_plain_text(api, session_id):
    for response in (
        api.get(f"/v1/sessions/{quote(session_id)}"),
        api.delete(f"/v1/sessions/{quote(session_id)}"),
    ):
        assert response.status_code == 404
        assert response["Content-Type"] == "text/plain; charset=utf-8"
