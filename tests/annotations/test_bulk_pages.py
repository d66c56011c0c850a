"""The tables' "Label…": the dialog, the confirmation's counts, the write with its Undo notice, the undo, and
the History disclosure's entry (the rules are tested in test_bulk.py)."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import (
    SessionAnnotation,
    SpanAnnotation,
    TraceAnnotation,
    reviewer_identifier,
)
from tests.factories import (
    AnnotationConfigFactory,
    ProjectFactory,
    SessionFactory,
    SpanAnnotationFactory,
    SpanFactory,
    TraceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def project():
    project = ProjectFactory(name="bulk")
    AnnotationConfigFactory().projects.add(project)
    AnnotationConfigFactory(name="quality", type="CONTINUOUS", lower_bound=0, upper_bound=1).projects.add(
        project
    )
    return project


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text_of(response) -> str:
    """The page's words, without tags, on one line."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split()).replace(" .", ".")


def selection(project, spans, **fields) -> dict:
    return {
        "project": project.pk,
        "tab": "spans",
        "span": [span.span_id for span in spans],
        "bulk_name": "correctness",
        "bulk_label": "incorrect",
        **fields,
    }


def test_the_dialog_lists_the_projects_configs_and_the_value_of_each(project):
    client = client_of(UserFactory())

    dialog = client.get(reverse("web:bulk-label-form", args=[project.pk]), **HTMX).content.decode()
    score = client.get(
        reverse("web:bulk-label-value", args=[project.pk]), {"bulk_name": "quality"}, **HTMX
    ).content.decode()

    assert '<option value="correctness">' in dialog
    assert '<option value="incorrect">incorrect</option>' in dialog
    assert 'name="bulk_score"' in score
    assert 'max="1.0"' in score


def test_the_confirmation_counts_new_replaced_unchanged_and_skipped_rows_and_names_whose(project):
    alice, carol = UserFactory(username="alice"), UserFactory(username="carol")
    spans = [SpanFactory(trace=TraceFactory(project=project)) for _ in range(4)]
    SpanAnnotationFactory(span=spans[0], label="correct", user=alice)
    SpanAnnotationFactory(span=spans[1], label="correct", user=carol)
    SpanAnnotationFactory(span=spans[2], label="incorrect", score=0.0, user=carol)

    response = client_of(alice).post(
        reverse("web:bulk-label-preview"), selection(project, spans, bulk_as="shared"), **HTMX
    )

    text = text_of(response)
    assert "4 spans selected; 3 already have a value of correctness." in text
    assert "1 new" in text
    assert "1 replaced: values of alice (1)" in text
    assert "2 skipped: they hold the value of carol (2), which only an admin may replace" in text
    assert "Label 2 spans" in text
    assert not SpanAnnotation.objects.filter(label="incorrect", user=alice).exists()


def test_a_refused_label_is_said_in_the_confirmation_naming_the_field(project):
    spans = [SpanFactory(trace__project=project)]

    response = client_of(UserFactory()).post(
        reverse("web:bulk-label-preview"), selection(project, spans, bulk_label="maybe"), **HTMX
    )

    assert "label: &#x27;maybe&#x27; is not a label of &#x27;correctness&#x27;" in response.content.decode()


def test_labelling_writes_the_reviewers_own_label_and_the_notice_offers_undo_which_puts_them_back(project):
    reviewer = UserFactory(username="reviewer")
    spans = [SpanFactory(trace=TraceFactory(project=project), span_kind="LLM") for _ in range(3)]
    SpanFactory(trace=TraceFactory(project=project), span_kind="CHAIN")
    client = client_of(reviewer)
    page = reverse("web:spans", args=[project.pk])

    response = client.post(
        reverse("web:bulk-label"),
        {
            **selection(project, [], bulk_explanation="wrong city"),
            "all_matching": "1",
            "filter_query": "span_kind=LLM",
        },
        HTTP_REFERER=page,
        follow=True,
    )

    assert set(SpanAnnotation.objects.values_list("span_id", "identifier", "label", "explanation")) == {
        (span.pk, reviewer_identifier(reviewer.pk), "incorrect", "wrong city") for span in spans
    }
    notice = response.content.decode()
    assert "correctness = incorrect on 3 spans (3 new, 0 replaced)." in notice
    assert 'id="bulk-undo"' in notice
    (undo_url,) = re.findall(r'action="(/label/\d+/undo/)"', notice)

    undone = client.post(undo_url, HTTP_REFERER=page, follow=True)

    assert not SpanAnnotation.objects.exists()
    assert (
        "Undone: correctness on 3 spans is back as it was (3 removed, 0 restored)." in undone.content.decode()
    )
    again = client.post(undo_url, HTTP_REFERER=page, follow=True)
    assert "undone already" in again.content.decode()


def test_sessions_are_labelled_from_the_sessions_tab(project):
    session = SessionFactory(project=project)

    client_of(UserFactory()).post(
        reverse("web:bulk-label"),
        {"project": project.pk, "session": [session.session_id], "bulk_name": "quality", "bulk_score": "0.5"},
    )

    assert list(SessionAnnotation.objects.values_list("session_id", "score")) == [(session.pk, 0.5)]


def test_viewers_may_not_label(project):
    span = SpanFactory(trace__project=project)

    response = client_of(UserFactory(role=User.Role.VIEWER)).post(
        reverse("web:bulk-label"), selection(project, [span])
    )

    assert response.status_code == 403
    assert not SpanAnnotation.objects.exists()


def test_the_history_disclosure_shows_the_bulk_label_as_one_action_over_its_rows(project):
    reviewer = UserFactory(username="reviewer")
    spans = [SpanFactory(trace=TraceFactory(project=project)) for _ in range(2)]
    client = client_of(reviewer)
    client.post(reverse("web:bulk-label"), selection(project, spans))

    page = client.get(
        reverse("web:trace", args=[spans[0].trace.trace_id]), {"span": spans[0].span_id, "history": "1"}
    )

    text = text_of(page)
    assert "via bulk label · one action over 2 spans" in text


def test_the_traces_tab_labels_the_traces_of_the_ticked_rows(project):
    root = SpanFactory(trace=TraceFactory(project=project))
    SpanFactory(trace=root.trace, parent_id=root.span_id)

    client_of(UserFactory()).post(reverse("web:bulk-label"), selection(project, [root], tab="traces"))

    assert list(TraceAnnotation.objects.values_list("trace_id", "label")) == [(root.trace_id, "incorrect")]
    assert not SpanAnnotation.objects.exists()
