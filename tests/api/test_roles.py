"""The roles of /v1 agree with the pages (issue 10, finding 3): configs are admins' to change, a dataset is
deleted by an admin or its creator, and viewers may run the read-only span query."""

import pytest
from django.test import Client
from django.urls import reverse

from phoenix_annot.accounts.models import User
from phoenix_annot.accounts.services import api_key_create
from phoenix_annot.annotations.models import AnnotationConfig
from phoenix_annot.api.auth import ADMIN_ONLY, DATASET_DELETE_DENIED
from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.datasets.models import Dataset
from tests.api.conftest import V1Client
from tests.datasets.multipart import CONTENT_TYPE, field, file_part, multipart
from tests.factories import AnnotationConfigFactory, SpanFactory, UserFactory

pytestmark = pytest.mark.django_db


def keyed(user: User) -> V1Client:
    _key, raw = api_key_create(user=user, name="key")
    return V1Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture(autouse=True)
def auth_on(settings) -> None:
    settings.V1_AUTH_REQUIRED = True


def created_by_json(user: User, name: str) -> Dataset:
    keyed(user).post("/v1/datasets/upload?sync=true", {"action": "create", "name": name, "inputs": [{}]})
    return Dataset.objects.get(name=name)


def created_by_upload(user: User, name: str) -> Dataset:
    body = multipart(field("name", name), field("input_keys[]", "q"), file_part(b"q\nhello\n"))
    keyed(user).post("/v1/datasets/upload?sync=true", body, content_type=CONTENT_TYPE)
    return Dataset.objects.get(name=name)


def created_on_the_page(user: User, name: str) -> Dataset:
    span = SpanFactory()
    client = Client()
    client.force_login(user)
    client.post(
        reverse("web:dataset-add-spans"),
        {"project": span.project.pk, "span": [span.span_id], "new_dataset_name": name},
    )
    return Dataset.objects.get(name=name)


@pytest.mark.parametrize("create", [created_by_json, created_by_upload, created_on_the_page])
def test_every_way_of_creating_a_dataset_records_its_creator(create):
    alice = UserFactory()

    assert create(alice, "qa").user == alice


@pytest.mark.parametrize("create", [created_by_json, created_by_upload, created_on_the_page])
def test_a_dataset_is_deleted_by_its_creator_and_admins_but_not_another_annotator(create):
    alice, bob = UserFactory(), UserFactory()
    admin = UserFactory(role=User.Role.ADMIN)
    hers, other = create(alice, "hers"), create(alice, "other")

    refused = keyed(bob).delete(f"/v1/datasets/{to_global_id('Dataset', hers.pk)}")
    by_creator = keyed(alice).delete(f"/v1/datasets/{to_global_id('Dataset', hers.pk)}")
    by_admin = keyed(admin).delete(f"/v1/datasets/{to_global_id('Dataset', other.pk)}")

    assert (refused.status_code, refused.content.decode()) == (403, DATASET_DELETE_DENIED)
    assert (by_creator.status_code, by_admin.status_code) == (204, 204)
    assert not Dataset.objects.exists()


def test_an_annotator_changes_no_annotation_config_and_nothing_is_written():
    config = AnnotationConfigFactory(name="correctness", description="as it was")
    project = SpanFactory(trace__project__name="p").project
    annotator = keyed(UserFactory())
    gid = to_global_id("CategoricalAnnotationConfig", config.pk)
    body = {"name": "correctness", "type": "CONTINUOUS", "description": "changed"}

    responses = [
        annotator.put(f"/v1/annotation_configs/{gid}", body),
        annotator.delete(f"/v1/annotation_configs/{gid}"),
        annotator.put(f"/v1/projects/p/annotation_configs/{gid}"),
        annotator.put("/v1/projects/p/annotation_configs", {"annotation_config_ids": [gid]}),
    ]

    assert {(r.status_code, r.content.decode()) for r in responses} == {(403, ADMIN_ONLY)}
    assert AnnotationConfig.objects.get(pk=config.pk).description == "as it was"
    assert not config.projects.filter(pk=project.pk).exists()


def test_a_viewer_may_run_the_span_query_of_get_spans_dataframe():
    span = SpanFactory(trace__project__name="p")

    response = keyed(UserFactory(role=User.Role.VIEWER)).post("/v1/spans?project_name=p", {"queries": [{}]})

    assert response.status_code == 200
    assert span.span_id in response.content.decode()


def test_without_a_key_the_span_query_is_a_401_when_auth_is_on():
    assert V1Client().post("/v1/spans?project_name=p", {"queries": [{}]}).status_code == 401
