"""factory_boy factories for the annotation history (beside tests/factories.py, which the other apps share).

Services append events as they write; this factory makes one directly, for pages and lists that only read
them."""

import factory

from phoenix_annot.annotations.models import AnnotationEvent, EventAction, EventVia, PendingTarget
from tests.factories import SpanFactory


class AnnotationEventFactory(factory.django.DjangoModelFactory):
    """A span annotation's creation by the API; pass `span=` to place it on that span."""

    class Meta:
        model = AnnotationEvent

    class Params:
        span = factory.SubFactory(SpanFactory)

    project_pk = factory.LazyAttribute(lambda e: e.span.project_id)
    target_kind = PendingTarget.SPAN
    target_pk = factory.LazyAttribute(lambda e: e.span.pk)
    target_key = factory.LazyAttribute(lambda e: e.span.span_id)
    annotation_pk = factory.Sequence(lambda n: n + 1)
    name = "correctness"
    action = EventAction.CREATE
    after = factory.LazyFunction(
        lambda: {
            "label": "correct",
            "score": 1.0,
            "explanation": None,
            "metadata": {},
            "annotator_kind": "HUMAN",
        }
    )
    via = EventVia.API
