"""/v1/annotation_queues/{id}/rules and /v1/annotation_queue_rules/{id}, as a client sees them."""

from typing import Any

import pytest
from django.test import Client

from phoenix_annot.api.views.queues import QUEUE_CHANGE_DENIED
from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.queues.models import QueueItem, QueueRule
from tests.api.test_openapi import assert_documented
from tests.factories import SpanFactory, UserFactory
from tests.queues.factories import AnnotationQueueFactory, QueueRuleFactory
from tests.queues.test_api import client_of, queue_url

pytestmark = pytest.mark.django_db

RULES = "/v1/annotation_queues/{queue_id}/rules"
RULE = "/v1/annotation_queue_rules/{rule_id}"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return Client().get("/openapi.json").json()


def rule_url(rule: QueueRule) -> str:
    return f"/v1/annotation_queue_rules/{to_global_id('AnnotationQueueRule', rule.pk)}"


def test_a_rule_created_over_rest_adds_the_matching_spans_and_reads_back(api, document):
    queue = AnnotationQueueFactory()
    llm = SpanFactory(trace__project=queue.project, span_kind="LLM")
    SpanFactory(trace__project=queue.project, span_kind="TOOL")

    created = api.post(
        queue_url(queue, "/rules"), {"filter": {"span_kind": ["LLM"]}, "sampling_percent": 100}
    )

    assert created.status_code == 200, created.content
    data = created.json()["data"]
    assert data["backfill"] == {"added": 1, "already": 0}
    assert (data["kind"], data["filter"], data["sampling_percent"], data["enabled"]) == (
        "span",
        {"span_kind": ["LLM"]},
        100,
        True,
    )
    assert list(QueueItem.objects.filter(queue=queue).values_list("span", flat=True)) == [llm.pk]
    assert_documented(document, RULES, "post", created)
    read = api.get(f"/v1/annotation_queue_rules/{data['id']}")
    assert read.json()["data"] == {key: value for key, value in data.items() if key != "backfill"}
    assert_documented(document, RULE, "get", read)


def test_rules_list_newest_first_and_page_by_cursor(api, document):
    queue = AnnotationQueueFactory()
    rules = QueueRuleFactory.create_batch(3, queue=queue)
    QueueRuleFactory()  # another queue's

    first = api.get(queue_url(queue, "/rules?limit=2"))
    rest = api.get(queue_url(queue, f"/rules?cursor={first.json()['next_cursor']}"))

    ids = [row["id"] for row in first.json()["data"] + rest.json()["data"]]
    assert ids == [to_global_id("AnnotationQueueRule", rule.pk) for rule in reversed(rules)]
    assert_documented(document, RULES, "get", first)


def test_a_rule_is_disabled_and_changed_with_patch_and_deleted_keeping_its_items(api, document):
    rule = QueueRuleFactory(filter={})
    SpanFactory(trace__project=rule.queue.project)

    disabled = api.patch(rule_url(rule), {"enabled": False}, content_type="application/json")
    enabled = api.patch(rule_url(rule), {"enabled": True, "kind": "trace"}, content_type="application/json")
    deleted = api.delete(rule_url(rule))

    assert disabled.json()["data"]["backfill"] is None
    assert enabled.json()["data"]["backfill"] == {"added": 1, "already": 0}
    assert_documented(document, RULE, "patch", enabled)
    assert deleted.status_code == 204
    assert not QueueRule.objects.exists()
    assert QueueItem.objects.filter(queue=rule.queue, trace__isnull=False).count() == 1


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"filter": {"span_kind": "LLMM"}}, 400, "filter: span_kind: Invalid span_kind values: ['LLMM']"),
        ({"filter": {"colour": "red"}}, 400, "filter: colour: Not a span filter parameter."),
        ({"filter": {}, "sampling_percent": 0}, 422, "sampling_percent"),
        ({"filter": {}, "kind": "dataset"}, 422, "kind"),
        ({}, 422, "filter"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_field(api, body, status, words):
    queue = AnnotationQueueFactory()

    response = api.post(queue_url(queue, "/rules"), body)

    assert response.status_code == status
    assert words in response.content.decode()
    assert not QueueRule.objects.exists()


def test_an_unknown_rule_is_a_404(api):
    response = api.get("/v1/annotation_queue_rules/QW5ub3RhdGlvblF1ZXVlUnVsZTo5OTk=")

    assert (response.status_code, response.content.decode()) == (
        404,
        "Annotation queue rule with ID QW5ub3RhdGlvblF1ZXVlUnVsZTo5OTk= not found",
    )


def test_only_the_queues_creator_or_an_admin_saves_changes_or_deletes_its_rules(settings):
    settings.V1_AUTH_REQUIRED = True
    creator, other, admin = UserFactory(), UserFactory(), UserFactory(role="ADMIN")
    rule = QueueRuleFactory(queue__user=creator)

    refused = [
        client_of(other).post(queue_url(rule.queue, "/rules"), {"filter": {}}),
        client_of(other).patch(rule_url(rule), {"enabled": False}, content_type="application/json"),
        client_of(other).delete(rule_url(rule)),
    ]
    allowed = [
        client_of(creator).post(queue_url(rule.queue, "/rules"), {"filter": {}}),
        client_of(admin).patch(rule_url(rule), {"enabled": False}, content_type="application/json"),
        client_of(other).get(rule_url(rule)),
    ]

    assert [(r.status_code, r.content.decode()) for r in refused] == [(403, QUEUE_CHANGE_DENIED)] * 3
    assert [r.status_code for r in allowed] == [200, 200, 200]
