"""factory_boy factories for every model; tests build their data from these."""

from datetime import UTC, datetime, timedelta

import factory

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import (
    AnnotationConfig,
    DocumentAnnotation,
    SessionAnnotation,
    SpanAnnotation,
    TraceAnnotation,
)
from phoenix_annot.datasets.models import (
    Dataset,
    DatasetExample,
    DatasetSplit,
    DatasetSplitExample,
    DatasetVersion,
    ExampleRevision,
)
from phoenix_annot.tracing.models import Project, Session, Span, Trace

BASE_TIME = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw-for-tests")
    role = User.Role.ANNOTATOR


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"project-{n}")


class SessionFactory(factory.django.DjangoModelFactory):
    """A session as ingestion leaves it; give its traces `session=` and it holds them."""

    class Meta:
        model = Session

    project = factory.SubFactory(ProjectFactory)
    session_id = factory.Sequence(lambda n: f"session-{n}")
    start_time = factory.Sequence(lambda n: BASE_TIME + timedelta(minutes=n))
    end_time = factory.LazyAttribute(lambda s: s.start_time + timedelta(seconds=30))
    trace_count = 1


class TraceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Trace

    project = factory.SubFactory(ProjectFactory)
    trace_id = factory.Sequence(lambda n: f"{n + 1:032x}")
    start_time = factory.Sequence(lambda n: BASE_TIME + timedelta(seconds=n))
    end_time = factory.LazyAttribute(lambda t: t.start_time + timedelta(seconds=1))


class SpanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Span

    trace = factory.SubFactory(TraceFactory)
    project = factory.LazyAttribute(lambda s: s.trace.project)
    span_id = factory.Sequence(lambda n: f"{n + 1:016x}")
    parent_id = None
    name = "ChatCompletion"
    span_kind = "LLM"
    start_time = factory.LazyAttribute(lambda s: s.trace.start_time)
    end_time = factory.LazyAttribute(lambda s: s.start_time + timedelta(milliseconds=250))
    latency_ms = 250.0
    status_code = "OK"
    input_value = "What is the capital of France?"
    output_value = "Paris."
    attributes = factory.LazyAttribute(
        lambda s: {
            "openinference": {"span": {"kind": s.span_kind}},
            "input": {"value": s.input_value},
            "output": {"value": s.output_value},
        }
    )


class AnnotationConfigFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AnnotationConfig
        django_get_or_create = ("name",)

    name = "correctness"
    type = "CATEGORICAL"
    optimization_direction = "MAXIMIZE"
    values = factory.LazyFunction(
        lambda: [{"label": "correct", "score": 1.0}, {"label": "incorrect", "score": 0.0}]
    )


class SpanAnnotationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SpanAnnotation

    span = factory.SubFactory(SpanFactory)
    name = "correctness"
    label = "correct"
    score = 1.0
    annotator_kind = "HUMAN"
    source = "API"


class TraceAnnotationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TraceAnnotation

    trace = factory.SubFactory(TraceFactory)
    name = "user_feedback"
    label = "positive"
    score = 1.0
    annotator_kind = "HUMAN"
    source = "API"


class SessionAnnotationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SessionAnnotation

    session = factory.SubFactory(SessionFactory)
    name = "resolved"
    label = "yes"
    score = 1.0
    annotator_kind = "HUMAN"
    source = "API"


class DocumentAnnotationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DocumentAnnotation

    span = factory.SubFactory(SpanFactory, span_kind="RETRIEVER")
    document_position = 0
    name = "relevance"
    label = "relevant"
    score = 1.0
    annotator_kind = "HUMAN"
    source = "API"


def retriever_span(project: Project, count: int, *, name: str = "retrieve") -> Span:
    """A RETRIEVER span of `count` documents (ids doc-0, doc-1, ...) under a CHAIN root of its own trace."""
    trace = TraceFactory(project=project)
    root = SpanFactory(trace=trace, span_kind="CHAIN", name="answer")
    documents = [
        {"document": {"id": f"doc-{n}", "content": f"Passage {n} about pasta."}} for n in range(count)
    ]
    return SpanFactory(
        trace=trace,
        parent_id=root.span_id,
        span_kind="RETRIEVER",
        name=name,
        attributes={"retrieval": {"documents": documents}},
    )


class DatasetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dataset

    name = factory.Sequence(lambda n: f"dataset-{n}")


class DatasetVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DatasetVersion

    dataset = factory.SubFactory(DatasetFactory)


class DatasetExampleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DatasetExample

    dataset = factory.SubFactory(DatasetFactory)


class ExampleRevisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExampleRevision

    example = factory.SubFactory(DatasetExampleFactory)
    version = factory.SubFactory(DatasetVersionFactory, dataset=factory.SelfAttribute("..example.dataset"))
    input = factory.LazyFunction(lambda: {"input": "question"})
    output = factory.LazyFunction(lambda: {"output": "answer"})
    revision_kind = "CREATE"


def conversation(project: Project, turns: list[tuple[str, str]], *, minute: int = 0) -> Session:
    """A session of these (question, answer) turns, `minute` minutes after BASE_TIME: one trace a turn,
    a CHAIN root span holding the question and answer, and a child LLM span saying "inner"."""
    start = BASE_TIME + timedelta(minutes=minute)
    session = SessionFactory(
        project=project,
        start_time=start,
        end_time=start + timedelta(seconds=len(turns)),
        trace_count=len(turns),
    )
    for n, (question, answer) in enumerate(turns):
        at = start + timedelta(seconds=n)
        trace = TraceFactory(
            project=project,
            session=session,
            start_time=at,
            end_time=at + timedelta(seconds=1),
            root_span_name="support_answer",
        )
        root = SpanFactory(
            trace=trace, name="support_answer", span_kind="CHAIN", input_value=question, output_value=answer
        )
        SpanFactory(trace=trace, parent_id=root.span_id, input_value="inner", output_value="inner")
    return session


class DatasetSplitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DatasetSplit
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"split-{n}")


class DatasetSplitExampleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DatasetSplitExample

    split = factory.SubFactory(DatasetSplitFactory)
    example = factory.SubFactory(DatasetExampleFactory)


def reviewer_annotation(factory_class: type[factory.django.DjangoModelFactory], *, user: User, **fields):
    """An annotation as the Annotate panel writes it for `user`: their px-app: identifier, HUMAN, APP."""
    from phoenix_annot.annotations.models import reviewer_identifier

    return factory_class(identifier=reviewer_identifier(user.pk), user=user, source="APP", **fields)
