from urllib.parse import quote

import pytest

from phoenix_annot.annotations.models import PendingAnnotation, SpanAnnotation, TraceAnnotation
from phoenix_annot.api.errors import RequestValidationError
from phoenix_annot.api.views.annotations import (
    SpanAnnotationWriteView,
    TraceAnnotationWriteView,
    list_params,
)
from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.ingest.otlp import decode_request
from phoenix_annot.ingest.services import spans_ingest
from tests.factories import (
    AnnotationConfigFactory,
    ProjectFactory,
    SpanAnnotationFactory,
    SpanFactory,
    TraceFactory,
)
from tests.ingest.builders import export_request, otlp_span

pytestmark = pytest.mark.django_db


def annotation(span_id: str, name: str = "correctness", **overrides):
    return {
        "span_id": span_id,
        "name": name,
        "annotator_kind": "LLM",
        "result": {"label": "correct", "score": 1.0},
        **overrides,
    }


def test_a_sync_write_returns_ids_in_order_and_an_upsert_keeps_the_id(api):
    first, second = SpanFactory(), SpanFactory()

    created = api.post(
        "/v1/span_annotations?sync=true", {"data": [annotation(first.span_id), annotation(second.span_id)]}
    )
    again = api.post(
        "/v1/span_annotations?sync=true",
        {"data": [annotation(first.span_id, result={"score": 0.0})]},
    )

    ids = [item["id"] for item in created.json()["data"]]
    rows = {row.span_id: row for row in SpanAnnotation.objects.all()}
    assert ids == [
        to_global_id("SpanAnnotation", rows[first.pk].pk),
        to_global_id("SpanAnnotation", rows[second.pk].pk),
    ]
    assert again.json() == {"data": [{"id": ids[0]}]}
    replaced = SpanAnnotation.objects.get(span=first)
    assert (replaced.label, replaced.score, replaced.source, replaced.metadata) == (None, 0.0, "API", {})


def test_a_different_identifier_makes_a_new_row(api):
    span = SpanFactory()

    api.post(
        "/v1/span_annotations?sync=true",
        {"data": [annotation(span.span_id), annotation(span.span_id, identifier="judge-2")]},
    )

    assert SpanAnnotation.objects.filter(span=span).count() == 2


def test_the_single_unwrapped_object_of_older_docs_is_accepted(api):
    span = SpanFactory()

    response = api.post("/v1/span_annotations?sync=true", annotation(span.span_id))

    assert response.status_code == 200
    assert len(response.json()["data"]) == 1


def test_an_empty_list_is_fine(api):
    assert api.post("/v1/span_annotations?sync=true", {"data": []}).json() == {"data": []}


def test_a_missing_span_is_a_404_and_nothing_is_written(api):
    span = SpanFactory()

    response = api.post(
        "/v1/span_annotations?sync=true", {"data": [annotation(span.span_id), annotation("00000000000000aa")]}
    )

    assert (response.status_code, response.content.decode()) == (
        404,
        "Spans with IDs 00000000000000aa do not exist.",
    )
    assert not SpanAnnotation.objects.exists()


def test_the_note_name_is_reserved(api):
    response = api.post("/v1/span_annotations", {"data": [annotation(SpanFactory().span_id, name="note")]})

    assert response.status_code == 400
    assert "Use POST /v1/span_notes instead." in response.content.decode()


def test_a_label_outside_the_config_is_a_400_with_the_reason_and_nothing_is_written(api):
    span = SpanFactory()
    AnnotationConfigFactory(name="correctness").projects.add(span.project)

    response = api.post(
        "/v1/span_annotations?sync=true",
        {
            "data": [
                annotation(span.span_id),
                annotation(span.span_id, identifier="x", result={"label": "meh"}),
            ]
        },
    )

    assert response.status_code == 400
    assert "data[1].label: 'meh' is not a label of 'correctness'" in response.content.decode()
    assert not SpanAnnotation.objects.exists()


@pytest.mark.parametrize(
    ("item", "loc", "kind"),
    [
        ({"span_id": "a", "annotator_kind": "LLM"}, ["body", "data", 0, "name"], "missing"),
        (
            {"span_id": "a", "name": "x", "annotator_kind": "ROBOT", "result": {"label": "y"}},
            ["body", "data", 0, "annotator_kind"],
            "literal_error",
        ),
        (
            {"span_id": "a", "name": "x", "annotator_kind": "LLM", "result": {"score": "high"}},
            ["body", "data", 0, "result", "score"],
            "invalid",
        ),
        (
            {"span_id": "a", "name": "x", "annotator_kind": "LLM", "metadata": [1]},
            ["body", "data", 0, "metadata"],
            "not_a_dict",
        ),
    ],
)
def test_malformed_items_are_422s_that_point_at_the_field(api, item, loc, kind):
    response = api.post("/v1/span_annotations?sync=true", {"data": [item]})

    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert (detail["loc"], detail["type"]) == (loc, kind)


def test_malformed_json_is_a_clear_error(api):
    response = api.post("/v1/span_annotations", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert "JSON parse error" in response.content.decode()


def test_too_many_annotations_in_one_request_are_refused(api):
    response = api.post("/v1/span_annotations", {"data": [annotation("a")] * 10_001})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "data"]


def test_an_async_annotation_for_a_span_not_yet_ingested_waits_and_is_applied_on_ingest(api):
    span_hex = f"{77:016x}"

    response = api.post("/v1/span_annotations", {"data": [annotation(span_hex)]})

    assert response.json() == {"data": []}
    assert PendingAnnotation.objects.filter(target="span", target_id=span_hex).exists()
    spans_ingest(records=decode_request(export_request(otlp_span(span_id=77))))
    applied = SpanAnnotation.objects.get()
    assert (applied.span.span_id, applied.label, applied.annotator_kind) == (span_hex, "correct", "LLM")
    assert not PendingAnnotation.objects.exists()


def test_trace_annotations_upsert_on_trace_ids(api):
    trace = TraceFactory()
    body = {
        "data": [
            {
                "trace_id": trace.trace_id,
                "name": "user_feedback",
                "annotator_kind": "HUMAN",
                "result": {"label": "positive", "score": 1},
            }
        ]
    }

    response = api.post("/v1/trace_annotations?sync=true", body)
    missing = api.post(
        "/v1/trace_annotations?sync=true", {"data": [{**body["data"][0], "trace_id": "f" * 32}]}
    )

    assert response.json()["data"][0]["id"] == to_global_id(
        "TraceAnnotation", TraceAnnotation.objects.get().pk
    )
    assert (missing.status_code, missing.content.decode()) == (
        404,
        f"Traces with IDs {'f' * 32} do not exist.",
    )


def test_span_notes_append_unless_an_identifier_is_given(api):
    span = SpanFactory()

    first = api.post("/v1/span_notes", {"data": {"span_id": span.span_id, "note": " looks wrong "}})
    api.post("/v1/span_notes", {"data": {"span_id": span.span_id, "note": "second"}})
    missing = api.post("/v1/span_notes", {"data": {"span_id": "00000000000000ff", "note": "x"}})

    notes = SpanAnnotation.objects.filter(name="note").order_by("pk")
    assert [n.explanation for n in notes] == ["looks wrong", "second"]
    assert notes[0].identifier.startswith("px-span-note:")
    assert first.json() == {"data": {"id": to_global_id("SpanAnnotation", notes[0].pk)}}
    assert (missing.status_code, missing.content.decode()) == (404, "Span with ID 00000000000000ff not found")


class TestListing:
    def test_annotations_of_the_given_spans_come_back_in_phoenix_shape(self, api):
        row = SpanAnnotationFactory(explanation=None, metadata={"k": "v"})
        project = row.span.project

        response = api.get(f"/v1/projects/{project.name}/span_annotations?span_ids={row.span.span_id}")

        item = response.json()["data"][0]
        assert response.json()["next_cursor"] is None
        assert item == {
            "id": to_global_id("SpanAnnotation", row.pk),
            "span_id": row.span.span_id,
            "name": "correctness",
            "annotator_kind": "HUMAN",
            "result": {"label": "correct", "score": 1.0, "explanation": None},
            "metadata": {"k": "v"},
            "identifier": "",
            "source": "API",
            "user_id": None,
            "created_at": row.created_at.isoformat(),
            "updated_at": row.updated_at.isoformat(),
        }
        assert item["created_at"].endswith("+00:00")

    def test_paging_is_newest_first_with_an_inclusive_cursor(self, api):
        span = SpanFactory()
        rows = [SpanAnnotationFactory(span=span, identifier=str(n)) for n in range(3)]
        url = f"/v1/projects/{span.project.name}/span_annotations?span_ids={span.span_id}&limit=2"

        first = api.get(url).json()
        second = api.get(f"{url}&cursor={first['next_cursor']}").json()

        assert [i["identifier"] for i in first["data"]] == ["2", "1"]
        assert first["next_cursor"] == to_global_id("SpanAnnotation", rows[0].pk)
        assert [i["identifier"] for i in second["data"]] == ["0"]
        assert second["next_cursor"] is None

    def test_names_can_be_included_or_excluded(self, api):
        span = SpanFactory()
        for name in ("correctness", "note", "tone"):
            SpanAnnotationFactory(span=span, name=name)
        url = f"/v1/projects/{span.project.name}/span_annotations?span_ids={span.span_id}&limit=10"

        excluded = {i["name"] for i in api.get(f"{url}&exclude_annotation_names=note").json()["data"]}
        included = {i["name"] for i in api.get(f"{url}&include_annotation_names=tone").json()["data"]}

        assert (excluded, included) == ({"correctness", "tone"}, {"tone"})

    def test_spans_of_other_projects_are_a_404_and_an_unannotated_span_is_empty(self, api):
        mine, other = SpanFactory(), SpanFactory()

        foreign = api.get(f"/v1/projects/{mine.project.name}/span_annotations?span_ids={other.span_id}")
        empty = api.get(f"/v1/projects/{mine.project.name}/span_annotations?span_ids={mine.span_id}")

        assert (foreign.status_code, foreign.content.decode()) == (
            404,
            "None of the supplied span_ids exist in this project",
        )
        assert empty.json() == {"data": [], "next_cursor": None}

    @pytest.mark.parametrize(
        ("query", "text"),
        [
            ("", "At least one of span_ids or identifier must be supplied"),
            ("span_ids=a&limit=10001", "less than or equal to 10000"),
            ("identifier=", "at least 1 character"),
            ("&".join(f"span_ids={n}" for n in range(1001)), "Too many span_ids supplied: 1001 (max 1000)"),
        ],
    )
    def test_bad_listing_parameters_are_422s(self, api, query, text):
        response = api.get(f"/v1/projects/default/span_annotations?{query}")

        assert response.status_code == 422
        assert text in response.content.decode()


class TestDeleting:
    def test_an_unbounded_delete_needs_delete_all(self, api):
        row = SpanAnnotationFactory()

        refused = api.delete(f"/v1/projects/{row.span.project.name}/span_annotations")
        done = api.delete(
            f"/v1/projects/{row.span.project.name}/span_annotations?delete_all=true&name=correctness"
        )

        assert refused.status_code == 422
        assert "Delete is unbounded" in refused.content.decode()
        assert done.status_code == 204
        assert not SpanAnnotation.objects.exists()

    def test_a_time_bounded_delete_spares_rows_outside_the_range(self, api):
        row = SpanAnnotationFactory()
        stamp = row.created_at.isoformat()
        url = f"/v1/projects/{row.span.project.name}/span_annotations"

        api.delete(f"{url}?start_time=2000-01-01T00:00:00&end_time=2001-01-01T00:00:00")
        assert SpanAnnotation.objects.exists()
        api.delete(f"{url}?start_time={quote(stamp)}&end_time=2100-01-01T00:00:00Z")
        assert not SpanAnnotation.objects.exists()

    def test_a_backwards_time_range_is_a_422(self, api):
        response = api.delete(
            "/v1/projects/default/span_annotations?start_time=2001-01-01T00:00:00&end_time=2000-01-01T00:00:00"
        )

        assert (response.status_code, response.content.decode()) == (
            422,
            "start_time must be before end_time",
        )


def test_viewers_may_read_but_not_write_annotations(keyed_client):
    span = SpanFactory()
    viewer = keyed_client("VIEWER")

    write = viewer.post("/v1/span_annotations?sync=true", {"data": [annotation(span.span_id)]})
    read = viewer.get(f"/v1/projects/{span.project.name}/span_annotations?span_ids={span.span_id}")

    assert (write.status_code, write.content.decode()) == (403, "Viewers cannot perform this action.")
    assert read.status_code == 200


def test_api_annotations_record_the_key_owner(keyed_client):
    span = SpanFactory()

    keyed_client("ANNOTATOR").post("/v1/span_annotations?sync=true", {"data": [annotation(span.span_id)]})

    stored = SpanAnnotation.objects.get()
    assert stored.user is not None and stored.user.role == "ANNOTATOR"


def test_without_a_key_the_api_is_a_401_when_auth_is_on(keyed_client, client):
    response = client.get("/v1/projects")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    bad = client.get("/v1/projects", HTTP_AUTHORIZATION="Bearer nope")
    assert (bad.status_code, bad.content.decode()) == (401, "Invalid token")


BASE = {
    "span_id": "00000000000000a1",
    "name": "correctness",
    "annotator_kind": "HUMAN",
    "result": {"label": "correct"},
}
PLAIN_ITEMS = [
    BASE,
    {**BASE, "result": {"label": "correct", "score": 1, "explanation": "why"}, "metadata": {"k": [1]}},
    {**BASE, "result": {"explanation": "why"}, "metadata": None, "identifier": "judge-2"},
    {**BASE, "result": {"label": "", "explanation": "", "score": 0.25}, "identifier": ""},
    {**BASE, "name": "  spaced  ", "result": {"label": "très bien ✓", "score": -3}},
]
ODD_ITEMS = [
    {**BASE, "result": {"score": True}},
    {**BASE, "result": {"score": "0.5"}},
    {**BASE, "result": {"score": float("inf")}},
    {**BASE, "result": {"score": 10**400}},
    {**BASE, "result": []},
    {**BASE, "result": "correct"},
    {**BASE, "span_id": " 00000000000000a1 "},
    {**BASE, "span_id": 161},
    {**BASE, "span_id": ""},
    {**BASE, "span_id": "0" * 17},
    {**BASE, "name": ""},
    {**BASE, "name": "x" * 256},
    {**BASE, "name": "a\x00b"},
    {**BASE, "result": {"label": "\ud800"}},
    {**BASE, "annotator_kind": "ROBOT"},
    {**BASE, "identifier": None},
    {**BASE, "metadata": []},
    {**BASE, "result": None},
    {**BASE, "result": {"label": "", "explanation": ""}},
    "not an object",
]


@pytest.mark.parametrize("item", PLAIN_ITEMS + ODD_ITEMS)
def test_hand_checked_bodies_make_the_same_writes_as_the_serializers_and_odd_ones_go_to_them(item):
    view = SpanAnnotationWriteView()
    body = {"data": [item]}

    plain = view.plain_writes(body)
    try:
        validated = [view._write(i) for i in view._items(body)]
    except RequestValidationError:
        validated = None

    assert (plain is not None) == (item in PLAIN_ITEMS)
    if plain is not None:
        assert plain == validated


@pytest.mark.parametrize("body", [{"data": []}, BASE, {"data": BASE}, [BASE], {"data": [BASE] * 10_001}])
def test_bodies_of_other_shapes_go_to_the_serializers(body):
    assert SpanAnnotationWriteView().plain_writes(body) is None


def test_trace_notes_append_unless_an_identifier_is_given(api):
    trace = TraceFactory()

    first = api.post("/v1/trace_notes", {"data": {"trace_id": trace.trace_id, "note": "slow overall"}})
    api.post("/v1/trace_notes", {"data": {"trace_id": trace.trace_id, "note": "fixed", "identifier": "mine"}})
    api.post(
        "/v1/trace_notes", {"data": {"trace_id": trace.trace_id, "note": "fixed again", "identifier": "mine"}}
    )
    missing = api.post("/v1/trace_notes", {"data": {"trace_id": "f" * 32, "note": "x"}})

    notes = TraceAnnotation.objects.filter(name="note").order_by("pk")
    assert [n.explanation for n in notes] == ["slow overall", "fixed again"]
    assert notes[0].identifier.startswith("px-trace-note:")
    assert first.json() == {"data": {"id": to_global_id("TraceAnnotation", notes[0].pk)}}
    assert (missing.status_code, missing.content.decode()) == (404, f"Trace with ID {'f' * 32} not found")


def test_an_async_trace_annotation_for_a_trace_not_yet_ingested_waits_and_is_applied_on_ingest(api):
    body = {
        "data": [
            {
                "trace_id": f"{5:032x}",
                "name": "user_feedback",
                "annotator_kind": "HUMAN",
                "result": {"label": "negative"},
            }
        ]
    }

    response = api.post("/v1/trace_annotations", body)
    spans_ingest(records=decode_request(export_request(otlp_span(trace_id=5, span_id=9))))

    assert response.json() == {"data": []}
    assert TraceAnnotation.objects.get().label == "negative"
    assert not PendingAnnotation.objects.exists()


def test_an_expired_pending_annotation_is_not_applied(api, settings):
    settings.PENDING_ANNOTATION_TTL_SECONDS = -1

    api.post("/v1/span_annotations", {"data": [annotation(f"{78:016x}")]})
    spans_ingest(records=decode_request(export_request(otlp_span(span_id=78))))

    assert not SpanAnnotation.objects.exists()


def pending_span_ids(*numbers: int) -> list[str]:
    return [f"{700 + n:016x}" for n in numbers]


def test_waiting_annotations_past_the_writers_cap_are_a_429_naming_it_and_nothing_of_the_request_waits(
    keyed_client, settings
):
    settings.PENDING_ANNOTATIONS_MAX_PER_WRITER = 3
    writer, other = keyed_client("ANNOTATOR"), keyed_client("ANNOTATOR")
    first = writer.post("/v1/span_annotations", {"data": [annotation(i) for i in pending_span_ids(1, 2)]})

    over = writer.post("/v1/span_annotations", {"data": [annotation(i) for i in pending_span_ids(3, 4)]})
    resent = writer.post("/v1/span_annotations", {"data": [annotation(i) for i in pending_span_ids(1, 2, 3)]})
    elsewhere = other.post("/v1/span_annotations", {"data": [annotation(i) for i in pending_span_ids(5, 6)]})

    assert first.status_code == 200
    assert over.status_code == 429
    assert over["Retry-After"]
    assert over.content.decode() == (
        "2 more annotations would wait for spans or traces not stored yet, past the 3 one writer may have "
        "waiting (PHOENIX_ANNOT_PENDING_ANNOTATIONS_MAX_PER_WRITER); nothing of this request was stored"
    )
    assert (resent.status_code, elsewhere.status_code) == (200, 200)
    assert sorted(PendingAnnotation.objects.values_list("target_id", flat=True)) == pending_span_ids(
        1, 2, 3, 5, 6
    )


def test_an_arrived_span_frees_its_writers_waiting_room(api, settings):
    settings.PENDING_ANNOTATIONS_MAX_PER_WRITER = 1
    api.post("/v1/span_annotations", {"data": [annotation(pending_span_ids(1)[0])]})
    refused = api.post("/v1/span_annotations", {"data": [annotation(pending_span_ids(2)[0])]})

    spans_ingest(records=decode_request(export_request(otlp_span(span_id=701))))
    accepted = api.post("/v1/span_annotations", {"data": [annotation(pending_span_ids(2)[0])]})

    assert (refused.status_code, accepted.status_code) == (429, 200)
    assert list(PendingAnnotation.objects.values_list("target_id", flat=True)) == pending_span_ids(2)


@pytest.mark.parametrize(
    "metadata", [{"k": "v\x00"}, {"k\x00": 1}, {"k": ["\ud800"]}], ids=["nul", "key", "surrogate"]
)
@pytest.mark.parametrize("kind", ["span", "trace"])
def test_metadata_that_postgresql_cannot_store_is_a_422_naming_it_and_nothing_is_written(
    api, world, kind, metadata
):
    target = {"span_id": world.span.span_id} if kind == "span" else {"trace_id": world.trace.trace_id}
    before = SpanAnnotation.objects.count() + TraceAnnotation.objects.count()
    row = {
        **target,
        "name": "fresh",
        "annotator_kind": "HUMAN",
        "result": {"label": "x"},
        "metadata": metadata,
    }

    response = api.post(f"/v1/{kind}_annotations", {"data": [row]})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "data", 0, "metadata"]
    assert SpanAnnotation.objects.count() + TraceAnnotation.objects.count() == before


@pytest.mark.parametrize("kind", ["span", "trace"])
def test_data_holding_one_object_instead_of_a_list_is_a_list_of_one(api, world, kind):
    target = {"span_id": world.span.span_id} if kind == "span" else {"trace_id": world.trace.trace_id}
    item = {**target, "name": "tone", "annotator_kind": "LLM", "result": {"label": "polite"}}

    response = api.post(f"/v1/{kind}_annotations?sync=true", {"data": item})

    model = SpanAnnotation if kind == "span" else TraceAnnotation
    stored = model.objects.get(name="tone")
    assert response.status_code == 200
    assert response.json() == {"data": [{"id": to_global_id(model.__name__, stored.pk)}]}
    assert stored.label == "polite"


def test_one_object_in_data_is_validated_like_a_list_item(api, world):
    item = {"span_id": world.span.span_id, "name": "tone", "annotator_kind": "LLM"}

    response = api.post("/v1/span_annotations?sync=true", {"data": {**item, "result": {"score": "high"}}})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "data", 0, "result", "score"]


@pytest.mark.parametrize("kind", ["span", "trace"])
def test_a_bad_annotator_kind_is_a_422_listing_the_allowed_values(api, world, kind):
    target = {"span_id": world.span.span_id} if kind == "span" else {"trace_id": world.trace.trace_id}
    item = {**target, "name": "tone", "annotator_kind": "human", "result": {"label": "polite"}}

    response = api.post(f"/v1/{kind}_annotations?sync=true", {"data": [item]})

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "type": "literal_error",
            "loc": ["body", "data", 0, "annotator_kind"],
            "msg": "Input should be 'HUMAN', 'LLM' or 'CODE'",
            "input": "human",
        }
    ]


@pytest.mark.parametrize("sync", ["true", "false"])
@pytest.mark.parametrize(
    "result",
    [None, {}, {"label": None, "score": None, "explanation": None}, {"label": "", "explanation": ""}],
)
def test_an_annotation_saying_nothing_is_a_422_naming_result_and_nothing_of_the_request_is_stored(
    api, world, sync, result
):
    good = annotation(world.span.span_id, name="tone", result={"label": "polite"})
    empty = {**annotation(world.span.span_id, name="other"), "result": result}
    waiting = annotation(f"{99:016x}", name="tone", result={"label": "polite"})
    before = SpanAnnotation.objects.count()

    response = api.post(f"/v1/span_annotations?sync={sync}", {"data": [good, waiting, empty]})

    assert response.status_code == 422
    assert [(d["loc"], d["msg"]) for d in response.json()["detail"]] == [
        (["body", "data", 2, "result"], "An annotation needs a label, a score or an explanation.")
    ]
    assert SpanAnnotation.objects.count() == before
    assert not PendingAnnotation.objects.exists()


def test_a_trace_annotation_saying_nothing_is_a_422_naming_result(api, world):
    item = {"trace_id": world.trace.trace_id, "name": "tone", "annotator_kind": "LLM", "result": None}

    response = api.post("/v1/trace_annotations?sync=true", {"data": [item]})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "data", 0, "result"]
    assert not TraceAnnotation.objects.filter(name="tone").exists()


class TestConfigsApplyWhereAssigned:
    """A config checks the annotations of the projects it is assigned to, and no others."""

    @pytest.mark.parametrize("kind", ["span", "trace"])
    def test_a_label_outside_a_config_assigned_to_the_project_is_refused(self, api, kind):
        span = SpanFactory()
        AnnotationConfigFactory(name="correctness").projects.add(span.project)
        target = {"span_id": span.span_id} if kind == "span" else {"trace_id": span.trace.trace_id}
        item = {**target, "name": "correctness", "annotator_kind": "LLM", "result": {"label": "meh"}}

        response = api.post(f"/v1/{kind}_annotations?sync=true", {"data": [item]})

        assert response.status_code == 400
        assert "data[0].label: 'meh' is not a label of 'correctness'" in response.content.decode()

    @pytest.mark.parametrize("kind", ["span", "trace"])
    def test_in_a_project_the_config_is_not_assigned_to_the_values_are_stored_as_sent(self, api, kind):
        elsewhere, span = SpanFactory(), SpanFactory()
        AnnotationConfigFactory(name="correctness").projects.add(elsewhere.project)
        target = {"span_id": span.span_id} if kind == "span" else {"trace_id": span.trace.trace_id}
        item = {**target, "name": "correctness", "annotator_kind": "LLM", "result": {"label": "meh"}}

        response = api.post(f"/v1/{kind}_annotations?sync=true", {"data": [item]})

        model = SpanAnnotation if kind == "span" else TraceAnnotation
        assert response.status_code == 200
        assert model.objects.get(name="correctness").label == "meh"

    def test_a_waiting_annotation_that_does_not_fit_its_projects_config_is_dropped_and_the_ingest_succeeds(
        self, api
    ):
        project = ProjectFactory(name="judged")
        AnnotationConfigFactory(name="correctness").projects.add(project)
        fits = annotation(f"{80:016x}", result={"label": "correct"})
        does_not = annotation(f"{81:016x}", result={"label": "meh"})

        api.post("/v1/span_annotations", {"data": [fits, does_not]})
        spans = [otlp_span(span_id=80), otlp_span(span_id=81)]
        resource = {"openinference.project.name": "judged"}
        stored = spans_ingest(records=decode_request(export_request(*spans, resource=resource)))

        assert stored
        assert list(SpanAnnotation.objects.values_list("span__span_id", "label")) == [
            (f"{80:016x}", "correct")
        ]
        assert not PendingAnnotation.objects.exists()


@pytest.mark.parametrize("kind", ["span", "trace"])
def test_an_annotation_list_reads_and_documents_one_declaration_of_its_parameters(client, kind):
    target = SpanAnnotationWriteView.target if kind == "span" else TraceAnnotationWriteView.target
    document = client.get("/openapi.json").json()

    operation = document["paths"][f"/v1/projects/{{identifier}}/{kind}_annotations"]["get"]
    documented = {parameter["name"] for parameter in operation["parameters"] if parameter["in"] == "query"}

    assert documented == set(list_params(target)().fields)


def test_an_empty_identifier_is_refused_as_fastapi_refuses_a_list_item(api):
    response = api.get("/v1/projects/default/span_annotations?identifier=x&identifier=")

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "type": "string_too_short",
            "loc": ["query", "identifier", 1],
            "msg": "String should have at least 1 character",
            "input": "",
        }
    ]
