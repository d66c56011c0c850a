import pytest

from phoenix_annot.accounts.models import User
from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.corrections.models import Correction, CorrectionEvent
from tests.api.conftest import V1Client, client_for_role
from tests.corrections.factories import CorrectionFactory, llm_attributes
from tests.factories import SpanFactory, TraceFactory, conversation

pytestmark = pytest.mark.django_db


@pytest.fixture
def keyed(settings):
    settings.V1_AUTH_REQUIRED = True
    return client_for_role


def gid(correction: Correction) -> str:
    return to_global_id("Correction", correction.pk)


def test_a_reviewer_writes_corrections_of_a_span_a_trace_and_a_session_and_reads_them_back(keyed):
    span = SpanFactory(trace__project__name="support", span_kind="LLM", attributes=llm_attributes())
    trace = TraceFactory(project=span.project)
    SpanFactory(trace=trace, span_kind="CHAIN", output_value="Paris.")
    session = conversation(span.project, [("Capital of Spain?", "Lisbon.")])
    client = keyed("ANNOTATOR")

    response = client.post(
        "/v1/corrections",
        {
            "data": [
                {"span_id": span.span_id, "output": "Madrid."},
                {"trace_id": trace.trace_id, "output": "Paris, France."},
                {"session_id": session.session_id, "output": "Madrid."},
            ]
        },
    )

    assert response.status_code == 200, response.content
    ids = [row["id"] for row in response.json()["data"]]
    listed = client.get("/v1/projects/support/corrections").json()
    assert [row["id"] for row in listed["data"]] == ids[::-1]
    by_kind = {row["target_kind"]: row for row in listed["data"]}
    assert (by_kind["span"]["span_id"], by_kind["span"]["format"], by_kind["span"]["output"]) == (
        span.span_id,
        "message",
        "Madrid.",
    )
    assert (by_kind["trace"]["trace_id"], by_kind["trace"]["format"]) == (trace.trace_id, "text")
    assert by_kind["session"]["session_id"] == session.session_id
    assert client.get(f"/v1/corrections/{ids[0]}").json()["data"]["output"] == "Madrid."
    assert set(CorrectionEvent.objects.values_list("via", flat=True)) == {"api"}


def test_writing_again_replaces_the_callers_own_correction(keyed):
    span = SpanFactory()
    client = keyed("ANNOTATOR")

    first = client.post("/v1/corrections", {"data": [{"span_id": span.span_id, "output": "One."}]}).json()
    again = client.post("/v1/corrections", {"data": [{"span_id": span.span_id, "output": "Two."}]}).json()

    assert first == again
    assert list(Correction.objects.values_list("output", flat=True)) == ["Two."]


def test_another_annotator_can_neither_change_nor_delete_a_correction_through_the_api(keyed):
    correction = CorrectionFactory(user__username="ana", output="Ana's.")
    bob = keyed("ANNOTATOR")

    changed = bob.patch(
        f"/v1/corrections/{gid(correction)}", {"output": "Bob's."}, content_type="application/json"
    )
    deleted = bob.delete(f"/v1/corrections/{gid(correction)}")
    own = bob.post("/v1/corrections", {"data": [{"span_id": correction.span.span_id, "output": "Bob's."}]})

    assert (changed.status_code, deleted.status_code) == (403, 403)
    assert "belongs to user 'ana'" in changed.content.decode()
    assert own.status_code == 200
    correction.refresh_from_db()
    assert correction.output == "Ana's."
    assert Correction.objects.count() == 2


def test_an_admin_changes_and_deletes_anybodys_correction(keyed):
    correction = CorrectionFactory(output="Ana's.")
    admin = keyed("ADMIN")

    changed = admin.patch(
        f"/v1/corrections/{gid(correction)}",
        {"output": "Fixed.", "gold": True},
        content_type="application/json",
    )

    assert changed.json()["data"] | {"created_at": None, "updated_at": None} == {
        "id": gid(correction),
        "project_id": to_global_id("Project", correction.project_id),
        "target_kind": "span",
        "span_id": correction.span.span_id,
        "trace_id": None,
        "session_id": None,
        "format": "text",
        "output": "Fixed.",
        "gold": True,
        "user_id": to_global_id("User", correction.user_id),
        "created_at": None,
        "updated_at": None,
    }
    assert admin.delete(f"/v1/corrections/{gid(correction)}").status_code == 204
    assert not Correction.objects.exists()
    assert list(CorrectionEvent.objects.order_by("pk").values_list("action", flat=True)) == [
        "update",
        "delete",
    ]


def test_an_annotator_cannot_mark_a_correction_gold(keyed):
    span = SpanFactory()

    response = keyed("ANNOTATOR").post(
        "/v1/corrections", {"data": [{"span_id": span.span_id, "output": "Mine.", "gold": True}]}
    )

    assert response.status_code == 403
    assert "adjudicators" in response.content.decode()
    assert not Correction.objects.exists()


def test_a_missing_target_is_a_404_naming_it_and_nothing_is_written(keyed):
    span = SpanFactory()

    response = keyed("ANNOTATOR").post(
        "/v1/corrections",
        {"data": [{"span_id": span.span_id, "output": "Fine."}, {"trace_id": "f" * 32, "output": "Lost."}]},
    )

    assert (response.status_code, response.content.decode()) == (
        404,
        f"Not found: trace {'f' * 32}; nothing was written.",
    )
    assert not Correction.objects.exists()


def test_a_bad_output_is_a_422_at_its_place_in_the_body_and_nothing_is_written(keyed):
    span = SpanFactory()

    response = keyed("ANNOTATOR").post(
        "/v1/corrections",
        {"data": [{"span_id": span.span_id, "output": "Fine."}, {"span_id": span.span_id, "output": "  "}]},
    )

    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "data", 1, "output"]
    assert "empty" in error["msg"]
    assert not Correction.objects.exists()


def test_a_body_naming_no_target_or_two_is_a_422(keyed):
    response = keyed("ANNOTATOR").post(
        "/v1/corrections", {"data": [{"output": "x"}, {"span_id": "a", "trace_id": "b", "output": "x"}]}
    )

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["body", "data", 0], ["body", "data", 1]]


def test_without_a_user_a_write_is_a_401_even_with_auth_off(v1_auth_off):
    span = SpanFactory()

    response = V1Client().post("/v1/corrections", {"data": [{"span_id": span.span_id, "output": "x"}]})

    assert response.status_code == 401
    assert not Correction.objects.exists()


def test_the_list_filters_by_target_and_gold_and_pages_by_cursor(keyed):
    span = SpanFactory(trace__project__name="support")
    others = [CorrectionFactory(span=span) for _ in range(3)]
    gold = CorrectionFactory(span=SpanFactory(trace=span.trace), gold=True)
    client = keyed("VIEWER")

    first = client.get("/v1/projects/support/corrections?limit=2").json()
    second = client.get(f"/v1/projects/support/corrections?limit=2&cursor={first['next_cursor']}").json()
    of_span = client.get(f"/v1/projects/support/corrections?span_ids={span.span_id}").json()
    golden = client.get("/v1/projects/support/corrections?gold=true").json()

    assert [row["id"] for row in first["data"] + second["data"]] == [gid(c) for c in [gold, *others[::-1]]]
    assert second["next_cursor"] is None
    assert {row["id"] for row in of_span["data"]} == {gid(c) for c in others}
    assert [row["id"] for row in golden["data"]] == [gid(gold)]


def test_a_viewer_reads_but_does_not_write(keyed):
    span = SpanFactory()

    response = keyed(User.Role.VIEWER).post(
        "/v1/corrections", {"data": [{"span_id": span.span_id, "output": "x"}]}
    )

    assert response.status_code == 403


def test_a_projects_correction_history_is_exported_newest_first_with_filters(keyed):
    span = SpanFactory(trace__project__name="support")
    client = keyed("ANNOTATOR")
    for text in ("One.", "Two."):
        client.post("/v1/corrections", {"data": [{"span_id": span.span_id, "output": text}]})
    correction = Correction.objects.get()
    client.delete(f"/v1/corrections/{gid(correction)}")
    SpanFactory(trace__project__name="elsewhere")

    events = client.get("/v1/projects/support/correction_events").json()
    paged = client.get("/v1/projects/support/correction_events?limit=2").json()
    later = client.get("/v1/projects/support/correction_events?since=2999-01-01T00:00:00").json()
    bad = client.get("/v1/projects/support/correction_events?user=nobody")

    one = {"format": "text", "output": "One.", "gold": False}
    two = {**one, "output": "Two."}
    assert [(e["action"], e["before"], e["after"]) for e in events["data"]] == [
        ("delete", two, None),
        ("update", one, two),
        ("create", None, one),
    ]
    assert {(e["target_kind"], e["target_id"], e["correction_id"], e["via"]) for e in events["data"]} == {
        ("span", span.span_id, gid(correction), "api")
    }
    assert len(paged["data"]) == 2 and paged["next_cursor"] is not None
    assert later["data"] == []
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "user"]
