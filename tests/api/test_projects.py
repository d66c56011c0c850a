import pytest

from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.tracing.models import Project
from tests.factories import ProjectFactory, SpanFactory

pytestmark = pytest.mark.django_db


def test_the_version_is_plain_semver_the_client_accepts(client):
    response = client.get("/arize_phoenix_version")

    assert response.status_code == 200
    assert [int(part) for part in response.content.decode().strip().split(".")] >= [20, 8, 0]


def test_healthz_says_ok(client):
    assert client.get("/healthz").content == b"OK"


def test_projects_are_listed_newest_first_with_an_inclusive_cursor(api):
    older, newer = ProjectFactory(name="older"), ProjectFactory(name="newer")
    default = Project.objects.get(name="default")

    first = api.get("/v1/projects?limit=2").json()
    second = api.get(f"/v1/projects?limit=2&cursor={first['next_cursor']}").json()

    assert [p["name"] for p in first["data"]] == ["newer", "older"]
    assert first["next_cursor"] == to_global_id("Project", default.pk)
    assert second == {
        "data": [
            {"name": "default", "description": "Default project", "id": to_global_id("Project", default.pk)}
        ],
        "next_cursor": None,
    }
    assert older.pk < newer.pk


def test_projects_filter_by_name_contains_case_insensitively(api):
    ProjectFactory(name="Support-RAG")
    ProjectFactory(name="travel")

    names = [p["name"] for p in api.get("/v1/projects?name_contains=rag").json()["data"]]

    assert names == ["Support-RAG"]


@pytest.mark.parametrize(
    ("query", "status", "text"),
    [
        ("limit=0", 422, "greater than 0"),
        ("limit=x", 422, "valid integer"),
        ("cursor=@@@", 422, "Invalid cursor format: @@@"),
    ],
)
def test_bad_paging_parameters_are_422s(api, query, status, text):
    response = api.get(f"/v1/projects?{query}")

    assert response.status_code == status
    assert text in response.content.decode()


def test_a_project_is_found_by_global_id_or_by_name(api):
    project = ProjectFactory(name="by-name")
    gid = to_global_id("Project", project.pk)

    assert api.get(f"/v1/projects/{gid}").json() == {
        "data": {"name": "by-name", "description": None, "id": gid}
    }
    assert api.get("/v1/projects/by-name").json()["data"]["id"] == gid


def test_unknown_projects_are_404s_in_phoenix_words(api):
    by_name = api.get("/v1/projects/nope")
    by_id = api.get(f"/v1/projects/{to_global_id('Project', 999)}")

    assert (by_name.status_code, by_name.content.decode()) == (404, "Project with name nope not found")
    assert by_id.content.decode() == f"Project with ID {to_global_id('Project', 999)} not found"
    assert by_name["Content-Type"].startswith("text/plain")


def test_a_project_is_created_unwrapped_and_a_duplicate_is_a_409(api):
    created = api.post("/v1/projects", {"name": "new", "description": "d"})
    duplicate = api.post("/v1/projects", {"name": "new"})

    assert created.status_code == 200
    assert created.json()["data"]["name"] == "new"
    assert duplicate.status_code == 409
    assert "already exists" in duplicate.content.decode()


def test_creating_a_project_without_a_name_is_a_422_naming_the_field(api):
    response = api.post("/v1/projects", {"description": "no name"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "name"]
    assert response.json()["detail"][0]["type"] == "missing"


def test_updating_changes_only_the_description(api):
    project = ProjectFactory(name="p")

    response = api.put("/v1/projects/p", {"description": "new text"})

    assert response.json()["data"] == {
        "name": "p",
        "description": "new text",
        "id": to_global_id("Project", project.pk),
    }


def test_deleting_a_project_deletes_its_spans_but_default_cannot_be_deleted(api):
    span = SpanFactory(trace__project__name="doomed")

    assert api.delete("/v1/projects/doomed").status_code == 204
    refused = api.delete("/v1/projects/default")

    assert not type(span).objects.exists()
    assert (refused.status_code, refused.content.decode()) == (403, "The default project cannot be deleted")


def test_only_admins_may_update_or_delete_projects_when_auth_is_on(keyed_client):
    ProjectFactory(name="guarded")

    annotator = keyed_client("ANNOTATOR").delete("/v1/projects/guarded")
    admin = keyed_client("ADMIN").delete("/v1/projects/guarded")

    assert (annotator.status_code, annotator.content.decode()) == (
        403,
        "Only admin or system users can perform this action.",
    )
    assert admin.status_code == 204
