import pytest

from phoenix_annot.annotations.models import AnnotationConfig
from phoenix_annot.core.globalid import to_global_id
from tests.factories import AnnotationConfigFactory, ProjectFactory

pytestmark = pytest.mark.django_db

CATEGORICAL = {
    "name": "correctness",
    "type": "CATEGORICAL",
    "optimization_direction": "MAXIMIZE",
    "values": [{"label": "correct", "score": 1}, {"label": "incorrect", "score": 0}],
}


def test_a_fresh_database_lists_the_seeded_user_feedback_config(api):
    data = api.get("/v1/annotation_configs").json()["data"]

    assert [c["name"] for c in data] == ["user_feedback"]
    assert data[0]["values"] == [{"label": "positive", "score": 1.0}, {"label": "negative", "score": 0.0}]
    assert data[0]["description"] == "User feedback labels for traces."


def test_a_categorical_config_is_created_unwrapped_and_comes_back_in_wire_shape(api):
    response = api.post("/v1/annotation_configs", CATEGORICAL)

    config = AnnotationConfig.objects.get(name="correctness")
    assert response.json() == {
        "data": {
            "name": "correctness",
            "type": "CATEGORICAL",
            "description": None,
            "optimization_direction": "MAXIMIZE",
            "values": [{"label": "correct", "score": 1.0}, {"label": "incorrect", "score": 0.0}],
            "id": to_global_id("CategoricalAnnotationConfig", config.pk),
        }
    }


def test_continuous_and_freeform_configs_carry_their_bounds(api):
    continuous = api.post(
        "/v1/annotation_configs",
        {"name": "quality", "type": "CONTINUOUS", "lower_bound": 0, "upper_bound": 1},
    ).json()["data"]
    freeform = api.post("/v1/annotation_configs", {"name": "notes2", "type": "FREEFORM"}).json()["data"]

    assert (continuous["lower_bound"], continuous["upper_bound"]) == (0.0, 1.0)
    assert "values" not in continuous
    assert (freeform["threshold"], freeform["lower_bound"]) == (None, None)
    assert freeform["id"].startswith(to_global_id("FreeformAnnotationConfig", 0)[:12])


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        ({**CATEGORICAL, "name": "note"}, 409, "reserved for trace and span notes"),
        ({**CATEGORICAL, "values": []}, 400, "Values must be non-empty"),
        ({**CATEGORICAL, "values": [{"label": "a"}, {"label": "a"}]}, 400, "Labels must be unique"),
        (
            {"name": "q", "type": "CONTINUOUS", "lower_bound": 1, "upper_bound": 0},
            400,
            "lower bound must be less",
        ),
        ({"name": "q", "type": "SHAPE"}, 422, "invalid_choice"),
    ],
)
def test_bad_configs_are_refused_with_the_reason(api, body, status, text):
    response = api.post("/v1/annotation_configs", body)

    assert response.status_code == status
    assert text in response.content.decode()
    assert not AnnotationConfig.objects.exclude(name="user_feedback").exists()


def test_a_duplicate_name_is_a_409(api):
    api.post("/v1/annotation_configs", CATEGORICAL)

    response = api.post("/v1/annotation_configs", CATEGORICAL)

    assert (response.status_code, response.content.decode()) == (
        409,
        "The name of the annotation configuration is already taken",
    )


def test_a_config_is_read_by_name_or_id_replaced_by_id_and_deleted_with_its_body(api):
    config = AnnotationConfigFactory(name="correctness")
    gid = to_global_id("CategoricalAnnotationConfig", config.pk)

    by_name = api.get("/v1/annotation_configs/correctness").json()["data"]
    replaced = api.put(f"/v1/annotation_configs/{gid}", {"name": "quality", "type": "CONTINUOUS"}).json()[
        "data"
    ]
    deleted = api.delete(f"/v1/annotation_configs/{replaced['id']}")

    assert by_name["id"] == gid
    assert (replaced["name"], replaced["type"]) == ("quality", "CONTINUOUS")
    assert deleted.status_code == 200
    assert deleted.json()["data"]["name"] == "quality"
    assert not AnnotationConfig.objects.filter(pk=config.pk).exists()


@pytest.mark.parametrize(
    ("identifier", "status"),
    [("@@", 422), (to_global_id("Project", 1), 400), (to_global_id("FreeformAnnotationConfig", 999), 404)],
)
def test_bad_config_ids_get_phoenix_statuses(api, identifier, status):
    assert api.delete(f"/v1/annotation_configs/{identifier}").status_code == status


def test_a_bad_cursor_is_a_400(api):
    response = api.get("/v1/annotation_configs?cursor=nope")

    assert (response.status_code, response.content.decode()) == (400, "Invalid cursor: nope")


def test_configs_are_assigned_to_projects_idempotently(api):
    project = ProjectFactory(name="p")
    config = AnnotationConfigFactory(name="correctness")
    gid = to_global_id("CategoricalAnnotationConfig", config.pk)

    api.put(f"/v1/projects/p/annotation_configs/{gid}")
    api.put("/v1/projects/p/annotation_configs/correctness")
    listed = api.get("/v1/projects/p/annotation_configs").json()["data"]
    api.delete("/v1/projects/p/annotation_configs/correctness")

    assert [c["name"] for c in listed] == ["correctness"]
    assert not project.annotation_configs.exists()


def test_a_projects_configs_are_replaced_as_a_set(api):
    ProjectFactory(name="p")
    first, second = AnnotationConfigFactory(name="a"), AnnotationConfigFactory(name="b")
    ids = [to_global_id("CategoricalAnnotationConfig", c.pk) for c in (first, second)]

    response = api.put("/v1/projects/p/annotation_configs", {"annotation_config_ids": ids})
    unknown = api.put(
        "/v1/projects/p/annotation_configs",
        {"annotation_config_ids": [to_global_id("CategoricalAnnotationConfig", 999)]},
    )

    assert [c["name"] for c in response.json()["data"]] == ["b", "a"]
    assert unknown.status_code == 422
