"""factory_boy factories for the queue models (beside tests/factories.py, which the other apps share)."""

from datetime import timedelta

import factory
from django.utils import timezone

from phoenix_annot.queues.models import AnnotationQueue, QueueItem, QueueReservation, QueueReview, QueueRule
from tests.factories import ProjectFactory, SpanFactory, UserFactory


class AnnotationQueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AnnotationQueue

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"queue-{n}")
    instructions = "Is the answer correct?"


class QueueItemFactory(factory.django.DjangoModelFactory):
    """A span item; a span of the queue's project unless given."""

    class Meta:
        model = QueueItem

    queue = factory.SubFactory(AnnotationQueueFactory)
    span = factory.SubFactory(SpanFactory, trace__project=factory.SelfAttribute("...queue.project"))


class QueueReservationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QueueReservation

    item = factory.SubFactory(QueueItemFactory)
    queue = factory.SelfAttribute("item.queue")
    reviewer = factory.SubFactory(UserFactory)
    reserved_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda r: r.reserved_at + timedelta(minutes=15))


class QueueReviewFactory(factory.django.DjangoModelFactory):
    """A review row alone: it does not count itself into its item's review_count as a submit does."""

    class Meta:
        model = QueueReview

    item = factory.SubFactory(QueueItemFactory)
    queue = factory.SelfAttribute("item.queue")
    reviewer = factory.SubFactory(UserFactory)
    outcome = "SUBMITTED"


class QueueRuleFactory(factory.django.DjangoModelFactory):
    """An enabled rule matching the LLM spans of its queue's project, saved without its backfill."""

    class Meta:
        model = QueueRule

    queue = factory.SubFactory(AnnotationQueueFactory)
    filter = factory.LazyFunction(lambda: {"span_kind": ["LLM"]})
