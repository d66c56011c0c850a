"""The ownership rule in the services (annotations/ownership.py): every write path, pending ones included."""

import pytest

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import (
    PendingAnnotation,
    SpanAnnotation,
    TraceAnnotation,
    reviewer_identifier,
)
from phoenix_annot.annotations.ownership import NotYours
from phoenix_annot.annotations.services import (
    AnnotationWrite,
    annotation_delete,
    annotations_delete,
    span_annotation_note_add,
    span_annotation_upsert,
    span_annotations_upsert,
    trace_annotations_upsert,
)
from phoenix_annot.ingest.otlp import decode_request
from phoenix_annot.ingest.services import spans_ingest
from tests.factories import SpanAnnotationFactory, SpanFactory, TraceAnnotationFactory, UserFactory
from tests.ingest.builders import export_request, otlp_span

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice() -> User:
    return UserFactory(username="alice")


@pytest.fixture
def bob() -> User:
    return UserFactory(username="bob")


def write(
    target_id: str, *, kind: str = "HUMAN", identifier: str = "", label: str = "rude"
) -> AnnotationWrite:
    return AnnotationWrite(
        target_id=target_id, name="tone", annotator_kind=kind, label=label, identifier=identifier
    )


def labels() -> dict[str, str | None]:
    return dict(SpanAnnotation.objects.values_list("identifier", "label"))


@pytest.mark.parametrize(
    ("held", "sent", "allowed"),
    [
        ("LLM", "LLM", True),
        ("CODE", "LLM", True),
        ("LLM", "CODE", True),
        ("LLM", "HUMAN", False),
        ("HUMAN", "LLM", False),
        ("HUMAN", "HUMAN", False),
    ],
)
def test_another_writer_replaces_an_llm_or_code_annotation_only_with_another(alice, bob, held, sent, allowed):
    span = SpanFactory()
    SpanAnnotationFactory(span=span, name="tone", identifier="eval", annotator_kind=held, user=alice)

    def rerun() -> None:
        span_annotations_upsert(
            writes=[write(span.span_id, kind=sent, identifier="eval")], source="API", user=bob
        )

    if allowed:
        rerun()
        assert SpanAnnotation.objects.values_list("annotator_kind", "user").get() == (sent, bob.pk)
    else:
        with pytest.raises(NotYours, match="belongs to user 'alice'"):
            rerun()
        assert SpanAnnotation.objects.values_list("annotator_kind", "user").get() == (held, alice.pk)


def test_a_refused_write_fails_its_whole_batch_naming_each_refusal(alice, bob):
    spans = SpanFactory.create_batch(7)
    for span in spans[1:]:
        SpanAnnotationFactory(span=span, name="tone", identifier="", user=alice)
    writes = [write(span.span_id) for span in spans]

    with pytest.raises(NotYours) as refused:
        span_annotations_upsert(writes=writes, source="API", user=bob)

    message = str(refused.value)
    assert message.startswith(f"data[1] (span {spans[1].span_id}, name 'tone', identifier '') belongs to")
    assert "data[5]" in message and "data[6]" not in message and "and 1 more" in message
    assert not SpanAnnotation.objects.filter(user=bob).exists()


def test_a_px_app_identifier_is_reserved_to_the_user_it_names_even_on_a_new_row(alice, bob):
    span = SpanFactory()

    with pytest.raises(NotYours, match="reserved to the user it names, user 'alice'"):
        span_annotation_upsert(
            span=span,
            name="tone",
            annotator_kind="LLM",
            source="API",
            label="rude",
            identifier=reviewer_identifier(alice.pk),
            user=bob,
        )
    with pytest.raises(NotYours, match="reserved to the user it names, no user"):
        span_annotations_upsert(writes=[write(span.span_id, identifier="px-app:x")], source="API", user=bob)

    assert not SpanAnnotation.objects.exists()


def test_admins_and_writes_without_a_user_change_any_annotation(alice):
    span = SpanFactory()
    SpanAnnotationFactory(span=span, name="tone", identifier=reviewer_identifier(alice.pk), user=alice)
    admin = UserFactory(role=User.Role.ADMIN)
    theirs = write(span.span_id, identifier=reviewer_identifier(alice.pk))

    span_annotations_upsert(writes=[theirs], source="API", user=admin)
    span_annotations_upsert(writes=[write(span.span_id, identifier="", label="ok")], source="API", user=None)

    assert labels() == {reviewer_identifier(alice.pk): "rude", "": "ok"}


def test_a_superuser_is_an_admin_whatever_their_role(alice):
    span = SpanFactory()
    SpanAnnotationFactory(span=span, name="tone", identifier="", user=alice)
    root = UserFactory(role=User.Role.ANNOTATOR, is_superuser=True)

    span_annotations_upsert(writes=[write(span.span_id)], source="API", user=root)

    assert labels() == {"": "rude"}


def test_a_row_written_without_a_user_is_changed_only_by_admins(bob):
    span = SpanFactory()
    SpanAnnotationFactory(span=span, name="tone", identifier="", user=None)

    with pytest.raises(NotYours, match="belongs to no user"):
        span_annotations_upsert(writes=[write(span.span_id)], source="API", user=bob)


def test_a_note_is_replaced_only_by_its_writer(alice, bob):
    span = SpanFactory()
    note = span_annotation_note_add(span_id=span.span_id, text="hers", user=alice)

    with pytest.raises(NotYours, match="belongs to user 'alice'"):
        span_annotation_note_add(span_id=span.span_id, text="his", identifier=note.identifier, user=bob)
    span_annotation_note_add(span_id=span.span_id, text="still hers", identifier=note.identifier, user=alice)

    assert SpanAnnotation.objects.get().explanation == "still hers"


def test_a_pending_annotation_is_replaced_only_by_its_writer(alice, bob):
    span_id = f"{41:016x}"
    span_annotations_upsert(
        writes=[write(span_id, label="hers")], source="API", user=alice, keep_missing=True
    )

    with pytest.raises(NotYours, match="belongs to user 'alice'"):
        span_annotations_upsert(writes=[write(span_id)], source="API", user=bob, keep_missing=True)
    with pytest.raises(NotYours, match="reserved"):
        trace_annotations_upsert(
            writes=[write(f"{41:032x}", identifier=reviewer_identifier(alice.pk))],
            source="API",
            user=bob,
            keep_missing=True,
        )

    assert PendingAnnotation.objects.values_list("label", "user").get() == ("hers", alice.pk)


def test_a_pending_annotation_that_would_replace_another_users_row_is_dropped_when_its_span_arrives(
    alice, bob
):
    # Stored before the owner check existed, or over a row that appeared meanwhile: checked again on ingest.
    for label, identifier in (("his", reviewer_identifier(alice.pk)), ("his own", "bob")):
        PendingAnnotation.objects.create(
            target="span",
            target_id=f"{42:016x}",
            name="tone",
            label=label,
            annotator_kind="HUMAN",
            identifier=identifier,
            user=bob,
            expires_at="2999-01-01T00:00:00Z",
        )

    spans_ingest(records=decode_request(export_request(otlp_span(span_id=42))))

    assert labels() == {"bob": "his own"}
    assert not PendingAnnotation.objects.exists()


def test_one_annotation_is_deleted_only_by_its_owner_or_an_admin(alice, bob):
    mine = SpanAnnotationFactory(user=alice, identifier="")
    # bob wrote it under alice's reviewer identifier (the attack, before the fix): it is alice's.
    taken = TraceAnnotationFactory(user=bob, identifier=reviewer_identifier(alice.pk))

    for annotation in (mine, taken):
        with pytest.raises(NotYours, match=r"belongs to user 'alice'.*nothing was deleted"):
            annotation_delete(annotation=annotation, user=bob)
    annotation_delete(annotation=taken, user=alice)
    annotation_delete(annotation=mine, user=UserFactory(role=User.Role.ADMIN))

    assert not SpanAnnotation.objects.exists() and not TraceAnnotation.objects.exists()


def test_a_bulk_delete_by_an_annotator_spares_rows_under_another_users_identifier(alice, bob):
    span = SpanFactory()
    SpanAnnotationFactory(span=span, name="tone", user=bob, identifier=reviewer_identifier(alice.pk))
    SpanAnnotationFactory(span=span, name="tone", user=bob, identifier="his")
    SpanAnnotationFactory(span=span, name="tone", user=None, identifier=reviewer_identifier(bob.pk))

    deleted = annotations_delete(annotations=SpanAnnotation.objects.all(), user=bob)

    assert deleted == 2
    assert list(SpanAnnotation.objects.values_list("identifier", flat=True)) == [
        reviewer_identifier(alice.pk)
    ]
