"""The history in the admin: shown, never added, changed nor deleted there; and the admin's own annotation
edits and deletes go into it."""

import pytest
from django.test import Client
from django.urls import reverse

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import AnnotationEvent, SpanAnnotation
from tests.annotations.factories import AnnotationEventFactory
from tests.factories import SpanAnnotationFactory

pytestmark = pytest.mark.django_db


def url(view: str, *args: object, model: str = "annotationevent") -> str:
    return reverse(f"admin:annotations_{model}_{view}", args=args)


def test_an_admin_sees_the_history_and_can_neither_add_change_nor_delete_an_event(
    admin_client_logged_in: Client,
):
    event = AnnotationEventFactory(name="correctness")

    assert "correctness" in admin_client_logged_in.get(url("changelist")).content.decode()
    assert admin_client_logged_in.get(url("add")).status_code == 403
    assert admin_client_logged_in.post(url("change", event.pk), {"name": "other"}).status_code == 403
    assert admin_client_logged_in.post(url("delete", event.pk), {"post": "yes"}).status_code == 403
    bulk = {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
    admin_client_logged_in.post(url("changelist"), bulk)

    assert AnnotationEvent.objects.get().name == "correctness"


def test_an_annotation_changed_then_deleted_in_the_admin_appends_admin_events(admin_client_logged_in: Client):
    annotation = SpanAnnotationFactory(label="correct", score=1.0)
    form = {
        "span": annotation.span.pk,
        "name": "correctness",
        "label": "incorrect",
        "score": "0",
        "explanation": "",
        "metadata": "{}",
        "annotator_kind": "HUMAN",
        "identifier": "",
        "source": "API",
        "user": "",
    }

    changed = admin_client_logged_in.post(url("change", annotation.pk, model="spanannotation"), form)
    deleted = admin_client_logged_in.post(
        url("delete", annotation.pk, model="spanannotation"), {"post": "yes"}
    )

    assert (changed.status_code, deleted.status_code) == (302, 302)
    assert not SpanAnnotation.objects.exists()
    events = AnnotationEvent.objects.order_by("id")
    admin = User.objects.get(is_superuser=True)
    assert [(e.action, e.via, e.user) for e in events] == [
        ("update", "admin", admin),
        ("delete", "admin", admin),
    ]
    assert (events[0].before["label"], events[0].after["label"], events[1].before["label"]) == (
        "correct",
        "incorrect",
        "incorrect",
    )


def test_annotations_deleted_from_the_admin_list_append_an_event_each(admin_client_logged_in: Client):
    annotations = SpanAnnotationFactory.create_batch(3)
    bulk = {"action": "delete_selected", "_selected_action": [a.pk for a in annotations], "post": "yes"}

    admin_client_logged_in.post(url("changelist", model="spanannotation"), bulk)

    assert not SpanAnnotation.objects.exists()
    assert sorted(AnnotationEvent.objects.values_list("annotation_pk", "action", "via")) == [
        (a.pk, "delete", "admin") for a in annotations
    ]
