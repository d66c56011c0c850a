"""Writers racing on the same rows end with one row each and no error (PostgreSQL; SQLite runs writers
one at a time, and its shared in-memory test database cannot host concurrent writers at all)."""

import threading
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client

from phoenix_annot.annotations.models import AnnotationSource, SpanAnnotation, reviewer_identifier
from phoenix_annot.annotations.ownership import NotYours
from phoenix_annot.annotations.services import (
    AnnotationWrite,
    span_annotation_upsert,
    span_annotations_upsert,
)
from phoenix_annot.datasets.models import DatasetExample
from phoenix_annot.datasets.services import dataset_add_spans
from phoenix_annot.ingest.otlp import decode_request
from phoenix_annot.ingest.services import spans_ingest
from phoenix_annot.tracing.models import Span, Trace
from tests.factories import DatasetFactory, SpanFactory, UserFactory
from tests.ingest.builders import export_request, otlp_span

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs concurrent writers"),
]
THREADS = 8


def race(work: Callable[[int], object]) -> list[BaseException]:
    """Run work(i) in THREADS threads released at the same moment; the errors they raised."""
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            work(index)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_one_reviewer_saving_the_same_annotation_from_several_tabs_keeps_one_row():
    span, user = SpanFactory(), UserFactory()

    errors = race(
        lambda i: span_annotation_upsert(
            span=span,
            name="tone",
            label=f"v{i}",
            annotator_kind="HUMAN",
            source="APP",
            identifier=reviewer_identifier(user.pk),
            user=user,
        )
    )

    assert errors == []
    assert SpanAnnotation.objects.filter(span=span).count() == 1


def test_two_reviewers_pressing_save_on_the_same_span_and_name_at_once_each_keep_one_row():
    span = SpanFactory()
    reviewers = [UserFactory(), UserFactory()]
    clients = []
    for i in range(THREADS):
        client = Client()
        client.force_login(reviewers[i % 2])
        clients.append(client)
    statuses: list[int] = []

    errors = race(
        lambda i: statuses.append(
            clients[i]
            .post(
                f"/annotate/span/{span.span_id}/", {"name": "tone", "label": f"v{i}"}, HTTP_HX_REQUEST="true"
            )
            .status_code
        )
    )

    assert errors == []
    assert statuses == [200] * THREADS
    rows = SpanAnnotation.objects.filter(span=span, name="tone")
    assert sorted(rows.values_list("user", flat=True)) == sorted(user.pk for user in reviewers)


def test_api_clients_upserting_the_same_key_keep_one_row_with_one_id():
    span = SpanFactory()
    ids: list[list[int | None]] = []

    errors = race(
        lambda i: ids.append(
            span_annotations_upsert(
                writes=[
                    AnnotationWrite(target_id=span.span_id, name="correctness", annotator_kind="LLM", score=i)
                ],
                source=AnnotationSource.API,
                user=None,
            )
        )
    )

    assert errors == []
    assert SpanAnnotation.objects.count() == 1
    assert len({tuple(result) for result in ids}) == 1


def test_adding_the_same_spans_to_a_dataset_at_once_adds_each_span_once():
    dataset = DatasetFactory()
    spans = [SpanFactory() for _ in range(5)]

    errors = race(
        lambda i: dataset_add_spans(
            dataset=dataset, spans=Span.objects.filter(pk__in=[s.pk for s in spans]), user=None
        )
    )

    assert errors == []
    assert DatasetExample.objects.filter(dataset=dataset).count() == 5
    assert dataset.versions.count() == 1


def test_exporters_sending_spans_of_one_trace_at_once_end_with_a_complete_trace():
    requests = [
        export_request(otlp_span(trace_id=1, span_id=i + 1, parent_id=None if i == 0 else 1, name=f"s{i}"))
        for i in range(THREADS)
    ]

    errors = race(lambda i: spans_ingest(records=decode_request(requests[i])))

    assert errors == []
    trace = Trace.objects.get()
    assert (trace.span_count, trace.root_span_name) == (THREADS, "s0")


def test_retried_exports_racing_each_other_store_every_span_once():
    request = export_request(
        *[otlp_span(trace_id=t, span_id=t * 10 + s) for t in range(1, 6) for s in range(3)]
    )

    errors = race(lambda i: spans_ingest(records=decode_request(request)))

    assert errors == []
    assert Span.objects.count() == 15
    assert sorted(Trace.objects.values_list("span_count", flat=True)) == [3] * 5


def test_annotators_racing_to_write_the_same_new_key_leave_it_to_one_and_refuse_the_others():
    span = SpanFactory()
    annotators = [UserFactory() for _ in range(THREADS)]
    write = AnnotationWrite(target_id=span.span_id, name="tone", annotator_kind="HUMAN", label="mine")

    errors = race(
        lambda i: span_annotations_upsert(writes=[write], source=AnnotationSource.API, user=annotators[i])
    )

    assert [type(error) for error in errors] == [NotYours] * (THREADS - 1)
    assert SpanAnnotation.objects.filter(span=span).count() == 1
