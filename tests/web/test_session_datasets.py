"""Add to dataset from the Sessions tab (selected rows, or all matching its filters) and a session page."""

import pytest
from django.test import Client

from phoenix_annot.datasets.models import Dataset, DatasetSplit
from phoenix_annot.datasets.selectors import dataset_latest_version, example_revisions_at_version
from tests.factories import (
    DatasetFactory,
    ProjectFactory,
    SessionAnnotationFactory,
    UserFactory,
    conversation,
)

pytestmark = pytest.mark.django_db

ADD = "/datasets/add-sessions/"


def session_ids_in(dataset: Dataset) -> set[str]:
    revisions = example_revisions_at_version(version=dataset_latest_version(dataset=dataset))
    return {revision.metadata["session_id"] for revision in revisions}


def messages_of(response) -> list[str]:
    return [str(message) for message in response.wsgi_request._messages]


@pytest.fixture
def project():
    return ProjectFactory()


def test_the_sessions_tab_has_a_selection_box_per_session_and_the_add_to_dataset_bar(
    reviewer_client: Client, project
):
    session = conversation(project, [("q", "a")])
    DatasetFactory(name="chats")

    body = reviewer_client.get(f"/projects/{project.pk}/sessions/").content.decode()

    assert f'action="{ADD}"' in body and 'id="all-matching"' in body and ">chats</option>" in body
    assert f'name="session" value="{session.session_id}" form="selection" class="row-select"' in body


def test_the_selected_sessions_go_to_a_new_dataset_as_one_version(reviewer_client: Client, project):
    chosen = [conversation(project, [("q", "a")], minute=n) for n in range(2)]
    conversation(project, [("left", "out")], minute=5)

    response = reviewer_client.post(
        ADD,
        {"project": project.pk, "session": [s.session_id for s in chosen], "new_dataset_name": "chats"},
        follow=True,
    )

    dataset = Dataset.objects.get(name="chats")
    assert response.redirect_chain[-1][0] == f"/datasets/{dataset.pk}/"
    assert session_ids_in(dataset) == {s.session_id for s in chosen}
    assert dataset.versions.count() == 1
    assert messages_of(response) == ["chats: 2 new examples, 0 revised, 0 already in the dataset."]


def test_all_sessions_matching_the_tabs_filters_can_be_added(reviewer_client: Client, project):
    judged = conversation(project, [("q", "a")], minute=0)
    conversation(project, [("q", "a")], minute=1)
    SessionAnnotationFactory(session=judged, name="outcome", label="failed")
    dataset = DatasetFactory()

    reviewer_client.post(
        ADD,
        {
            "project": project.pk,
            "all_matching": "1",
            "filter_query": "annotation_name=outcome&label=failed",
            "dataset": dataset.pk,
        },
    )

    assert session_ids_in(dataset) == {judged.session_id}


def test_the_session_page_adds_its_session_and_adding_it_again_after_a_label_revises_it(
    reviewer_client: Client, project
):
    session = conversation(project, [("q", "a")])
    dataset = DatasetFactory(name="chats")
    page = reviewer_client.get(f"/sessions/{session.pk}/").content.decode()
    assert f'action="{ADD}"' in page and f'name="session" value="{session.session_id}"' in page
    form = {"project": project.pk, "session": session.session_id, "dataset": dataset.pk}

    reviewer_client.post(ADD, form)
    SessionAnnotationFactory(session=session, name="outcome", label="solved")
    response = reviewer_client.post(ADD, form, follow=True)

    assert messages_of(response)[-1] == "chats: 0 new examples, 1 revised, 0 already in the dataset."
    (revision,) = example_revisions_at_version(version=dataset_latest_version(dataset=dataset))
    assert list(revision.metadata["annotations"]) == ["outcome"]


def test_a_session_of_another_project_is_not_added(reviewer_client: Client, project):
    elsewhere = conversation(ProjectFactory(), [("q", "a")])
    dataset = DatasetFactory()

    response = reviewer_client.post(
        ADD, {"project": project.pk, "session": [elsewhere.session_id], "dataset": dataset.pk}, follow=True
    )

    assert not dataset.versions.exists()
    assert messages_of(response) == [f"{dataset.name}: 0 new examples, 0 revised, 0 already in the dataset."]


def test_adding_without_a_selection_or_a_dataset_says_what_is_missing(reviewer_client: Client, project):
    session = conversation(project, [("q", "a")])
    tab = f"/projects/{project.pk}/sessions/"

    no_rows = reviewer_client.post(ADD, {"project": project.pk, "new_dataset_name": "x"}, HTTP_REFERER=tab)
    assert no_rows.url == tab
    assert messages_of(reviewer_client.get(tab)) == ["Select at least one row."]

    no_dataset = reviewer_client.post(ADD, {"project": project.pk, "session": [session.session_id]})
    assert messages_of(reviewer_client.get(no_dataset.url)) == ["Choose a dataset or name a new one."]
    assert not Dataset.objects.exists()


def test_a_viewer_cannot_add_sessions_to_a_dataset(client: Client, project):
    client.force_login(UserFactory(role="VIEWER"))
    session = conversation(project, [("q", "a")])

    response = client.post(
        ADD, {"project": project.pk, "session": [session.session_id], "new_dataset_name": "x"}
    )

    assert response.status_code == 403 and not Dataset.objects.exists()


def test_the_sessions_added_from_the_tab_go_in_the_split_chosen(reviewer_client: Client, project):
    chosen = [conversation(project, [("q", "a")], minute=n) for n in range(2)]
    dataset = DatasetFactory(name="chats")

    response = reviewer_client.post(
        ADD,
        {
            "project": project.pk,
            "session": [s.session_id for s in chosen],
            "dataset": dataset.pk,
            "new_split_name": "holdout",
        },
        follow=True,
    )

    assert messages_of(response)[-1].endswith("All in split “holdout”.")
    split = DatasetSplit.objects.get(name="holdout")
    assert set(split.examples.values_list("session", flat=True)) == {s.pk for s in chosen}
