"""GET /v1/projects/{identifier}/annotation_agreement: the Agreement page's figures, in Phoenix's style."""

import pytest

from phoenix_annot.core.globalid import to_global_id as gid
from phoenix_annot.datasets.services import dataset_add_spans
from tests.agreement.test_selectors import krippendorff_spans
from tests.factories import (
    AnnotationConfigFactory,
    DatasetFactory,
    DatasetVersionFactory,
    ProjectFactory,
    SpanAnnotationFactory,
    SpanFactory,
    UserFactory,
    reviewer_annotation,
)
from tests.queues.factories import AnnotationQueueFactory, QueueItemFactory

pytestmark = pytest.mark.django_db


def url(project, query: str) -> str:
    return f"/v1/projects/{project.name}/annotation_agreement?{query}"


def test_the_route_answers_every_figure_with_its_items_and_interval_under_the_spans_filters(
    client, v1_auth_off
):
    project = ProjectFactory(name="rag")
    krippendorff_spans(project)

    every = client.get(url(project, "annotation=correctness")).json()["data"]
    two = client.get(url(project, "annotation=correctness&name=unit+6&name=unit+7")).json()["data"]

    assert every["level"] == "nominal"
    assert [rater["name"] for rater in every["raters"]] == ["a", "b", "c", "d"]
    assert round(every["krippendorff_alpha"]["value"], 3) == 0.743
    assert every["krippendorff_alpha"]["items"] == 11
    assert every["krippendorff_alpha"]["ci_low"] < 0.743 < every["krippendorff_alpha"]["ci_high"]
    assert {key: every["pairs"][1][key] for key in ("first", "second", "items")} == {
        "first": 0,
        "second": 2,
        "items": 8,
    }
    assert two["rated_items"] == 2
    assert two["percent_agreement"]["value"] == pytest.approx(0.5)


def test_a_missing_name_a_freeform_name_and_a_bad_filter_are_422s_naming_the_problem(client, v1_auth_off):
    project = ProjectFactory(name="rag")
    AnnotationConfigFactory(name="comment", type="FREEFORM", values=[])

    missing = client.get(url(project, ""))
    freeform = client.get(url(project, "annotation=comment"))
    bad_filter = client.get(url(project, "annotation=correctness&span_kind=banana"))

    assert (missing.status_code, missing.content.decode()) == (
        422,
        "annotation is required: the span annotation name to rate",
    )
    assert freeform.status_code == 422
    assert "freeform" in freeform.content.decode()
    assert bad_filter.status_code == 422
    assert "span_kind" in bad_filter.content.decode()


def test_an_unknown_project_is_a_404(client, v1_auth_off):
    assert client.get("/v1/projects/nowhere/annotation_agreement?annotation=correctness").status_code == 404


def test_a_queues_items_or_a_dataset_versions_examples_narrow_the_spans_rated(client, v1_auth_off):
    project = ProjectFactory(name="rag")
    spans, _ = krippendorff_spans(project)
    queue = AnnotationQueueFactory(project=project)
    for span in spans[5:7]:
        QueueItemFactory(queue=queue, span=span)
    version = dataset_add_spans(dataset=DatasetFactory(), spans=spans[:3], user=None).version
    dataset_add_spans(dataset=version.dataset, spans=spans[3:4], user=None)

    queued = client.get(url(project, f"annotation=correctness&queue_id={gid('AnnotationQueue', queue.pk)}"))
    examples = client.get(
        url(project, f"annotation=correctness&dataset_version_id={gid('DatasetVersion', version.pk)}")
    )

    # Units 6 and 7: 1, 2, 3, 4 (all differ) and all 4; units 1 to 3, the first version's examples.
    assert queued.json()["data"]["rated_items"] == 2
    assert queued.json()["data"]["percent_agreement"]["value"] == pytest.approx(0.5)
    assert examples.json()["data"]["rated_items"] == 3


def test_an_unknown_or_foreign_queue_a_bad_id_and_both_row_sets_are_refused_naming_the_parameter(
    client, v1_auth_off
):
    project = ProjectFactory(name="rag")
    foreign = AnnotationQueueFactory()
    version = DatasetVersionFactory()
    queue_id, version_id = gid("AnnotationQueue", foreign.pk), gid("DatasetVersion", version.pk)

    answers = [
        client.get(url(project, f"annotation=correctness&{query}"))
        for query in (
            f"queue_id={queue_id}",
            f"dataset_version_id={gid('DatasetVersion', version.pk + 1)}",
            f"queue_id={version_id}",
            f"queue_id={queue_id}&dataset_version_id={version_id}",
        )
    ]

    assert [(answer.status_code, answer.content.decode()) for answer in answers] == [
        (404, f"queue_id: No queue {foreign.pk} in this project."),
        (404, f"dataset_version_id: No dataset version {version.pk + 1}."),
        (422, "queue_id: Input should be a GlobalID (AnnotationQueue)"),
        (422, "queue_id, dataset_version_id: give one of them, not both"),
    ]


def alignment_url(project, query: str) -> str:
    return f"/v1/projects/{project.name}/judge_alignment?{query}"


def test_judge_alignment_answers_the_figures_against_gold_else_the_majority_with_both_explanations(
    client, v1_auth_off
):
    project = ProjectFactory(name="rag")
    users = [UserFactory(username=name) for name in ("ann", "bob")]
    rows = {"agree": ("correct", "correct", "correct"), "differ": ("incorrect", "incorrect", "correct")}
    for i, (name, (first, second, judge)) in enumerate(rows.items()):
        span = SpanFactory(project=project, name=name, span_id=f"{i + 1:016x}")
        for user, label in zip(users, (first, second), strict=True):
            reviewer_annotation(
                SpanAnnotationFactory, span=span, user=user, label=label, explanation="read it"
            )
        SpanAnnotationFactory(
            span=span, annotator_kind="LLM", identifier="v2", label=judge, explanation="sure"
        )

    data = client.get(alignment_url(project, "annotation=correctness")).json()["data"]
    named = client.get(alignment_url(project, "annotation=correctness&judge=LLM:v2&name=agree")).json()[
        "data"
    ]

    assert data["judge"] == {"annotator_kind": "LLM", "identifier": "v2", "rows": 2}
    assert (data["items"], data["from_majority"], data["from_gold"]) == (2, 2, 0)
    assert data["labels"] == ["correct", "incorrect"]
    assert data["confusion_matrix"] == [[1, 0], [1, 0]]
    assert data["accuracy"] == 0.5
    assert data["per_label"][0] == {
        "label": "correct",
        "support": 1,
        "precision": 0.5,
        "recall": 1.0,
        "f1": 2 / 3,
    }
    assert len(data["weeks"]) == 1
    assert data["disagreements"][0]["span_id"] == f"{2:016x}"
    assert data["disagreements"][0]["judge_explanation"] == "sure"
    assert [h["username"] for h in data["disagreements"][0]["humans"]] == ["ann", "bob"]
    assert named["items"] == 1


def test_judge_alignment_refuses_a_missing_name_scores_a_bad_date_and_a_judge_that_labelled_nothing(
    client, v1_auth_off
):
    project = ProjectFactory(name="rag")
    AnnotationConfigFactory(name="helpfulness", type="CONTINUOUS", values=[])
    SpanAnnotationFactory(
        span=SpanFactory(project=project), annotator_kind="LLM", identifier="", label="correct"
    )

    def said(query: str) -> tuple[int, str]:
        response = client.get(alignment_url(project, query))
        return response.status_code, response.content.decode()

    assert said("") == (422, "annotation is required: the span label name to compare")
    assert said("annotation=helpfulness")[0] == 422
    assert said("annotation=correctness&since=monday") == (
        422,
        "since must be a date, YYYY-MM-DD: got 'monday'",
    )
    assert said("annotation=correctness&judge=CODE:x") == (
        422,
        "judge 'CODE:x' labelled no 'correctness' on these spans",
    )
    assert said("annotation=correctness&since=2000-01-01")[0] == 200
    nobody = client.get(alignment_url(project, "annotation=correctness&since=2999-01-01")).json()["data"]
    assert (nobody["judge"], nobody["items"], nobody["confusion_matrix"]) == (None, 0, [])


def test_judge_alignment_takes_a_queues_items_or_a_dataset_versions_examples_and_refuses_unknown_ones(
    client, v1_auth_off
):
    project = ProjectFactory(name="rag")
    spans = [SpanFactory(project=project) for _ in range(3)]
    reviewer = UserFactory(username="ann")
    for span in spans:
        reviewer_annotation(SpanAnnotationFactory, span=span, user=reviewer, label="correct")
        SpanAnnotationFactory(span=span, annotator_kind="LLM", identifier="v2", label="correct")
    queue = AnnotationQueueFactory(project=project)
    QueueItemFactory(queue=queue, span=spans[0])
    version = dataset_add_spans(dataset=DatasetFactory(), spans=spans[:2], user=None).version

    queued = client.get(
        alignment_url(project, f"annotation=correctness&queue_id={gid('AnnotationQueue', queue.pk)}")
    )
    examples = client.get(
        alignment_url(
            project, f"annotation=correctness&dataset_version_id={gid('DatasetVersion', version.pk)}"
        )
    )
    foreign = client.get(
        alignment_url(
            project, f"annotation=correctness&queue_id={gid('AnnotationQueue', AnnotationQueueFactory().pk)}"
        )
    )

    assert (queued.json()["data"]["items"], examples.json()["data"]["items"]) == (1, 2)
    assert foreign.status_code == 404
    assert foreign.content.decode().startswith("queue_id: No queue ")
