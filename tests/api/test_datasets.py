import base64
import csv
import gzip
import io
import json
import tracemalloc
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from phoenix_annot.annotations.models import GOLD_IDENTIFIER
from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.datasets.models import Dataset, DatasetSplit, DatasetVersion
from phoenix_annot.datasets.services import dataset_add_spans, dataset_upload
from tests.corrections.factories import llm_attributes
from tests.datasets.multipart import CONTENT_TYPE, field, file_part, multipart
from tests.factories import (
    DatasetFactory,
    DatasetVersionFactory,
    ProjectFactory,
    SpanAnnotationFactory,
    SpanFactory,
)

pytestmark = pytest.mark.django_db

JSON = "application/json"
CHAT_INPUT = {"messages": [{"role": "user", "content": "Hi"}]}
CHAT_OUTPUT = {"messages": [{"role": "assistant", "content": "Hello"}]}


def gid(type_name: str, pk: int) -> str:
    return to_global_id(type_name, pk)


def upload(name: str = "qa", action: str = "update", **values):
    values.setdefault("inputs", [{"q": "a"}, {"q": "b"}])
    return dataset_upload(
        action=action, name=name, description=values.pop("description", None), user=None, **values
    )


def text(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode()


def assert_plain(response, status: int, message: str) -> None:
    assert (response.status_code, text(response)) == (status, message)
    assert response["Content-Type"].startswith("text/plain")


def post_form(api, *parts, query: str = "?sync=true"):
    return api.post(f"/v1/datasets/upload{query}", multipart(*parts), content_type=CONTENT_TYPE)


def traced(call: Callable[[], Any]) -> tuple[Any, int]:
    """`call()`'s result and the peak of the memory Python allocated while it ran."""
    tracemalloc.start()
    try:
        return call(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def form(name: str = "from-csv", *, keys=(("input_keys[]", "q"), ("output_keys[]", "a")), extra=()):
    return [field("name", name), field("action", "update"), *(field(k, v) for k, v in keys), *extra]


# --- GET /v1/datasets ----------------------------------------------------------------------------------


def test_datasets_are_listed_newest_first_with_an_inclusive_cursor_and_example_counts(api):
    older = upload(name="older").dataset
    newer = DatasetFactory(name="newer", description="no examples", metadata={"team": "ml"})

    first = api.get("/v1/datasets?limit=1").json()
    second = api.get(f"/v1/datasets?limit=1&cursor={first['next_cursor']}").json()

    assert first["next_cursor"] == gid("Dataset", older.pk)
    assert first["data"] == [
        {
            "id": gid("Dataset", newer.pk),
            "name": "newer",
            "description": "no examples",
            "metadata": {"team": "ml"},
            "created_at": newer.created_at.isoformat(),
            "updated_at": newer.updated_at.isoformat(),
            "example_count": 0,
        }
    ]
    assert [(d["name"], d["example_count"]) for d in second["data"]] == [("older", 2)]
    assert second["next_cursor"] is None


def test_datasets_are_filtered_by_exact_name(api):
    DatasetFactory(name="golden")
    DatasetFactory(name="golden-2")

    assert [d["name"] for d in api.get("/v1/datasets?name=golden").json()["data"]] == ["golden"]


def test_the_default_page_is_ten_datasets(api):
    DatasetFactory.create_batch(11)

    body = api.get("/v1/datasets").json()

    assert len(body["data"]) == 10
    assert body["next_cursor"] is not None


def test_no_datasets_is_an_empty_page(api):
    assert api.get("/v1/datasets").json() == {"data": [], "next_cursor": None}


def test_dataset_timestamps_use_an_offset_not_z(api):
    DatasetFactory()

    created_at = api.get("/v1/datasets").json()["data"][0]["created_at"]

    assert created_at.endswith("+00:00")
    assert datetime.fromisoformat(created_at).tzinfo is not None


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=0", "greater than 0"),
        ("limit=ten", "valid integer"),
        ("cursor=@@", "Invalid cursor format: @@"),
    ],
)
def test_bad_dataset_paging_parameters_are_422s(api, query, message):
    response = api.get(f"/v1/datasets?{query}")

    assert response.status_code == 422
    assert message in response.content.decode()


def test_a_dataset_is_read_by_its_global_id_with_its_example_count(api):
    dataset = upload(description="Questions").dataset

    body = api.get(f"/v1/datasets/{gid('Dataset', dataset.pk)}").json()

    assert body["data"]["name"] == "qa"
    assert body["data"]["description"] == "Questions"
    assert body["data"]["example_count"] == 2


def test_reading_a_dataset_by_name_or_a_bad_id_is_a_422(api):
    DatasetFactory(name="golden")

    assert_plain(api.get("/v1/datasets/golden"), 422, "Invalid dataset ID format: golden")


def test_a_global_id_with_a_non_ascii_digit_or_a_row_id_past_64_bits_is_a_422_not_a_500(api):
    superscript = base64.b64encode("Dataset:²".encode()).decode()
    huge = gid("Dataset", 2**63)

    assert_plain(api.get(f"/v1/datasets/{superscript}"), 422, f"Invalid dataset ID format: {superscript}")
    assert_plain(api.get(f"/v1/datasets/{huge}/versions"), 422, f"Invalid Dataset ID: {huge}")


def test_reading_a_dataset_by_another_types_id_is_a_404_in_phoenix_words(api):
    project_id = gid("Project", ProjectFactory().pk)

    assert_plain(api.get(f"/v1/datasets/{project_id}"), 404, f"ID {project_id} refers to a fProject")


def test_reading_a_missing_dataset_is_a_404(api):
    missing = gid("Dataset", 999)

    assert_plain(api.get(f"/v1/datasets/{missing}"), 404, f"Dataset with ID {missing} not found")


def test_deleting_a_dataset_removes_it_and_answers_204(api):
    dataset = upload().dataset

    response = api.delete(f"/v1/datasets/{gid('Dataset', dataset.pk)}")

    assert response.status_code == 204
    assert not Dataset.objects.exists()


@pytest.mark.parametrize(
    ("identifier", "status", "message"),
    [
        ("golden", 422, "Invalid Dataset ID: golden"),
        (gid("Project", 1), 422, f"Invalid Dataset ID: {gid('Project', 1)}"),
        (gid("Dataset", 999), 404, "Dataset does not exist"),
    ],
)
def test_deleting_a_bad_or_missing_dataset_fails_in_phoenix_words(api, identifier, status, message):
    assert_plain(api.delete(f"/v1/datasets/{identifier}"), status, message)


def test_viewers_may_read_datasets_but_not_delete_or_upload(keyed_client):
    dataset = DatasetFactory()
    viewer = keyed_client("VIEWER")

    assert viewer.get(f"/v1/datasets/{gid('Dataset', dataset.pk)}").status_code == 200
    assert_plain(
        viewer.delete(f"/v1/datasets/{gid('Dataset', dataset.pk)}"),
        403,
        "Viewers cannot perform this action.",
    )
    assert_plain(
        viewer.post("/v1/datasets/upload?sync=true", {"name": "x", "inputs": [{}]}),
        403,
        "Viewers cannot perform this action.",
    )


def test_without_a_key_the_datasets_need_authentication(client, settings):
    settings.V1_AUTH_REQUIRED = True

    assert client.get("/v1/datasets").status_code == 401


# --- GET /v1/datasets/{id}/versions --------------------------------------------------------------------


def test_versions_are_listed_newest_first_with_a_cursor(api):
    dataset = DatasetFactory()
    v1, v2, v3 = (DatasetVersionFactory(dataset=dataset, description=f"v{n}") for n in range(1, 4))
    DatasetVersionFactory()  # another dataset's

    first = api.get(f"/v1/datasets/{gid('Dataset', dataset.pk)}/versions?limit=2").json()
    second = api.get(
        f"/v1/datasets/{gid('Dataset', dataset.pk)}/versions?limit=2&cursor={first['next_cursor']}"
    ).json()

    assert [v["version_id"] for v in first["data"]] == [
        gid("DatasetVersion", v3.pk),
        gid("DatasetVersion", v2.pk),
    ]
    assert first["data"][0] == {
        "version_id": gid("DatasetVersion", v3.pk),
        "description": "v3",
        "metadata": {},
        "created_at": v3.created_at.isoformat(),
    }
    assert second == {
        "data": [
            {
                "version_id": gid("DatasetVersion", v1.pk),
                "description": "v1",
                "metadata": {},
                "created_at": v1.created_at.isoformat(),
            }
        ],
        "next_cursor": None,
    }


def test_an_empty_version_description_is_null(api):
    version = upload().version

    assert (
        api.get(f"/v1/datasets/{gid('Dataset', version.dataset_id)}/versions").json()["data"][0][
            "description"
        ]
        is None
    )


def test_an_unknown_dataset_simply_has_no_versions(api):
    assert api.get(f"/v1/datasets/{gid('Dataset', 999)}/versions").json() == {"data": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("golden/versions", "Invalid Dataset ID: golden"),
        (f"{gid('Dataset', 1)}/versions?cursor={gid('Dataset', 1)}", f"Invalid cursor: {gid('Dataset', 1)}"),
        (f"{gid('Dataset', 1)}/versions?cursor=@@", "Invalid cursor: @@"),
    ],
)
def test_bad_version_list_parameters_are_422s(api, path, message):
    assert_plain(api.get(f"/v1/datasets/{path}"), 422, message)


# --- GET /v1/datasets/{id}/examples --------------------------------------------------------------------


def test_examples_of_the_latest_version_carry_their_ids_source_and_revision_time(api):
    span = SpanFactory()
    first = upload(inputs=[{"q": "a"}, {"q": "b"}], example_ids=["ex-a", None], span_ids=[span.span_id, None])
    a, b = first.dataset.examples.order_by("pk")

    body = api.get(f"/v1/datasets/{gid('Dataset', first.dataset.pk)}/examples").json()

    revision = a.revisions.get()
    assert body["data"] == {
        "dataset_id": gid("Dataset", first.dataset.pk),
        "version_id": gid("DatasetVersion", first.version.pk),
        "filtered_splits": [],
        "examples": [
            {
                "id": "ex-a",
                "node_id": gid("DatasetExample", a.pk),
                "input": {"q": "a"},
                "output": {},
                "metadata": {},
                "updated_at": revision.created_at.isoformat(),
                "source": {"span_id": span.span_id, "span_node_id": gid("Span", span.pk)},
            },
            {
                "id": gid("DatasetExample", b.pk),
                "node_id": gid("DatasetExample", b.pk),
                "input": {"q": "b"},
                "output": {},
                "metadata": {},
                "updated_at": b.revisions.get().created_at.isoformat(),
                "source": None,
            },
        ],
    }


def test_examples_can_be_read_at_an_older_version(api):
    first = upload(inputs=[{"q": "a"}])
    upload(inputs=[{"q": "changed"}])
    dataset_id = gid("Dataset", first.dataset.pk)

    latest = api.get(f"/v1/datasets/{dataset_id}/examples").json()["data"]
    pinned = api.get(
        f"/v1/datasets/{dataset_id}/examples?version_id={gid('DatasetVersion', first.version.pk)}"
    )

    assert [e["input"] for e in latest["examples"]] == [{"q": "changed"}]
    assert [e["input"] for e in pinned.json()["data"]["examples"]] == [{"q": "a"}]
    assert pinned.json()["data"]["version_id"] == gid("DatasetVersion", first.version.pk)


def test_example_errors_follow_phoenix(api):
    dataset = DatasetFactory()
    empty = gid("Dataset", dataset.pk)
    other_version = gid("DatasetVersion", DatasetVersionFactory().pk)
    project_id = gid("Project", ProjectFactory().pk)
    missing = gid("Dataset", 999)

    assert_plain(api.get("/v1/datasets/golden/examples"), 422, "Invalid dataset ID format: golden")
    assert_plain(
        api.get(f"/v1/datasets/{empty}/examples?version_id=v1"), 422, "Invalid dataset version ID format: v1"
    )
    assert_plain(api.get(f"/v1/datasets/{project_id}/examples"), 404, f"ID {project_id} refers to a Project")
    assert_plain(
        api.get(f"/v1/datasets/{empty}/examples?version_id={project_id}"),
        404,
        f"ID {project_id} refers to a Project",
    )
    assert_plain(
        api.get(f"/v1/datasets/{missing}/examples"), 404, f"No dataset with id {missing} can be found."
    )
    assert_plain(
        api.get(f"/v1/datasets/{empty}/examples?version_id={other_version}"),
        404,
        f"No dataset version with id {other_version} can be found.",
    )
    assert_plain(api.get(f"/v1/datasets/{empty}/examples"), 404, "Dataset has no versions.")


def test_filtering_examples_by_split_names_splits_that_do_not_exist(api):
    dataset = upload().dataset

    response = api.get(f"/v1/datasets/{gid('Dataset', dataset.pk)}/examples?split=train&split=test")

    assert_plain(response, 404, "Dataset splits not found: train, test")


def test_reading_examples_takes_a_constant_number_of_queries(api, django_assert_max_num_queries):
    spans = [SpanFactory() for _ in range(25)]
    dataset = DatasetFactory()
    dataset_add_spans(dataset=dataset, spans=spans, user=None)

    with django_assert_max_num_queries(3):
        examples = api.get(f"/v1/datasets/{gid('Dataset', dataset.pk)}/examples").json()["data"]["examples"]

    assert [e["source"]["span_id"] for e in examples] == [s.span_id for s in spans]


# --- POST /v1/datasets/upload: JSON ------------------------------------------------------------------


def test_a_json_upload_with_sync_answers_the_ids_and_counts(api):
    response = api.post(
        "/v1/datasets/upload?sync=true",
        {"action": "create", "name": "qa", "inputs": [{"q": "a"}], "outputs": [{"a": "b"}], "metadata": [{}]},
    )

    dataset = Dataset.objects.get()
    assert response.json() == {
        "data": {
            "dataset_id": gid("Dataset", dataset.pk),
            "version_id": gid("DatasetVersion", dataset.versions.get().pk),
            "num_created_examples": 1,
            "num_updated_examples": 0,
            "num_deleted_examples": 0,
        }
    }
    assert dataset.description == ""


def test_a_json_upload_without_sync_is_stored_before_answering_null(api):
    response = api.post("/v1/datasets/upload", {"name": "later", "inputs": [{"q": "a"}]})

    assert (response.status_code, response.content, response["Content-Type"]) == (
        200,
        b"null",
        "application/json",
    )
    assert Dataset.objects.get().name == "later"


def test_an_update_upload_with_unchanged_content_answers_the_same_version_and_zero_counts(api):
    body = {"action": "update", "name": "qa", "inputs": [{"q": "a"}]}
    first = api.post("/v1/datasets/upload?sync=true", body).json()["data"]

    again = api.post("/v1/datasets/upload?sync=true", body).json()["data"]

    assert again == {**first, "num_created_examples": 0}
    assert DatasetVersion.objects.count() == 1


def test_an_uploading_user_is_recorded_on_the_dataset_and_version(keyed_client):
    response = keyed_client("ANNOTATOR").post(
        "/v1/datasets/upload?sync=true", {"name": "mine", "inputs": [{}]}
    )

    assert response.status_code == 200
    dataset = Dataset.objects.get()
    assert dataset.user is not None and dataset.versions.get().user == dataset.user


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"action": "bogus", "name": "qa", "inputs": [{}]}, 422, "Invalid dateset action: bogus"),
        ({"name": "", "inputs": [{}]}, 422, "Dataset name is required"),
        ({"name": "qa"}, 422, "input is required"),
        (
            {"name": "qa", "inputs": {"q": 1}},
            422,
            "Input should be a list containing only dictionary objects",
        ),
        (
            {"name": "qa", "inputs": [{}], "outputs": [{}, {}]},
            422,
            "outputs should be a list of same length as input containing only dictionary objects",
        ),
        (
            {"name": "qa", "inputs": [{}], "splits": [5]},
            422,
            "Split value must be a string, list of strings, or None, got int",
        ),
        ([{"name": "qa"}], 422, "The request body must be a JSON object"),
    ],
)
def test_bad_json_uploads_are_422s_naming_the_problem(api, body, status, message):
    assert_plain(api.post("/v1/datasets/upload?sync=true", body), status, message)
    assert not Dataset.objects.exists()


def test_creating_a_dataset_whose_name_is_taken_is_a_409(api):
    upload(name="taken")

    response = api.post(
        "/v1/datasets/upload?sync=true", {"action": "create", "name": "taken", "inputs": [{}]}
    )

    assert_plain(response, 409, 'A dataset named "taken" already exists.')


def test_an_upload_body_that_is_not_json_is_a_422(api):
    response = api.post("/v1/datasets/upload?sync=true", b"{not json", content_type="application/json")

    assert response.status_code == 422
    assert "JSON parse error" in response.content.decode()


def test_an_upload_without_a_content_type_is_a_400_and_other_types_are_422s(api):
    assert_plain(
        api.generic("POST", "/v1/datasets/upload", b"x", content_type=""), 400, "Missing content-type header"
    )
    for content_type in ("text/plain", "application/jsonl"):
        assert_plain(
            api.post("/v1/datasets/upload", b"x", content_type=content_type),
            422,
            "Invalid request Content-Type",
        )


def test_an_upload_larger_than_the_limit_is_refused_unread(api, settings):
    settings.DATASET_UPLOAD_MAX_BODY_BYTES = 100

    response = api.post("/v1/datasets/upload?sync=true", {"name": "big", "inputs": [{"q": "x" * 200}]})

    assert_plain(
        response,
        413,
        "Request body is larger than the 100 byte limit (PHOENIX_ANNOT_DATASET_UPLOAD_MAX_BODY_BYTES)",
    )


def test_a_bad_sync_value_is_a_422(api):
    response = api.post("/v1/datasets/upload?sync=maybe", {"name": "qa", "inputs": [{}]})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "sync"]


# --- POST /v1/datasets/upload: multipart ---------------------------------------------------------------


def test_a_gzipped_csv_uploaded_as_the_client_sends_it_becomes_examples(api):
    httpx = pytest.importorskip("httpx")
    csv = b"a,q,score,sid\nParis,Capital of France?,0.9,0000000000000abc\n4,2+2?,,\n"
    request = httpx.Request(
        "POST",
        "http://testserver/v1/datasets/upload?sync=true",
        data={
            "action": "update",
            "name": "from-frame",
            "description": "",
            "input_keys[]": ["q"],
            "output_keys[]": ["a"],
            "metadata_keys[]": ["score"],
            "split_keys[]": [],
            "span_id_key": "sid",
        },
        files={"file": ("dataframe.csv", gzip.compress(csv), "text/csv", {"Content-Encoding": "gzip"})},
    )

    response = api.post(
        "/v1/datasets/upload?sync=true", request.read(), content_type=request.headers["Content-Type"]
    )

    assert response.status_code == 200, response.content
    assert response.json()["data"]["num_created_examples"] == 2
    dataset = Dataset.objects.get()
    examples = api.get(f"/v1/datasets/{gid('Dataset', dataset.pk)}/examples").json()["data"]["examples"]
    assert [(e["input"], e["output"], e["metadata"], e["source"]) for e in examples] == [
        ({"q": "Capital of France?"}, {"a": "Paris"}, {"score": "0.9"}, None),
        ({"q": "2+2?"}, {"a": "4"}, {}, None),
    ]
    assert dataset.description == "dataframe.csv"


def test_a_jsonl_upload_keeps_json_values_and_external_ids(api):
    lines = (
        b'{"q": {"text": "hi"}, "a": ["hello"], "id": "ex-1"}\n'
        b'{"q": {"text": "bye"}, "a": [], "id": "ex-2"}\n'
    )
    response = post_form(
        api,
        *form(extra=[field("example_id_key", "id")]),
        file_part(lines, filename="rows.jsonl", content_type="application/jsonl"),
    )

    assert response.status_code == 200, response.content
    examples = api.get(f"/v1/datasets/{response.json()['data']['dataset_id']}/examples").json()["data"][
        "examples"
    ]
    assert [(e["id"], e["input"], e["output"]) for e in examples] == [
        ("ex-1", {"q": {"text": "hi"}}, {"a": ["hello"]}),
        ("ex-2", {"q": {"text": "bye"}}, {"a": []}),
    ]


def test_a_csv_upload_with_a_description_keeps_it(api):
    post_form(api, *form(extra=[field("description", "Quiz")]), file_part(b"q,a\n1,2\n"))

    assert Dataset.objects.get().description == "Quiz"


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ([*form(), file_part(b"q\n1\n")], "output keys not found in column headers: {'a'}"),
        ([*form()], "Malformed file in form data."),
        (
            [*form(keys=(("input_keys[]", "q"), ("output_keys[]", "q"))), file_part(b"q\n1\n")],
            "input_keys and output_keys have overlap: {'q'}",
        ),
        (
            [*form(extra=[field("split_key", "s")]), file_part(b"q,a,x\n1,2,train\n")],
            "split keys not found in column headers: {'s'}",
        ),
        (
            [*form(extra=[field("split_key", "s"), field("split_keys[]", "s")]), file_part(b"q,a,s\n1,2,\n")],
            "Send split_key or split_keys[], not both",
        ),
        (
            [*form(extra=[field("flatten_keys[]", "q")]), file_part(b"q,a\n1,2\n")],
            "flatten_keys[] is not supported",
        ),
        ([*form(), file_part(b"q,a\n1,2\n", content_encoding="gzip")], "The file is not valid gzip data"),
        (
            [*form(), file_part(b"q,a\n", content_type="text/tab-separated-values")],
            "Invalid file content type",
        ),
        (
            [field("name", "x"), field("action", "merge"), file_part(b"q\n1\n")],
            "Invalid dateset action: merge",
        ),
    ],
)
def test_bad_multipart_uploads_are_422s_naming_the_problem(api, parts, message):
    response = post_form(api, *parts)

    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Dataset.objects.exists()


def test_a_multipart_body_without_a_boundary_is_a_422(api):
    response = api.post("/v1/datasets/upload?sync=true", b"--x--", content_type="multipart/form-data")

    assert_plain(response, 422, "The multipart/form-data Content-Type has no boundary")


def test_the_attacks_gzip_bomb_is_a_413_naming_the_limit_in_bounded_memory(api, settings):
    """The attack: 16 KB of gzip inflating to 8 million one-cell rows took a worker to 3 GB."""
    bomb = gzip.compress(b"a\n" + b"1\n" * 8_000_000)
    body = multipart(*form(keys=(("input_keys[]", "a"),)), file_part(bomb, content_encoding="gzip"))
    assert len(bomb) < 20_000

    response, peak = traced(
        lambda: api.post("/v1/datasets/upload?sync=true", body, content_type=CONTENT_TYPE)
    )

    assert_plain(
        response,
        413,
        f"The upload has more than {settings.DATASET_UPLOAD_MAX_EXAMPLES} examples "
        "(PHOENIX_ANNOT_DATASET_UPLOAD_MAX_EXAMPLES)",
    )
    assert peak < 64 * 1024 * 1024
    assert not Dataset.objects.exists()
    assert post_form(api, *form(), file_part(b"q,a\n1,2\n")).status_code == 200


def test_a_file_that_inflates_past_the_limit_is_a_413_naming_it(api, settings):
    settings.DATASET_UPLOAD_MAX_FILE_BYTES = 1000
    bomb = gzip.compress(b"q,a\n" + b"1,2\n" * 1000)

    response = post_form(api, *form(), file_part(bomb, content_encoding="gzip"))

    assert_plain(
        response,
        413,
        "The uploaded data is larger than 1000 bytes (a CSV or JSONL file once decompressed, or a "
        "JSON body; PHOENIX_ANNOT_DATASET_UPLOAD_MAX_FILE_BYTES)",
    )
    assert not Dataset.objects.exists()


def test_a_json_body_of_many_small_values_is_a_413_before_it_is_decoded(api, settings):
    body = b'{"name": "bomb", "inputs": [' + b"{}," * 1_000_000 + b"{}]}"
    assert len(body) < settings.DATASET_UPLOAD_MAX_FILE_BYTES

    response, peak = traced(lambda: api.post("/v1/datasets/upload?sync=true", body))

    assert_plain(
        response,
        413,
        f"The upload holds more than {settings.DATASET_UPLOAD_MAX_VALUES} values (JSON values or CSV cells, "
        "PHOENIX_ANNOT_DATASET_UPLOAD_MAX_VALUES)",
    )
    assert peak < 5 * len(body)
    assert not Dataset.objects.exists()


def test_a_json_body_larger_than_the_data_limit_is_a_413_naming_it(api, settings):
    settings.DATASET_UPLOAD_MAX_FILE_BYTES = 100

    response = api.post("/v1/datasets/upload?sync=true", {"name": "big", "inputs": [{"q": "x" * 100}]})

    assert response.status_code == 413
    assert "PHOENIX_ANNOT_DATASET_UPLOAD_MAX_FILE_BYTES" in response.content.decode()


def test_a_json_upload_of_more_examples_than_the_limit_is_a_413_naming_it(api, settings):
    settings.DATASET_UPLOAD_MAX_EXAMPLES = 2

    response = api.post("/v1/datasets/upload?sync=true", {"name": "big", "inputs": [{"q": 1}] * 3})

    assert_plain(
        response, 413, "The upload has more than 2 examples (PHOENIX_ANNOT_DATASET_UPLOAD_MAX_EXAMPLES)"
    )
    assert not Dataset.objects.exists()


def test_an_empty_csv_upload_is_a_422(api):
    assert_plain(post_form(api, *form(), file_part(b"q,a\n")), 422, "input is required")


# --- exports -------------------------------------------------------------------------------------------


@pytest.fixture
def chat_dataset():
    return upload(
        name="Support Q&A ü",
        inputs=[CHAT_INPUT, {"input": "plain"}],
        outputs=[CHAT_OUTPUT, {"output": "text"}],
        example_ids=["chat", "plain"],
    )


def test_the_csv_export_is_an_attachment_named_after_the_dataset(api, chat_dataset):
    response = api.get(f"/v1/datasets/{gid('Dataset', chat_dataset.dataset.pk)}/csv")

    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == "attachment; filename*=UTF-8''Support%20Q%26A%20%C3%BC.csv"
    lines = text(response).splitlines()
    assert lines[0] == "id,node_id,input.input,input.messages,output.messages,output.output"
    assert lines[1].startswith("chat,")
    assert lines[2].endswith(",plain,,,text")


def test_the_jsonl_export_is_plain_text_with_one_example_per_line(api, chat_dataset):
    response = api.get(f"/v1/datasets/{gid('Dataset', chat_dataset.dataset.pk)}/jsonl")

    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"].endswith(".jsonl")
    assert [json.loads(line)["id"] for line in text(response).splitlines()] == ["chat", "plain"]


def test_the_fine_tuning_export_skips_non_chat_examples_and_says_how_many(api, chat_dataset):
    response = api.get(f"/v1/datasets/{gid('Dataset', chat_dataset.dataset.pk)}/jsonl/openai_ft")

    assert response["X-Skipped-Examples"] == "1"
    assert [json.loads(line) for line in text(response).splitlines()] == [
        {"messages": CHAT_INPUT["messages"] + CHAT_OUTPUT["messages"]}
    ]


def test_the_evals_export_skips_non_chat_examples_and_says_how_many(api, chat_dataset):
    response = api.get(f"/v1/datasets/{gid('Dataset', chat_dataset.dataset.pk)}/jsonl/openai_evals")

    assert response["X-Skipped-Examples"] == "1"
    assert [json.loads(line) for line in text(response).splitlines()] == [
        {"messages": CHAT_INPUT["messages"], "ideal": "Hello"}
    ]


def test_the_csv_export_neutralises_cells_a_spreadsheet_would_run_and_jsonl_stays_exact(api):
    formulas = ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
    uploaded = upload(
        inputs=[{"q": formula} for formula in formulas],
        outputs=[{"n": -1}] * len(formulas),
        example_ids=["=id", *(f"id{n}" for n in range(1, len(formulas)))],
    )
    dataset_gid = gid("Dataset", uploaded.dataset.pk)

    rows = list(csv.DictReader(io.StringIO(text(api.get(f"/v1/datasets/{dataset_gid}/csv")), newline="")))
    exact = [json.loads(line) for line in text(api.get(f"/v1/datasets/{dataset_gid}/jsonl")).splitlines()]

    assert [row["input.q"] for row in rows] == [f"'{formula}" for formula in formulas]
    assert [row["id"] for row in rows][:2] == ["'=id", "id1"]
    assert {row["output.n"] for row in rows} == {"-1"}
    assert [row["input"]["q"] for row in exact] == formulas


def test_exports_can_be_pinned_to_a_version_and_ignore_the_accept_header(api, chat_dataset):
    upload(name="Support Q&A ü", inputs=[{"input": "only"}])
    dataset_id = gid("Dataset", chat_dataset.dataset.pk)

    response = api.get(
        f"/v1/datasets/{dataset_id}/jsonl?version_id={gid('DatasetVersion', chat_dataset.version.pk)}",
        HTTP_ACCEPT="application/x-ndjson",
    )

    assert response.status_code == 200
    assert len(text(response).splitlines()) == 2


def test_a_dataset_without_versions_exports_an_empty_file(api):
    dataset = DatasetFactory(name="empty")

    assert text(api.get(f"/v1/datasets/{gid('Dataset', dataset.pk)}/csv")) == "id,node_id\n"
    assert text(api.get(f"/v1/datasets/{gid('Dataset', dataset.pk)}/jsonl")) == ""


@pytest.mark.parametrize("route", ["csv", "jsonl", "jsonl/openai_ft", "jsonl/openai_evals"])
def test_export_errors_follow_phoenix(api, route):
    dataset_id = gid("Dataset", DatasetFactory().pk)
    other_version = gid("DatasetVersion", DatasetVersionFactory().pk)
    project_id = gid("Project", ProjectFactory().pk)

    assert_plain(api.get(f"/v1/datasets/golden/{route}"), 422, "Invalid dataset ID format: golden")
    assert_plain(
        api.get(f"/v1/datasets/{project_id}/{route}"), 422, f"Invalid dataset ID format: {project_id}"
    )
    assert_plain(api.get(f"/v1/datasets/{gid('Dataset', 999)}/{route}"), 422, "Dataset does not exist.")
    assert_plain(
        api.get(f"/v1/datasets/{dataset_id}/{route}?version_id={project_id}"),
        422,
        f"Invalid dataset version ID format: {project_id}",
    )
    assert_plain(
        api.get(f"/v1/datasets/{dataset_id}/{route}?version_id={other_version}"),
        404,
        f"No dataset version with id {other_version} can be found.",
    )


# --- splits (answers recorded from Phoenix 20.26.1) --------------------------------------------------------


def split_names(api, dataset_gid: str, *query: str) -> tuple[list[str], list[dict]]:
    data = api.get(f"/v1/datasets/{dataset_gid}/examples?{'&'.join(query)}").json()["data"]
    return data["filtered_splits"], [example["input"] for example in data["examples"]]


@pytest.fixture
def split_dataset():
    """Four examples: a in train, b in test and train, c in none, d in test."""
    return upload(
        inputs=[{"q": "a"}, {"q": "b"}, {"q": "c"}, {"q": "d"}],
        splits=["train", ["train", "test"], None, "test"],
    ).dataset


def test_a_datasets_splits_are_listed_newest_first_with_its_example_count_by_id_or_name(api, split_dataset):
    upload(name="other", inputs=[{"q": "z"}], splits=["train"])
    train, test = DatasetSplit.objects.get(name="train"), DatasetSplit.objects.get(name="test")

    by_id = api.get(f"/v1/datasets/{gid('Dataset', split_dataset.pk)}/splits").json()
    by_name = api.get("/v1/datasets/qa/splits?limit=1").json()

    assert by_id == {
        "data": [
            {
                "id": gid("DatasetSplit", split.pk),
                "name": split.name,
                "description": None,
                "color": "#808080",
                "metadata": {},
                "example_count": 2,
                "created_at": split.created_at.isoformat(),
                "updated_at": split.updated_at.isoformat(),
            }
            for split in sorted([train, test], key=lambda s: -s.pk)
        ],
        "next_cursor": None,
    }
    assert [s["name"] for s in by_name["data"]] == [by_id["data"][0]["name"]]
    assert by_name["next_cursor"] == by_id["data"][1]["id"]


@pytest.mark.parametrize(
    ("identifier", "message"),
    [
        ("nope", "Dataset with name nope not found"),
        (gid("Dataset", 999), f"Dataset with ID {gid('Dataset', 999)} not found"),
    ],
)
def test_the_splits_of_an_unknown_dataset_are_a_404(api, identifier, message):
    assert_plain(api.get(f"/v1/datasets/{identifier}/splits"), 404, message)


def test_examples_are_filtered_by_split_names_or_ids_and_the_answer_names_the_splits(api, split_dataset):
    dataset_gid = gid("Dataset", split_dataset.pk)
    test = DatasetSplit.objects.get(name="test")

    assert split_names(api, dataset_gid, "split=train") == (["train"], [{"q": "a"}, {"q": "b"}])
    assert split_names(api, dataset_gid, "split=train", f"split={gid('DatasetSplit', test.pk)}") == (
        ["test", "train"],
        [{"q": "a"}, {"q": "b"}, {"q": "d"}],
    )
    assert split_names(api, dataset_gid) == ([], [{"q": "a"}, {"q": "b"}, {"q": "c"}, {"q": "d"}])


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("split=nope&split=nope2&split=train", "Dataset splits not found: nope, nope2"),
        (f"split={gid('DatasetSplit', 99)}", "Dataset splits not found for IDs: 99"),
        # A GlobalID of another type is a name.
        (f"split={gid('Dataset', 1)}", f"Dataset splits not found: {gid('Dataset', 1)}"),
    ],
)
def test_filtering_examples_by_an_unknown_split_is_a_404_naming_it(api, split_dataset, query, message):
    assert_plain(api.get(f"/v1/datasets/{gid('Dataset', split_dataset.pk)}/examples?{query}"), 404, message)


def test_a_split_is_created_with_a_201_holding_the_examples_named(api, split_dataset):
    example_ids = [
        e["id"]
        for e in api.get("/v1/datasets/" + gid("Dataset", split_dataset.pk) + "/examples").json()["data"][
            "examples"
        ]
    ]
    body = {
        "name": "val",
        "description": "d",
        "color": "#123456",
        "metadata": {"k": 1},
        "example_ids": example_ids[:2],
    }

    response = api.post("/v1/datasets/qa/splits", body)

    assert response.status_code == 201
    split = DatasetSplit.objects.get(name="val")
    assert response.json()["data"] == {
        "id": gid("DatasetSplit", split.pk),
        "name": "val",
        "description": "d",
        "color": "#123456",
        "metadata": {"k": 1},
        "example_count": 2,
        "created_at": split.created_at.isoformat(),
        "updated_at": split.updated_at.isoformat(),
    }


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"name": "train"}, 409, "A dataset split named 'train' already exists"),
        ({"name": "  "}, 422, "Dataset split name cannot be empty"),
        ({"name": "val", "example_ids": ["nope"]}, 404, "Dataset examples not found in this dataset: nope"),
    ],
)
def test_a_split_that_cannot_be_created_gets_phoenixs_status_and_nothing_is_made(
    api, split_dataset, body, status, message
):
    assert_plain(api.post("/v1/datasets/qa/splits", body), status, message)
    assert set(DatasetSplit.objects.values_list("name", flat=True)) == {"train", "test"}


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, ["body", "name"]),
        ({"name": 5}, ["body", "name"]),
        ({"name": "m", "metadata": [1]}, ["body", "metadata"]),
    ],
)
def test_a_malformed_split_body_is_a_422_pointing_at_the_field(api, split_dataset, body, loc):
    response = api.post("/v1/datasets/qa/splits", body)

    assert response.status_code == 422
    assert [item["loc"] for item in response.json()["detail"]] == [loc]


def test_a_split_is_renamed_and_its_examples_changed_by_patch(api, split_dataset):
    train = DatasetSplit.objects.get(name="train")
    dataset_gid = gid("Dataset", split_dataset.pk)
    examples = api.get(f"/v1/datasets/{dataset_gid}/examples").json()["data"]["examples"]
    url = f"/v1/datasets/qa/splits/{gid('DatasetSplit', train.pk)}"

    response = api.patch(
        url,
        {"name": "train2", "add_example_ids": [examples[2]["id"]], "remove_example_ids": [examples[0]["id"]]},
        content_type=JSON,
    )

    assert response.status_code == 200
    assert (response.json()["data"]["name"], response.json()["data"]["example_count"]) == ("train2", 2)
    assert split_names(api, dataset_gid, "split=train2")[1] == [{"q": "b"}, {"q": "c"}]


@pytest.mark.parametrize(
    ("split_id", "body", "status", "message"),
    [
        ("nope", {"name": "x"}, 422, "Invalid dataset split ID: nope"),
        (
            gid("DatasetSplit", 99),
            {"name": "x"},
            404,
            f"Dataset split with ID {gid('DatasetSplit', 99)} not found",
        ),
        (None, {"name": "test"}, 409, "A dataset split with this name already exists"),
        (None, {"name": None}, 422, "Dataset split name cannot be empty"),
        (None, {"add_example_ids": ["zzz"]}, 404, "Dataset examples not found in this dataset: zzz"),
    ],
)
def test_a_split_that_cannot_be_changed_gets_phoenixs_status_and_is_left_as_it_was(
    api, split_dataset, split_id, body, status, message
):
    train = DatasetSplit.objects.get(name="train")

    url = f"/v1/datasets/qa/splits/{split_id or gid('DatasetSplit', train.pk)}"

    response = api.patch(url, body, content_type=JSON)

    assert_plain(response, status, message)
    assert DatasetSplit.objects.get(pk=train.pk).name == "train"


def test_deleting_a_split_takes_it_out_of_every_dataset(api, split_dataset):
    upload(name="other", inputs=[{"q": "z"}], splits=["train"])
    train = DatasetSplit.objects.get(name="train")

    response = api.delete(f"/v1/datasets/other/splits/{gid('DatasetSplit', train.pk)}")

    assert response.status_code == 204
    assert [s["name"] for s in api.get("/v1/datasets/qa/splits").json()["data"]] == ["test"]
    assert_plain(
        api.delete(f"/v1/datasets/qa/splits/{gid('DatasetSplit', train.pk)}"),
        404,
        f"Dataset split with ID {gid('DatasetSplit', train.pk)} not found",
    )


def test_the_exports_write_each_examples_splits_and_beyond_phoenix_take_one_split(api, split_dataset):
    dataset_gid = gid("Dataset", split_dataset.pk)

    everything = [
        json.loads(line) for line in text(api.get(f"/v1/datasets/{dataset_gid}/jsonl")).splitlines()
    ]
    test_only = [
        json.loads(line)["input"]
        for line in text(api.get(f"/v1/datasets/{dataset_gid}/jsonl?split=test")).splitlines()
    ]
    csv_rows = list(csv.DictReader(io.StringIO(text(api.get(f"/v1/datasets/{dataset_gid}/csv?split=train")))))

    assert [line["splits"] for line in everything] == [["train"], ["test", "train"], [], ["test"]]
    assert test_only == [{"q": "b"}, {"q": "d"}]
    assert [(row["input.q"], row["splits"]) for row in csv_rows] == [
        ("a", '["train"]'),
        ("b", '["test", "train"]'),
    ]
    assert_plain(
        api.get(f"/v1/datasets/{dataset_gid}/openai_ft?split=nope".replace("openai_ft", "jsonl/openai_ft")),
        404,
        "Dataset splits not found: nope",
    )


def test_a_csv_upload_with_a_split_key_puts_each_row_in_its_splits(api):
    response = post_form(
        api,
        *form(extra=[field("split_key", "sp")]),
        file_part(b'q,a,sp\n1,x,train\n2,y,"[""train"",""test""]"\n3,z,\n'),
    )

    assert response.status_code == 200, response.content
    dataset_gid = response.json()["data"]["dataset_id"]
    lines = [json.loads(line) for line in text(api.get(f"/v1/datasets/{dataset_gid}/jsonl")).splitlines()]
    assert [(line["input"], line["splits"]) for line in lines] == [
        ({"q": "1"}, ["train"]),
        ({"q": "2"}, ["test", "train"]),
        ({"q": "3"}, []),
    ]


# --- gold only ---------------------------------------------------------------------------------------------

GOLD_ROUTES = ["examples", "csv", "jsonl", "jsonl/openai_ft", "jsonl/openai_evals"]


def exported(response) -> list[dict[str, Any]]:
    """The examples a route answers, whatever its format."""
    body = text(response)
    if response["Content-Type"].startswith("application/json"):
        return json.loads(body)["data"]["examples"]
    if response["Content-Type"] == "text/csv":
        return list(csv.DictReader(io.StringIO(body)))
    return [json.loads(line) for line in body.splitlines()]


@pytest.fixture
def gold_dataset():
    labelled, unlabelled = (SpanFactory(span_kind="LLM", attributes=llm_attributes()) for _ in range(2))
    SpanAnnotationFactory(span=labelled, name="correctness", label="correct", identifier=GOLD_IDENTIFIER)
    dataset = DatasetFactory()
    dataset_add_spans(dataset=dataset, spans=[labelled, unlabelled], user=None, from_gold=True)
    return gid("Dataset", dataset.pk)


@pytest.mark.parametrize("route", GOLD_ROUTES)
def test_gold_only_keeps_the_examples_with_a_gold_value_in_every_export_and_the_examples_list(
    api, gold_dataset, route
):
    everything = exported(api.get(f"/v1/datasets/{gold_dataset}/{route}"))
    gold = exported(api.get(f"/v1/datasets/{gold_dataset}/{route}", {"gold": "only"}))

    assert (len(everything), len(gold)) == (2, 1)


@pytest.mark.parametrize("route", GOLD_ROUTES)
def test_a_gold_filter_other_than_only_is_a_422_naming_the_parameter_not_the_whole_dataset(
    api, gold_dataset, route
):
    response = api.get(f"/v1/datasets/{gold_dataset}/{route}", {"gold": "yes"})

    assert (response.status_code, text(response)) == (422, "gold: the only value is 'only'")
