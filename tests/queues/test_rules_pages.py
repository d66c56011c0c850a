"""Rules on the pages: "Add a rule from this filter" in the selection bar, the queue page's list of rules,
and Add to queue on the trace and session pages."""

import pytest
from django.test import Client
from django.urls import reverse

from phoenix_annot.queues.models import QueueItem, QueueRule
from tests.accounts.factories import ProjectMembershipFactory
from tests.factories import ProjectFactory, SpanFactory, UserFactory, conversation
from tests.queues.factories import AnnotationQueueFactory, QueueRuleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return UserFactory(username="owner")


@pytest.fixture
def owner_client(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


def add_rule(client: Client, queue, tab: str = "spans", **fields):
    return client.post(
        reverse("web:queue-rule-add", args=[tab]),
        {"project": queue.project.pk, "queue": queue.pk, **fields},
        HTTP_REFERER="/back/",
        follow=True,
    )


def test_a_rule_from_the_spans_tab_saves_its_filter_and_adds_the_matching_spans(owner, owner_client):
    queue = AnnotationQueueFactory(user=owner)
    llm = SpanFactory(trace__project=queue.project, span_kind="LLM", name="answer")
    SpanFactory(trace__project=queue.project, span_kind="LLM", name="other")

    response = add_rule(
        owner_client,
        queue,
        filter_query="span_kind=LLM&name_contains=answ&size=50&sort=latency&status_code=",
        sampling_percent="",
    )

    rule = QueueRule.objects.get()
    assert (rule.kind, rule.filter, rule.sampling_percent, rule.user) == (
        "span",
        {"span_kind": "LLM", "name_contains": "answ"},
        None,
        owner,
    )
    assert list(QueueItem.objects.values_list("span", flat=True)) == [llm.pk]
    assert response.redirect_chain[-1][0] == reverse("web:queue", args=[queue.pk])
    assert [str(m) for m in response.context["messages"]] == [
        f"Rule saved. {queue.name}: 1 item added, 0 already in the queue."
    ]
    page = response.content.decode()
    assert "<code>span_kind = LLM</code> · <code>name_contains = answ</code>" in page


def test_a_rule_from_the_traces_tab_adds_traces_by_their_root_spans_with_its_sample(owner, owner_client):
    queue = AnnotationQueueFactory(user=owner)
    root = SpanFactory(trace__project=queue.project, span_kind="CHAIN")
    SpanFactory(trace=root.trace, parent_id=root.span_id, span_kind="LLM")

    add_rule(owner_client, queue, tab="traces", filter_query="span_kind=CHAIN", sampling_percent="100")

    rule = QueueRule.objects.get()
    assert (rule.kind, rule.filter, rule.sampling_percent) == (
        "trace",
        {"span_kind": "CHAIN", "root": "true"},
        100,
    )
    assert list(QueueItem.objects.values_list("trace", flat=True)) == [root.trace_id]


def test_a_bad_filter_is_refused_with_a_message_naming_it_and_nothing_is_saved(owner, owner_client):
    queue = AnnotationQueueFactory(user=owner)

    response = add_rule(owner_client, queue, filter_query="condition=latncy_ms+>+3")

    [message] = [str(m) for m in response.context["messages"]]
    assert message.startswith("The rule was not saved: condition: ")
    assert "latncy_ms" in message
    assert not QueueRule.objects.exists()


def test_a_bad_sample_is_refused_naming_it(owner, owner_client):
    queue = AnnotationQueueFactory(user=owner)

    response = add_rule(owner_client, queue, filter_query="", sampling_percent="0")

    assert [str(m) for m in response.context["messages"]] == [
        "Sample: Ensure this value is greater than or equal to 1."
    ]
    assert not QueueRule.objects.exists()


def test_only_the_queues_creator_or_an_admin_adds_changes_or_deletes_its_rules(reviewer_client):
    queue = AnnotationQueueFactory(user=UserFactory())
    rule = QueueRuleFactory(queue=queue)

    responses = [
        reviewer_client.post(
            reverse("web:queue-rule-add", args=["spans"]), {"project": queue.project.pk, "queue": queue.pk}
        ),
        reviewer_client.post(reverse("web:queue-rule-change", args=[queue.pk, rule.pk]), {}),
        reviewer_client.post(reverse("web:queue-rule-delete", args=[queue.pk, rule.pk])),
    ]

    assert [response.status_code for response in responses] == [403, 403, 403]
    assert QueueRule.objects.get() == rule and rule.enabled


def test_the_queue_page_disables_resamples_and_deletes_a_rule(owner, owner_client):
    queue = AnnotationQueueFactory(user=owner)
    rule = QueueRuleFactory(queue=queue)
    change = reverse("web:queue-rule-change", args=[queue.pk, rule.pk])

    disabled = owner_client.post(change, {"sampling_percent": "20"}, follow=True)
    rule.refresh_from_db()
    assert (rule.enabled, rule.sampling_percent) == (False, 20)
    assert "Rule disabled" in str(next(iter(disabled.context["messages"])))
    assert '<span class="muted">disabled</span>' in disabled.content.decode()

    owner_client.post(reverse("web:queue-rule-delete", args=[queue.pk, rule.pk]))
    assert not QueueRule.objects.exists()


def test_viewers_see_the_rules_but_no_control_to_change_them(owner):
    queue = AnnotationQueueFactory(user=owner)
    QueueRuleFactory(queue=queue)
    viewer = Client()
    viewer.force_login(UserFactory(role="VIEWER"))

    page = viewer.get(reverse("web:queue", args=[queue.pk])).content.decode()

    assert "<code>span_kind = LLM</code>" in page
    assert "queue-rule-change" not in page and "/rules/" not in page


def test_the_selection_bar_offers_a_rule_on_the_spans_and_traces_tabs_only(reviewer_client):
    project = ProjectFactory()
    SpanFactory(trace__project=project)
    conversation(project, [("Hi", "Hello")])

    pages = {
        name: reviewer_client.get(reverse(f"web:{name}", args=[project.pk])).content.decode()
        for name in ("spans", "traces", "sessions")
    }

    assert 'id="add-rule"' in pages["spans"] and 'id="add-rule"' in pages["traces"]
    assert 'id="add-rule"' not in pages["sessions"]


def test_the_trace_page_adds_the_selected_span_or_the_trace_to_a_queue(reviewer_client):
    queue = AnnotationQueueFactory()
    root = SpanFactory(trace__project=queue.project, span_kind="CHAIN")
    child = SpanFactory(trace=root.trace, parent_id=root.span_id)
    trace_page = f"{reverse('web:trace', args=[root.trace.trace_id])}?span={child.span_id}"

    page = reviewer_client.get(trace_page).content.decode()
    assert f'id="add-span-to-queue" name="span" value="{child.span_id}"' in page
    assert f'id="add-trace-to-queue" name="span" value="{root.span_id}"' in page
    for tab, span in (("spans", child), ("traces", root)):
        reviewer_client.post(
            reverse("web:queue-add-rows", args=[tab]),
            {"project": queue.project.pk, "queue": queue.pk, "span": span.span_id},
            HTTP_REFERER=trace_page,
        )

    assert set(QueueItem.objects.values_list("span", "trace")) == {(child.pk, None), (None, root.trace_id)}


def test_the_trace_page_adds_its_trace_to_a_queue_while_the_root_span_has_not_arrived(reviewer_client):
    queue = AnnotationQueueFactory()
    orphan = SpanFactory(trace__project=queue.project, parent_id="00000000000000aa")
    trace_page = reverse("web:trace", args=[orphan.trace.trace_id])

    page = reviewer_client.get(trace_page).content.decode()
    assert f'id="add-trace-to-queue" name="span" value="{orphan.span_id}"' in page
    reviewer_client.post(
        reverse("web:queue-add-rows", args=["traces"]),
        {"project": queue.project.pk, "queue": queue.pk, "span": orphan.span_id},
        HTTP_REFERER=trace_page,
    )

    assert list(QueueItem.objects.values_list("trace", flat=True)) == [orphan.trace_id]


def test_the_session_page_adds_its_session_to_a_queue(reviewer_client):
    queue = AnnotationQueueFactory()
    session = conversation(queue.project, [("Hi", "Hello")])

    page = reviewer_client.get(reverse("web:session", args=[session.pk])).content.decode()
    assert f'name="session" value="{session.session_id}"' in page
    assert 'id="add-session-to-queue"' in page
    reviewer_client.post(
        reverse("web:queue-add-rows", args=["sessions"]),
        {"project": queue.project.pk, "queue": queue.pk, "session": session.session_id},
    )

    assert list(QueueItem.objects.values_list("session", flat=True)) == [session.pk]


def test_viewers_get_no_add_to_queue_control_on_the_trace_page():
    span = SpanFactory()
    viewer = Client()
    viewer.force_login(UserFactory(role="VIEWER"))

    page = viewer.get(reverse("web:trace", args=[span.trace.trace_id])).content.decode()

    assert 'id="add-target"' not in page


def test_a_rule_on_a_project_the_user_may_not_see_is_refused(owner, owner_client):
    queue = AnnotationQueueFactory(user=owner)
    ProjectMembershipFactory(user=owner, project=ProjectFactory())

    response = add_rule(owner_client, queue, filter_query="")

    assert [str(m) for m in response.context["messages"]] == [
        "Project: Select a valid choice. That choice is not one of the available choices."
    ]
    assert not QueueRule.objects.exists()
